import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmeans } from '../../src/algorithms/index.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { sliceShard } from '../../src/data/types.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { decodeModel, decodePartial, modelToBase64 } from '../../src/protocol/codec.js';
import { MAX_INLINE_MODEL_CHARS, MAX_RECOVERIES } from '../../src/protocol/constants.js';
import { recoverJob } from '../../src/protocol/recover.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { parseJobSpec, type KmeansSpec } from '../../src/domain/spec.js';
import { startJob } from '../../src/protocol/startJob.js';
import type { KmeansResult } from '../../src/domain/results.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { Rng } from '../../src/util/random.js';
import { blobs } from '../helpers/data.js';
import { drive, harness, runRound, type Harness } from '../helpers/protocol.js';

/*
 * The protocol driven by hand: messages are recorded, not delivered, so each test chooses what is
 * duplicated, lost, reordered or crashes half-way.
 */

const SMALL = blobs([[0, 0], [8, 8], [-8, 8]], 40, 1.5, 4);
const OTHER = blobs([[3, -3], [-6, -6], [9, 0]], 35, 1, 8);
const datasets = new MemoryDatasetSource().add('small', SMALL).add('other', OTHER);
const SPEC = { algorithm: 'kmeans', k: 3, workers: 3, threads: 1, maxRounds: 4, tol: 0, seed: 3, data: { uri: 'small' } } as const;

let container: WorkerContainer;

beforeAll(() => {
  container = new WorkerContainer(1);
});

afterAll(async () => {
  await container?.close();
});

function fresh(store = new MemoryStore()): Harness {
  return harness(store, datasets);
}

/** Starts a job and runs its preparation round: round 1's tasks are pending. */
async function prepared(h: Harness, jobId: string, spec: unknown): Promise<void> {
  await startJob(h.deps, { jobId, spec });
  await runRound(h, container, jobId, 0);
  expect((await aggregate(h.deps, h.completion.pending.shift()!)).status).toBe('prepared');
}

/** The job trained with no interference, on its own store: what every disturbed run must equal. */
let cleanRuns = 0;
async function cleanResult(spec: unknown): Promise<KmeansResult> {
  // Job ids are unique in the system: the warm container caches job specs and shards by id.
  const jobId = `clean-${cleanRuns++}`;
  const h = fresh();
  await startJob(h.deps, { jobId, spec });
  await drive(h, container);
  const job = await h.store.getJob(jobId);
  expect(job?.status).toBe('SUCCEEDED');
  return job!.result as KmeansResult;
}

