import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECT_COMPLETION_SOURCE } from '../../src/aws/LambdaCompletion.js';
import { formatCsv } from '../../src/data/formats/csv-write.js';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { nextS3Event, snsEvent } from '../helpers/aws-events.js';
import { pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { useTempDirs } from '../helpers/cli.js';
import { blobs } from '../helpers/data.js';
import { captureLogs } from '../helpers/logs.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { createRecoverHandler } from '../../handlers/recover.js';
import { loadConfig } from '../../src/aws/config.js';
import { createWiring } from '../../src/aws/wiring.js';
import { CapturingSns } from '../helpers/aws-emulators.js';
import { sqsEvent } from '../helpers/aws-events.js';

/*
 * The invoke trigger (issue 18, item 3): the filling arrival invokes the aggregator asynchronously
 * instead of sending to the SQS FIFO queue. Lambda has no emulator here, so the Lambda client is
 * mocked at its boundary (aws-sdk-client-mock); DynamoDB, S3 and SQS are the emulators.
 */

const AGGREGATOR = 'bspml-test-aggregator';
let emulators: AwsEmulators;
let p: Pipeline;
const lambda = mockClient(LambdaClient);
const invoked: { FunctionName?: string; InvocationType?: string; event: Record<string, unknown> }[] = [];
let refuse = 0;
const tempDir = useTempDirs('bspml-invoke-');
const logs = captureLogs();

beforeAll(async () => {
  emulators = await startAwsEmulators();
  lambda.on(InvokeCommand).callsFake((input: { FunctionName?: string; InvocationType?: string; Payload?: Uint8Array }) => {
    if (refuse > 0) {
      refuse--;
      throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    }
    invoked.push({ FunctionName: input.FunctionName, InvocationType: input.InvocationType, event: JSON.parse(Buffer.from(input.Payload!).toString('utf8')) });
    return { StatusCode: 202 };
  });
  p = pipeline(emulators, { BSPML_THREADS: '1', BSPML_AGGREGATOR_TRIGGER: 'invoke', BSPML_AGGREGATOR_FUNCTION: AGGREGATOR });
});

afterAll(async () => {
  lambda.restore();
  await p?.close();
  await emulators?.close();
});

/** Plays SNS and Lambda's event queue: tasks to the worker, invokes to the aggregator (pairs of a duplicate at once, when asked). */
async function deliver(options: { duplicateInvokes?: boolean } = {}): Promise<{ workerErrors: number; aggregations: number }> {
  let workerErrors = 0;
  let aggregations = 0;
  for (let step = 0; step < 500; step++) {
    const tasks = p.sns.take();
    for (const task of tasks) {
      // A refused invoke throws; Lambda retries the worker's event, as here.
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await p.worker(snsEvent(task));
          break;
        } catch {
          workerErrors++;
        }
      }
    }
    const events = invoked.splice(0);
    if (tasks.length === 0 && events.length === 0) return { workerErrors, aggregations };
    for (const e of events) {
      aggregations += options.duplicateInvokes ? 2 : 1;
      await Promise.all((options.duplicateInvokes ? [e, e] : [e]).map((x) => p.aggregator(structuredClone(x.event))));
    }
  }
  throw new Error('deliver: still delivering after 500 steps');
}

