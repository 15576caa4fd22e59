import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRecoverHandler } from '../../handlers/recover.js';
import { deliverAll } from '../helpers/aws-pipeline.js';
import { HEALTHY, stackWithHealthyJob } from '../helpers/healthy-stack.js';
import { captureLogs } from '../helpers/logs.js';
import { LONG } from '../helpers/fault-mode.js';

/*
 * A fuzz of every handler with malformed events (issue 12): whatever arrives, a handler resolves
 * (a malformed event or record is logged and dropped; Lambda would only retry a throw), never
 * fails a healthy job it does not belong to, and that job then finishes with its model.
 * BSPML_FAULTS=long runs many more events.
 */

const RUNS = LONG ? 2000 : 60;

captureLogs();
const stack = stackWithHealthyJob();

// Lambda hands a handler JSON-decoded events: what JSON can hold, nested, is what can arrive.
const anything = fc.jsonValue({ maxDepth: 4 });
const text = fc.oneof(fc.string(), fc.constantFrom('%', '%E0%A4%A', '../../x', '', 'null', '{}', '[]', '{"jobId":""}', 'x'.repeat(3000)));

/** A task for the healthy job with one field made wrong: the near misses a schema must catch. */
const nearTask = fc.record({
  jobId: fc.oneof(fc.constant(HEALTHY), fc.constant(''), fc.string()),
  round: fc.oneof(fc.constant(-1), fc.constant(0.5), fc.constant(2 ** 60), fc.string()),
  shard: fc.oneof(fc.constant(-1), fc.constant(2), fc.constant(1.5), fc.constant(Number.NaN)),
  shards: fc.oneof(fc.constant(0), fc.constant(3), fc.constant('2')),
  model: fc.oneof(fc.constant('%%%'), fc.constant('AAAA'), fc.string()),
});

const snsRecord = fc.oneof(anything, fc.record({ Sns: fc.record({ Message: fc.oneof(text, nearTask.map((t) => JSON.stringify(t)), anything.map((v) => safeJson(v))), MessageId: fc.string() }) }));
const sqsRecord = fc.oneof(
  anything,
  fc.record({
    messageId: fc.oneof(fc.string(), fc.constant('')),
    body: fc.oneof(text, fc.record({ jobId: fc.oneof(fc.constant(''), fc.string({ minLength: 101, maxLength: 300 })), round: fc.oneof(fc.constant(-1), fc.string()) }).map((b) => JSON.stringify(b))),
    attributes: fc.option(fc.record({ MessageGroupId: fc.option(fc.string(), { nil: undefined }), ApproximateReceiveCount: fc.oneof(fc.string(), fc.integer()) }), { nil: undefined }),
  }),
);
const s3Record = fc.oneof(
  anything,
  fc.record({
    eventName: fc.oneof(fc.constant('ObjectCreated:Put'), fc.string()),
    eventTime: fc.oneof(fc.constant('not a time'), fc.string()),
    s3: fc.oneof(anything, fc.record({ bucket: fc.record({ name: fc.string() }), object: fc.option(fc.record({ key: text }), { nil: undefined }) })),
  }),
);
const recordsOf = (record: fc.Arbitrary<unknown>) => fc.oneof(anything, fc.record({ Records: fc.oneof(anything, fc.array(record, { maxLength: 4 })) }));
const failure = fc.oneof(
  anything,
  fc.record({
    requestContext: fc.oneof(anything, fc.record({ condition: fc.string(), approximateInvokeCount: fc.oneof(fc.integer(), fc.string()) })),
    requestPayload: fc.oneof(anything, recordsOf(snsRecord)),
    responsePayload: anything,
  }),
);

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return String(typeof value);
  }
}

/** Awaits `fn`; a rejection fails the property with the event that caused it. */
async function resolves(name: string, event: unknown, fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn();
  } catch (error) {
    throw new Error(`${name} threw on ${safeJson(event).slice(0, 300)}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

describe('handler fuzz: malformed events', () => {
  it(`worker: ${RUNS} malformed SNS events, each logged and dropped`, async () => {
    await fc.assert(fc.asyncProperty(recordsOf(snsRecord), async (event) => void (await resolves('worker', event, () => stack.p.worker(event as never)))), { numRuns: RUNS, seed: 1212 });
  });

  it(`predictWorker: ${RUNS} malformed SNS events (and tasks of the healthy training job, phase predict or not), each logged and dropped`, async () => {
    // Near misses, and well-formed predict tasks for the healthy training job's shards (a predict worker refuses them).
    const wellFormed = fc.record({ jobId: fc.constant(HEALTHY), round: fc.constantFrom(0, 1), phase: fc.constantFrom('predict', 'prepare', undefined), shard: fc.constantFrom(0, 1), shards: fc.constant(2) });
    const predictRecord = fc.oneof(snsRecord, fc.record({ Sns: fc.record({ Message: fc.oneof(nearTask.map((t) => JSON.stringify({ ...t, phase: 'predict' })), wellFormed.map((t) => JSON.stringify(t))), MessageId: fc.string() }) }));
    await fc.assert(fc.asyncProperty(recordsOf(predictRecord), async (event) => void (await resolves('predictWorker', event, () => stack.p.predictWorker(event as never)))), { numRuns: RUNS, seed: 1217 });
  });

  it(`aggregator: ${RUNS} malformed SQS events, answered with a batch response`, async () => {
    await fc.assert(
      fc.asyncProperty(recordsOf(sqsRecord), async (event) => {
        const response = await resolves('aggregator', event, () => stack.p.aggregator(event as never));
        expect(response).toMatchObject({ batchItemFailures: expect.any(Array) });
      }),
      { numRuns: RUNS, seed: 1213 },
    );
  });

  it(`start: ${RUNS} malformed S3 events and direct invocations, a list of results`, async () => {
    const invocation = fc.oneof(recordsOf(s3Record), fc.record({ spec: anything, jobId: fc.option(text, { nil: undefined }) }), fc.constant(null), fc.constant(undefined));
    await fc.assert(
      fc.asyncProperty(invocation, async (event) => {
        const results = await resolves('start', event, () => stack.p.start(event as never));
        expect(Array.isArray(results)).toBe(true);
      }),
      { numRuns: RUNS, seed: 1214 },
    );
  });

  it(`workerFailed: ${RUNS} malformed on-failure records`, async () => {
    await fc.assert(fc.asyncProperty(failure, async (event) => void (await resolves('workerFailed', event, () => stack.p.workerFailed(event as never)))), { numRuns: RUNS, seed: 1215 });
  });

  it('recover: any event (a schedule sends what it likes)', async () => {
    const sweep = createRecoverHandler(() => stack.p.wiring);
    await fc.assert(fc.asyncProperty(anything, async (event) => void (await resolves('recover', event, () => (sweep as (event: unknown) => Promise<unknown>)(event)))), { numRuns: Math.min(RUNS, 20), seed: 1216 });
  });

  it('the healthy job was not failed by any of it, and finishes with its model', async () => {
    const before = await stack.p.wiring.store.getJob(HEALTHY);
    expect(before?.status).toBe('RUNNING');
    await deliverAll(stack.p, stack.emulators.queueUrl);
    const job = await stack.p.wiring.store.getJob(HEALTHY);
    expect(job?.status, job?.error).toBe('SUCCEEDED');
    expect(job?.result).toMatchObject({ algorithm: 'kmeans', k: 2 });
  });
});