describe('worker tasks delivered more than once', () => {
  it('a duplicate task neither counts twice nor overwrites the partial nor sends a completion', async () => {
    // Prepare
    const h = fresh();
    await startJob(h.deps, { jobId: 'dup-worker', spec: SPEC });
    const [t0, t1, t2] = h.fanout.of('dup-worker', 0);

    // Act
    const first = await runWorker(h.deps, container, t0!);
    const [storedFirst] = await h.store.getPartials('dup-worker', 0, 1);
    const duplicate = await runWorker(h.deps, container, t0!);

    // Assess
    expect(first).toMatchObject({ written: true, arrived: true, count: 1, completionSent: false });
    expect(duplicate).toMatchObject({ written: false, arrived: false, count: 1, completionSent: false });
    expect(duplicate.status === 'done' && duplicate.report.cacheHit).toBe(true);
    expect(await h.store.arrivals('dup-worker', 0, 3)).toEqual([0]);
    const [storedAfter] = await h.store.getPartials('dup-worker', 0, 1);
    expect(Buffer.from(storedAfter!).equals(Buffer.from(storedFirst!))).toBe(true);
    expect(decodePartial(storedAfter!).report.cacheHit).toBe(false); // still the first run's report
    expect(h.completion.sent).toEqual([]);

    // Act: the other shards fill the barrier; the aggregator advances; a late duplicate comes in.
    const second = await runWorker(h.deps, container, t1!);
    const filling = await runWorker(h.deps, container, t2!);
    const advanced = await aggregate(h.deps, h.completion.sent[0]!);
    const late = await runWorker(h.deps, container, t1!);

    // Assess: one completion for round 0, sent by the filling arrival only.
    expect(second).toMatchObject({ arrived: true, count: 2, completionSent: false });
    expect(filling).toMatchObject({ arrived: true, count: 3, completionSent: true });
    expect(advanced.status).toBe('prepared');
    // The job has left round 0: the late duplicate is dropped before computing (issue 20 defect 12).
    expect(late).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/that round is over/) });
    expect(h.completion.sent).toEqual([{ jobId: 'dup-worker', round: 0 }]);
    expect(await h.store.arrivals('dup-worker', 0, 3)).toEqual([0, 1, 2]);
  });

  it('a worker re-run after the barrier filled, whose first run died before sending, sends the completion', async () => {
    // Prepare: shards 0 and 1 arrive; the filling arrival (shard 2) dies before the completion goes out.
    const h2 = fresh();
    await startJob(h2.deps, { jobId: 'crash-send', spec: SPEC });
    const [t0, t1, t2] = h2.fanout.of('crash-send', 0);
    await runWorker(h2.deps, container, t0!);
    await runWorker(h2.deps, container, t1!);
    h2.completion.failures = 1;
    await expect(runWorker(h2.deps, container, t2!)).rejects.toThrow(/completion queue unavailable/);
    expect(await h2.store.arrivals('crash-send', 0, 3)).toEqual([0, 1, 2]);
    expect(h2.completion.sent).toEqual([]);

    // Act: the task is redelivered (Lambda retry) before any aggregator ran.
    const retry = await runWorker(h2.deps, container, t2!);

    // Assess
    expect(retry).toMatchObject({ written: false, arrived: false, count: 3, completionSent: true });
    expect(h2.completion.sent).toEqual([{ jobId: 'crash-send', round: 0 }]);
    const job = await h2.store.getJob('crash-send');
    expect({ round: job?.round, status: job?.status }).toEqual({ round: 0, status: 'RUNNING' });
    expect((await aggregate(h2.deps, h2.completion.sent[0]!)).status).toBe('prepared');
  });
});

