import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isReadable, parseDataSources, unreadableReason } from '../../src/aws/dataSources.js';
import { runCli } from '../../src/cli/main.js';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { captureLogs } from '../helpers/logs.js';

/*
 * Data the stack may not read (outside its datasets/ and the buckets of --param dataBuckets) is
 * refused before any AWS call touches it, with the parameter to deploy with: by `bspml submit`
 * from the stack's DataSources output, and by the start function from BSPML_DATA_SOURCES.
 */

const SOURCES = 's3://bspml-dev-123456789012-us-east-1/datasets/,s3://my-lake/,s3://warehouse/exports/';

describe('where a stack may read data', () => {
  it('is its datasets/ and each data bucket or prefix, and nothing beside them', () => {
    const sources = parseDataSources(SOURCES);
    expect(sources).toHaveLength(3);
    expect(isReadable('s3://bspml-dev-123456789012-us-east-1/datasets/blobs.csv', sources)).toBe(true);
    expect(isReadable('s3://bspml-dev-123456789012-us-east-1/models/blobs/latest.json', sources)).toBe(false);
    expect(isReadable('s3://my-lake/any/where.parquet', sources)).toBe(true);
    expect(isReadable('s3://my-lake-2/data.csv', sources)).toBe(false);
    expect(isReadable('s3://warehouse/exports/2026/', sources)).toBe(true);
    expect(isReadable('s3://warehouse/private/x.csv', sources)).toBe(false);
    expect(unreadableReason('s3://warehouse/private/x.csv', sources)).toBe(
      `s3://warehouse/private/x.csv: this stack may read data only under ${sources.join(', ')}; deploy it with --param dataBuckets=warehouse (or warehouse/PREFIX/, comma-separated with any others) to let it read there (docs/deploy.md)`,
    );
  });
});

describe('bspml submit of data the stack cannot read', () => {
  const cloudformation = mockClient(CloudFormationClient);
  const lambda = mockClient(LambdaClient);
  afterEach(() => {
    cloudformation.reset();
    lambda.reset();
  });
  afterAll(() => {
    cloudformation.restore();
    lambda.restore();
  });

  it('is refused before the start function is invoked, naming --param dataBuckets', async () => {
    // Prepare
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'bspml-dev', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'StartFunction', OutputValue: 'bspml-dev-start' }, { OutputKey: 'DataSources', OutputValue: SOURCES }] }],
    });
    lambda.on(InvokeCommand).resolves({ Payload: Buffer.from(JSON.stringify([{ jobId: 'j', status: 'RUNNING' }])) as never });
    let stderr = '';
    const io = { stdout: { write: () => true }, stderr: { write: (s: string) => ((stderr += s), true) } };

    // Act
    const refused = await runCli(['submit', '--region', 'us-east-1', '--data', 's3://other-team/blobs.csv', '--algorithm', 'kmeans', '--k', '3'], io as never);
    const readable = await runCli(['submit', '--region', 'us-east-1', '--data', 's3://my-lake/blobs.csv', '--algorithm', 'kmeans', '--k', '3'], io as never);

    // Assess
    expect(refused).toBe(1);
    expect(stderr).toContain('bspml: error: --data s3://other-team/blobs.csv: this stack may read data only under');
    expect(stderr).toContain('deploy it with --param dataBuckets=other-team');
    expect(readable).toBe(0);
    // One invocation: the readable one.
    expect(lambda.commandCalls(InvokeCommand).map((c) => JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString()).spec.data.uri)).toEqual(['s3://my-lake/blobs.csv']);
  });
});

describe('the start function, given data it may not read', () => {
  let emulators: AwsEmulators;
  let p: Pipeline;
  const logs = captureLogs();

  beforeAll(async () => {
    emulators = await startAwsEmulators();
    p = pipeline(emulators, { BSPML_DATA_SOURCES: `s3://${emulators.bucket}/datasets/` });
  });

  afterAll(async () => {
    await p?.close();
    await emulators?.close();
  });

  it('records the job FAILED with the parameter that grants it, publishing nothing', async () => {
    // Act
    const [result] = await p.start({ jobId: 'elsewhere-1', spec: { algorithm: 'kmeans', k: 2, data: { uri: 's3://my-lake/blobs.csv' } } });

    // Assess
    const reason = `s3://my-lake/blobs.csv: this stack may read data only under s3://${emulators.bucket}/datasets/; deploy it with --param dataBuckets=my-lake (or my-lake/PREFIX/, comma-separated with any others) to let it read there (docs/deploy.md)`;
    expect(result).toEqual({ jobId: 'elsewhere-1', status: 'FAILED', error: reason });
    expect(await p.wiring.store.getJob('elsewhere-1')).toMatchObject({ status: 'FAILED', error: reason });
    expect(p.sns.calls).toEqual([]);
    expect(logs.events('job-failed')).toEqual([expect.objectContaining({ jobId: 'elsewhere-1', reason })]);
  });
});
