import { PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { snsEvent, sqsEventOf } from '../helpers/aws-events.js';
import { deliverAll, pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { captureLogs } from '../helpers/logs.js';

/*
 * A fuzz of the worker and aggregator handlers with malformed messages in well-formed SNS and SQS
 * envelopes (issue 12, defect 8 at the edge): each is logged and dropped, the handler resolves, and
 * a healthy job running beside them is never failed and finishes. (Malformed envelopes themselves
 * are issue 12 defect 16, the handlers' own validation.) BSPML_FAULTS=long runs many more.
 */

const RUNS = process.env.BSPML_FAULTS === 'long' ? 2000 : 80;
const HEALTHY = 'fuzz-healthy';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:rounds';

let emulators: AwsEmulators;
let p: Pipeline;
captureLogs();

beforeAll(async () => {
  emulators = await startAwsEmulators();
  p = pipeline(emulators, { BSPML_THREADS: '1', BSPML_MAX_RECEIVES: '3' });
  await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: 'datasets/fuzz.csv', Body: 'a,b\n1,2\n3,4\n5,6\n7,8\n9,9\n0,1\n' }));
  const [result] = await p.start({ jobId: HEALTHY, spec: { algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 3, data: { uri: `s3://${emulators.bucket}/datasets/fuzz.csv` } } });
  expect(result!.status).toBe('RUNNING');
});

afterAll(async () => {
  await p?.close();
  await emulators?.close();
});

const anything = fc.anything({ maxDepth: 3 });
/** A task for the healthy job with fields made wrong: the near misses the schema must catch. */
const nearTask = fc.record(
  {
    jobId: fc.oneof(fc.constant(HEALTHY), fc.constant(''), fc.constant('x'.repeat(2000)), fc.constant('a/b'), fc.string()),
    round: fc.oneof(fc.constant(-1), fc.constant(0.5), fc.constant(2 ** 60), fc.constant(999), fc.string()),
    shard: fc.oneof(fc.constant(-1), fc.constant(2), fc.constant(7), fc.constant(1.5), fc.constant(null)),
    shards: fc.oneof(fc.constant(0), fc.constant(2), fc.constant(3), fc.constant('2')),
    model: fc.oneof(fc.constant('%%%'), fc.constant('AAAAAAAAAAA='), fc.constant(Buffer.alloc(8).toString('base64')), fc.string()),
    phase: fc.oneof(fc.constant('prepare'), fc.constant('train'), fc.string()),
  },
  { requiredKeys: ['jobId'] },
);
const message = fc.oneof(fc.string(), fc.constantFrom('', 'null', '{}', '[]', '{"jobId":'), anything.map((v) => JSON.stringify(v) ?? ''), nearTask.map((t) => JSON.stringify(t)));
const completion = fc.oneof(anything, fc.record({ jobId: fc.oneof(fc.constant(''), fc.constant('x'.repeat(500)), fc.constant(HEALTHY)), round: fc.oneof(fc.constant(-1), fc.constant(0.5), fc.constant(99), fc.string()) }));

describe('message fuzz: malformed tasks and completions', () => {
  it(`worker: ${RUNS} malformed tasks, each logged and dropped`, async () => {
    await fc.assert(
      fc.asyncProperty(message, async (body) => {
        await p.worker(snsEvent({ topicArn: TOPIC, id: 'fuzz', message: body }));
      }),
      { numRuns: RUNS, seed: 1212 },
    );
  });

  it(`aggregator: ${RUNS} malformed completions, dropped without a batch failure`, async () => {
    await fc.assert(
      fc.asyncProperty(completion, async (body) => {
        const response = await p.aggregator(sqsEventOf([{ body, groupId: 'fuzz' }]));
        expect(response.batchItemFailures).toEqual([]);
      }),
      { numRuns: RUNS, seed: 1213 },
    );
  });

  it('the healthy job was not failed by any of it, and finishes with its model', async () => {
    expect((await p.wiring.store.getJob(HEALTHY))?.status).toBe('RUNNING');
    await deliverAll(p, emulators.queueUrl);
    const job = await p.wiring.store.getJob(HEALTHY);
    expect(job?.status, job?.error).toBe('SUCCEEDED');
    expect(job?.result).toMatchObject({ algorithm: 'kmeans', k: 2 });
  });
});