describe('completions delivered more than once', () => {
  it('a duplicate of the filling task before aggregation re-sends the completion; the round is still aggregated once', async () => {
    // Prepare: the barrier is full; the filling task is delivered a second time before the aggregator runs.
    const h = fresh();
    await startJob(h.deps, { jobId: 'dup-filling', spec: SPEC });
    await runRound(h, container, 'dup-filling', 0);
    const [, , t2] = h.fanout.of('dup-filling', 0);
    const duplicate = await runWorker(h.deps, container, t2!);
    expect(duplicate).toMatchObject({ written: false, arrived: false, count: 3, completionSent: true });
    expect(h.completion.sent).toEqual([
      { jobId: 'dup-filling', round: 0 },
      { jobId: 'dup-filling', round: 0 },
    ]);

    // Act
    const outcomes = [await aggregate(h.deps, h.completion.sent[0]!), await aggregate(h.deps, h.completion.sent[1]!)];

    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(['prepared', 'ignored']);
    expect((await h.store.getJob('dup-filling'))?.round).toBe(1);
    expect(h.fanout.of('dup-filling', 1)).toHaveLength(3);
    expect(await h.store.listRoundMetrics('dup-filling')).toHaveLength(1);
  });

  it('a duplicate completion after the job advanced is ignored and changes nothing', async () => {
    // Prepare
    const h = fresh();
    await startJob(h.deps, { jobId: 'dup-completion', spec: SPEC });
    await runRound(h, container, 'dup-completion', 0);
    const message = h.completion.sent[0]!;
    expect((await aggregate(h.deps, message)).status).toBe('prepared');
    const jobBefore = await h.store.getJob('dup-completion');
    const model1 = await h.store.getModel('dup-completion', 1);
    const metricsBefore = await h.store.listRoundMetrics('dup-completion');
    const publishedBefore = h.fanout.published.length;

    // Act
    const outcome = await aggregate(h.deps, message);

    // Assess
    expect(outcome.status).toBe('ignored');
    expect(await h.store.getJob('dup-completion')).toEqual(jobBefore);
    expect(jobBefore?.round).toBe(1);
    expect(Buffer.from((await h.store.getModel('dup-completion', 1))!).equals(Buffer.from(model1!))).toBe(true);
    expect(await h.store.getModel('dup-completion', 2)).toBeUndefined();
    expect(await h.store.listRoundMetrics('dup-completion')).toEqual(metricsBefore);
    expect(h.fanout.published).toHaveLength(publishedBefore);
  });

  it('a duplicate completion after the job finished is ignored and changes nothing', async () => {
    // Prepare
    const h = fresh();
    await startJob(h.deps, { jobId: 'dup-finished', spec: SPEC });
    await drive(h, container);
    const finished = await h.store.getJob('dup-finished');
    expect(finished?.status).toBe('SUCCEEDED');
    const lastRound = finished!.round;

    // Act
    const outcome = await aggregate(h.deps, { jobId: 'dup-finished', round: lastRound });

    // Assess
    expect(outcome.status).toBe('ignored');
    expect(await h.store.getJob('dup-finished')).toEqual(finished);
    expect(await h.store.getModel('dup-finished', lastRound + 2)).toBeUndefined();
  });

  it('a redelivered completion re-publishes a round whose fan-out was lost, exactly once', async () => {
    // Prepare: the aggregator advances the job to round 1, then dies before the fan-out.
    const h = fresh();
    await startJob(h.deps, { jobId: 'lost-fanout', spec: SPEC });
    await runRound(h, container, 'lost-fanout', 0);
    const message = h.completion.sent[0]!;
    h.completion.pending.length = 0;
    h.fanout.failures = 1;
    await expect(aggregate(h.deps, message)).rejects.toThrow(/fan-out unavailable/);
    const stranded = await h.store.getJob('lost-fanout');
    expect({ round: stranded?.round, fanoutRound: stranded?.fanoutRound, status: stranded?.status }).toEqual({ round: 1, fanoutRound: 0, status: 'RUNNING' });
    expect(h.fanout.of('lost-fanout', 1)).toHaveLength(0);

    // Act: the completion is delivered again, twice.
    const again = await aggregate(h.deps, message);
    const third = await aggregate(h.deps, message);

    // Assess
    expect(again.status).toBe('republished');
    expect(third.status).toBe('ignored');
    const round1 = h.fanout.of('lost-fanout', 1);
    expect(round1.map((t) => t.shard)).toEqual([0, 1, 2]);
    const model1 = (await h.store.getModel('lost-fanout', 1))!;
    for (const task of round1) expect(task.model).toBe(Buffer.from(model1).toString('base64'));
    expect((await h.store.getJob('lost-fanout'))?.fanoutRound).toBe(1);
    expect(await h.store.listRoundMetrics('lost-fanout')).toHaveLength(1);

    // ...and the job then ends with the model of an undisturbed run.
    await drive(h, container);
    const done = await h.store.getJob('lost-fanout');
    expect(done?.status).toBe('SUCCEEDED');
    expect(done?.result).toEqual(await cleanResult(SPEC));
  });
});