async function queueDepth(): Promise<number> {
  const out = await p.sqs.send(new GetQueueAttributesCommand({ QueueUrl: emulators.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('the aggregator invoked directly', () => {
  const data = blobs([[0, 0, 0], [6, 6, 1], [-6, 6, -1]], 120, 1.5, 3);
  const spec = { algorithm: 'kmeans', k: 3, workers: 4, seed: 9, maxRounds: 3, tol: 0, merge: 'tree' } as const;

  async function startJob(name: string): Promise<{ jobId: string; file: string }> {
    const table = { columns: data.featureNames, rows: data.rows, cols: data.dims, values: data.features, hasHeader: true, firstLine: 2 };
    const bytes = formatCsv(table);
    const file = join(await tempDir(), `${name}.csv`);
    await writeFile(file, bytes);
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: `datasets/${name}.job.json`, Body: JSON.stringify(spec) }));
    const event = nextS3Event(emulators.s3.server, `datasets/${name}.csv`);
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: `datasets/${name}.csv`, Body: bytes }));
    const [started] = await p.start(await event);
    return { jobId: started!.jobId, file };
  }

  async function local(file: string) {
    const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new FileDatasetSource(), defaultThreads: 1 });
    try {
      return await runtime.train({ ...spec, data: { uri: file } });
    } finally {
      await runtime.close();
    }
  }

  it('trains through direct invokes of the aggregator (no SQS message), equal to the local runtime, even when an invoke is refused once', async () => {
    // Prepare
    const { jobId, file } = await startJob('invoked');
    refuse = 1;

    // Act
    const delivered = await deliver();

    // Assess
    const job = await p.wiring.store.getJob(jobId);
    expect(job?.status, job?.error).toBe('SUCCEEDED');
    expect(job!.result).toEqual((await local(file)).job.result);
    expect(delivered.workerErrors).toBe(1);
    expect(await queueDepth()).toBe(0);
    expect(logs.events('aggregated').length).toBeGreaterThanOrEqual(job!.round + 1);
    const calls = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(calls.length).toBeGreaterThanOrEqual(job!.round + 1);
    for (const input of calls) expect(input).toMatchObject({ FunctionName: AGGREGATOR, InvocationType: 'Event' });
    expect(JSON.parse(Buffer.from(calls[0]!.Payload as Uint8Array).toString('utf8'))).toEqual({ source: DIRECT_COMPLETION_SOURCE, jobId, round: 0 });
  });

  it('stays exactly-once when every completion is aggregated twice at the same time', async () => {
    // Prepare
    const { jobId, file } = await startJob('invoked-twice');

    // Act
    await deliver({ duplicateInvokes: true });

    // Assess
    const job = await p.wiring.store.getJob(jobId);
    expect(job?.status, job?.error).toBe('SUCCEEDED');
    expect(job!.result).toEqual((await local(file)).job.result);
    const rounds = await p.wiring.store.listRoundMetrics(jobId);
    expect(rounds.map((r) => r.round)).toEqual(Array.from({ length: job!.round + 1 }, (_, i) => i));
    expect(job!.round).toBeGreaterThanOrEqual(2);
  });

  it('completes a round whose accepted invoke was lost (every aggregator retry failed): the sweep re-sends the completion through the queue', async () => {
    // Prepare: the preparation round's completion is accepted by Lambda, then lost.
    const { jobId, file } = await startJob('invoke-lost');
    for (const task of p.sns.take()) await p.worker(snsEvent(task));
    const lost = invoked.splice(0);
    // The recover function's own wiring: the queue (only workers get BSPML_AGGREGATOR_TRIGGER).
    const sweeper = createWiring(loadConfig({ ...emulators.env, BSPML_STALE_MINUTES: '0.00001' }), { sns: p.sns });
    const recover = createRecoverHandler(() => sweeper);

    // Act
    await new Promise((r) => setTimeout(r, 20));
    const swept = await recover();
    const received = await p.sqs.send(new ReceiveMessageCommand({ QueueUrl: emulators.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    const messages = received.Messages ?? [];
    await p.aggregator(sqsEvent(messages));
    for (const m of messages) await p.sqs.send(new DeleteMessageCommand({ QueueUrl: emulators.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    await deliver();
    await sweeper.close();

    // Assess
    expect(lost.map((e) => e.event)).toEqual([{ source: DIRECT_COMPLETION_SOURCE, jobId, round: 0 }]);
    expect(swept.filter((r) => r.jobId === jobId)).toEqual([{ jobId, action: 'completion-resent' }]);
    expect(messages.map((m) => JSON.parse(m.Body!))).toEqual([{ jobId, round: 0 }]);
    const job = await p.wiring.store.getJob(jobId);
    expect(job?.status, job?.error).toBe('SUCCEEDED');
    expect(job!.result).toEqual((await local(file)).job.result);
  });

  it('logs and drops a malformed direct event', async () => {
    // Act
    const response = await p.aggregator({ source: DIRECT_COMPLETION_SOURCE, jobId: '', round: -1 });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(logs.events('malformed-completion')).toMatchObject([{ level: 'error', source: 'invoke' }]);
  });
});
