import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snsEvent, sqsEventOf } from '../helpers/aws-events.js';
import { deliverAll } from '../helpers/aws-pipeline.js';
import { HEALTHY, stackWithHealthyJob } from '../helpers/healthy-stack.js';
import { captureLogs } from '../helpers/logs.js';
import { LONG } from '../helpers/fault-mode.js';

/*
 * A fuzz of the worker and aggregator handlers with malformed messages in well-formed SNS and SQS
 * envelopes (issue 12, defect 8 at the edge): each is logged and dropped, the handler resolves, and
 * a healthy job running beside them is never failed and finishes. (Malformed envelopes themselves
 * are issue 12 defect 16, the handlers' own validation.) BSPML_FAULTS=long runs many more.
 */

const RUNS = LONG ? 2000 : 80;
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:rounds';

captureLogs();
const stack = stackWithHealthyJob();

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
        await stack.p.worker(snsEvent({ topicArn: TOPIC, id: 'fuzz', message: body }));
      }),
      { numRuns: RUNS, seed: 1212 },
    );
  });

  it(`aggregator: ${RUNS} malformed completions, dropped without a batch failure`, async () => {
    await fc.assert(
      fc.asyncProperty(completion, async (body) => {
        const response = await stack.p.aggregator(sqsEventOf([{ body, groupId: 'fuzz' }]));
        expect(response.batchItemFailures).toEqual([]);
      }),
      { numRuns: RUNS, seed: 1213 },
    );
  });

  it('the healthy job was not failed by any of it, and finishes with its model', async () => {
    expect((await stack.p.wiring.store.getJob(HEALTHY))?.status).toBe('RUNNING');
    await deliverAll(stack.p, stack.emulators.queueUrl);
    const job = await stack.p.wiring.store.getJob(HEALTHY);
    expect(job?.status, job?.error).toBe('SUCCEEDED');
    expect(job?.result).toMatchObject({ algorithm: 'kmeans', k: 2 });
  });
});