describe('recovery sweep', () => {
  it('re-publishes only the missing shards, then re-sends a lost completion', async () => {
    // Prepare: shards 1 and 2 of round 0 are lost.
    const h = fresh();
    await startJob(h.deps, { jobId: 'sweep', spec: SPEC });
    const [t0] = h.fanout.of('sweep', 0);
    h.fanout.pending.length = 0;
    await runWorker(h.deps, container, t0!);

    // Act
    const first = await recoverJob(h.deps, 'sweep');

    // Assess
    expect(first).toEqual({ action: 'republished', shards: [1, 2] });
    expect(h.fanout.pending.map((t) => [t.round, t.shard])).toEqual([
      [0, 1],
      [0, 2],
    ]);
    expect((await h.store.getJob('sweep'))?.recoveries).toBe(1);

    // Act: they run, but the completion they send is lost.
    await runRound(h, container, 'sweep', 0);
    expect(h.completion.pending).toHaveLength(1);
    h.completion.pending.length = 0;
    const second = await recoverJob(h.deps, 'sweep');

    // Assess
    expect(second).toEqual({ action: 'completion-resent' });
    expect(h.completion.pending).toEqual([{ jobId: 'sweep', round: 0 }]);
    await drive(h, container);
    const done = await h.store.getJob('sweep');
    expect(done?.status).toBe('SUCCEEDED');
    expect(done?.result).toEqual(await cleanResult(SPEC));
  });

  it(`fails the job after ${MAX_RECOVERIES} sweeps, naming the round and the shard, and leaves other jobs alone`, async () => {
    // Prepare: shard 2 of round 1 is lost every time; a second job shares the store.
    const h = fresh();
    await startJob(h.deps, { jobId: 'doomed', spec: SPEC });
    await startJob(h.deps, { jobId: 'bystander', spec: { ...SPEC, data: { uri: 'other' } } });
    await runRound(h, container, 'doomed', 0);
    await aggregate(h.deps, h.completion.pending.shift()!);
    const bystanderBefore = await h.store.getJob('bystander');
    const outcomes = [];

    // Act
    for (let sweep = 0; sweep <= MAX_RECOVERIES; sweep++) {
      h.fanout.pending.splice(0).filter((t) => !(t.jobId === 'doomed' && t.shard === 2)).forEach((t) => h.fanout.pending.push(t));
      await runRound(h, container, 'doomed', 1);
      outcomes.push(await recoverJob(h.deps, 'doomed'));
    }

    // Assess
    expect(outcomes.slice(0, MAX_RECOVERIES)).toEqual(Array.from({ length: MAX_RECOVERIES }, () => ({ action: 'republished', shards: [2] })));
    const reason = `round 1 stalled: shard(s) 2 never arrived after ${MAX_RECOVERIES} recovery attempts without progress`;
    expect(outcomes[MAX_RECOVERIES]).toEqual({ action: 'failed', reason });
    const doomed = await h.store.getJob('doomed');
    expect({ status: doomed?.status, error: doomed?.error }).toEqual({ status: 'FAILED', error: reason });
    expect(await h.store.getJob('bystander')).toEqual(bystanderBefore);
    expect(bystanderBefore?.round).toBe(0);
    expect(await h.store.getModel('bystander', 1)).toBeUndefined();
  });
});

describe("a spec's backend", () => {
  it('is kept in the record, and a run keeps the store it was given: only a deployed stack routes by it', async () => {
    // Prepare
    const store = new MemoryStore();
    const h = fresh(store);

    // Act
    await startJob(h.deps, { jobId: 'on-s3-spec', spec: { ...SPEC, backend: 's3' } });
    await drive(h, container);

    // Assess
    const job = await store.getJob('on-s3-spec');
    expect(job?.kind === 'predict' ? undefined : job?.spec.backend).toBe('s3');
    expect(job?.result).toEqual(await cleanResult(SPEC));
    // The memory store holds the job's models: nothing went anywhere else.
    expect(await store.getModel('on-s3-spec', 1)).toBeInstanceOf(Uint8Array);
    expect(parseJobSpec(SPEC).backend).toBeUndefined();
  });
});

describe('job isolation', () => {
  it('two jobs with the same shard count, interleaved message by message, each get their own model', async () => {
    // Prepare
    const specA = SPEC;
    const specB = { ...SPEC, seed: 9, data: { uri: 'other' } };
    const aloneA = await cleanResult(specA);
    const aloneB = await cleanResult(specB);
    const h = fresh();

    // Act: both jobs' messages in one transport, handled in a random order.
    await startJob(h.deps, { jobId: 'iso-a', spec: specA });
    await startJob(h.deps, { jobId: 'iso-b', spec: specB });
    await drive(h, container, { seed: 77 });

    // Assess
    const a = await h.store.getJob('iso-a');
    const b = await h.store.getJob('iso-b');
    expect(a?.status).toBe('SUCCEEDED');
    expect(b?.status).toBe('SUCCEEDED');
    expect(a?.result).toEqual(aloneA);
    expect(b?.result).toEqual(aloneB);
    expect(aloneA).not.toEqual(aloneB);
    // Round 0 prepares; training rounds are 1..rounds.
    expect((await h.store.listRoundMetrics('iso-a')).map((m) => m.round)).toEqual(Array.from({ length: aloneA.rounds + 1 }, (_, r) => r));
    expect((await h.store.listRoundMetrics('iso-b')).map((m) => m.round)).toEqual(Array.from({ length: aloneB.rounds + 1 }, (_, r) => r));
    // The random order really interleaved the two jobs.
    const order = h.fanout.published.map((t) => t.jobId);
    expect(order.indexOf('iso-b')).toBeLessThan(order.lastIndexOf('iso-a'));
  });
});

describe('models too large for a message', () => {
  class CountingStore extends MemoryStore {
    readonly modelReads: { jobId: string; round: number }[] = [];
    override async getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
      this.modelReads.push({ jobId, round });
      return super.getModel(jobId, round);
    }
  }

  const DIMS = 1000;
  const rng = new Rng(31);
  const centers = Array.from({ length: 20 }, () => Array.from({ length: DIMS }, () => 10 * rng.normal()));
  const WIDE = blobs(centers, 2, 0.5, 32); // 40 rows × 1000 columns
  datasets.add('wide', WIDE);
  const wideSpec = (k: number) => ({ algorithm: 'kmeans', k, workers: 2, threads: 1, maxRounds: 2, tol: 0, seed: 5, data: { uri: 'wide' } }) as const;

  it('is left out of the task and read from the store by the worker', async () => {
    // Prepare: 20 × 1000 float64 = 160,000 bytes, 213,336 base64 characters.
    const store = new CountingStore();
    const h = harness(store, datasets);
    await prepared(h, 'wide', wideSpec(20));
    const model1 = decodeModel((await store.getModel('wide', 1))!);
    expect(modelToBase64(model1).length).toBeGreaterThan(MAX_INLINE_MODEL_CHARS);
    store.modelReads.length = 0;

    // Act
    const tasks = h.fanout.of('wide', 1);
    await runWorker(h.deps, container, tasks[0]!);

    // Assess
    expect(tasks).toHaveLength(2);
    for (const task of tasks) expect(task).not.toHaveProperty('model');
    expect(store.modelReads).toEqual([{ jobId: 'wide', round: 1 }]);
    const [stored] = await store.getPartials('wide', 1, 1);
    const shard = sliceShard(WIDE, 0, 2);
    const spec = parseJobSpec(wideSpec(20)) as KmeansSpec;
    const shape = kmeans.shape(spec, WIDE);
    const expected = new Float64Array(kmeans.partialLength(shape));
    kmeans.partial(shape, model1, { features: shard.features, dims: DIMS, start: 0, end: shard.rows }, expected);
    expect(Array.from(decodePartial(stored!).partial)).toEqual(Array.from(expected));

    // Act: the rest of the job, whose round-2 model is read from the store as well.
    await drive(h, container);

    // Assess
    const job = await store.getJob('wide');
    expect(job?.status).toBe('SUCCEEDED');
    for (const task of h.fanout.of('wide', 2)) expect(task).not.toHaveProperty('model');
    expect(store.modelReads.filter((r) => r.jobId === 'wide' && r.round === 2).length).toBeGreaterThanOrEqual(2);
  });

  it('a model just under the limit rides inside the task and the worker does not read it', async () => {
    // Prepare: 18 × 1000 float64 = 144,000 bytes, 192,000 base64 characters.
    const store = new CountingStore();
    const h = harness(store, datasets);
    await prepared(h, 'wide-inline', wideSpec(18));
    const model1 = (await store.getModel('wide-inline', 1))!;
    store.modelReads.length = 0;

    // Act
    const tasks = h.fanout.of('wide-inline', 1);
    await runWorker(h.deps, container, tasks[0]!);

    // Assess
    expect(tasks[0]!.model).toBe(Buffer.from(model1).toString('base64'));
    expect(tasks[0]!.model!.length).toBeLessThanOrEqual(MAX_INLINE_MODEL_CHARS);
    expect(store.modelReads).toEqual([]);
  });
});
