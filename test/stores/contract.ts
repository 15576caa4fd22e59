import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MissingStateError, PartialMissingError } from '../../src/errors.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import type { JobRecord, RoundMetrics, TrainJobRecord } from '../../src/domain/job.js';

/** DynamoDB's item size limit: payloads above it exercise chunking. */
const ITEM_LIMIT = 400 * 1024;

export function uniqueJobId(label = 'job'): string {
  return `${label}-${randomUUID()}`;
}

export function makeJob(jobId: string, overrides: Partial<TrainJobRecord> = {}): TrainJobRecord {
  return {
    jobId,
    spec: { algorithm: 'kmeans', k: 3, initSample: 1000, data: { uri: 'data/blobs.csv' }, workers: 4, maxRounds: 10, tol: 1e-4, seed: 42 },
    status: 'RUNNING',
    round: 0,
    shards: 4,
    fanoutRound: -1,
    recoveries: 0,
    roundStartedAt: 1_700_000_000_000,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

/** Bytes that differ at every position from a different seed, so a mix-up of chunks shows. */
export function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/**
 * Byte equality without toEqual, whose element-by-element diff of a megabyte takes seconds;
 * a mismatch reports its first differing offset instead.
 */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array, label = 'bytes'): void {
  expect(actual, label).toBeInstanceOf(Uint8Array);
  expect(actual!.byteLength, `${label}: length`).toBe(expected.byteLength);
  const diff = Buffer.from(actual!.buffer, actual!.byteOffset, actual!.byteLength).compare(expected) === 0 ? -1 : actual!.findIndex((b, i) => b !== expected[i]);
  expect(diff, `${label}: first differing offset`).toBe(-1);
}

export function expectAllBytes(actual: Uint8Array[], expected: Uint8Array[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((bytes, i) => expectBytes(bytes, expected[i]!, `item ${i}`));
}

export function makeMetrics(round: number, overrides: Partial<RoundMetrics> = {}): RoundMetrics {
  return {
    round,
    objective: 100 / (round + 1),
    stats: { shift: 1 / (round + 1) },
    converged: false,
    computeMs: 10 + round,
    loadMs: round === 0 ? 50 : 0,
    cacheHits: round === 0 ? 0 : 4,
    workers: 4,
    partialBytes: 1024,
    modelBytes: 256,
    publishedAt: 1_700_000_000_000 + round * 1000,
    aggregatedAt: 1_700_000_000_500 + round * 1000,
    ...overrides,
  };
}

/** Runs `fn` on a store of its own, closed whatever happens. */
async function withStore(open: () => Promise<StateStore>, fn: (store: StateStore) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

/** The semantics every StateStore adapter must share, as the protocol relies on them. */
export function stateStoreContract(name: string, open: () => Promise<StateStore>): void {
  describe(`StateStore contract: ${name}`, () => {
    it('round-trips a job record through createJob and getJob', () =>
      withStore(open, async (store) => {
        // Prepare
        const job = makeJob(uniqueJobId(), { data: { rows: 100, dims: 2, featureNames: ['x', 'y'] } });

        // Act
        await store.createJob(job);
        const got = await store.getJob(job.jobId);
        const missing = await store.getJob(uniqueJobId('absent'));

        // Assess
        expect(got).toEqual(job);
        expect(missing).toBeUndefined();
      }));

    it('refuses a second createJob with the same id', () =>
      withStore(open, async (store) => {
        // Prepare
        const job = makeJob(uniqueJobId());
        await store.createJob(job);

        // Act
        const second = store.createJob(makeJob(job.jobId, { status: 'STARTING' }));

        // Assess
        await expect(second).rejects.toMatchObject({ code: 'E_JOB_EXISTS' });
        expect(await store.getJob(job.jobId)).toEqual(job);
      }));

    it('applies updateJob only when round and status match', () =>
      withStore(open, async (store) => {
        // Prepare
        const job = makeJob(uniqueJobId(), { round: 3, error: 'transient' });
        await store.createJob(job);
        const result = {
          algorithm: 'kmeans' as const,
          k: 2,
          dims: 2,
          featureNames: ['x', 'y'],
          centroids: [[0, 1], [2, 3]],
          counts: [5, 7],
          inertia: 1.5,
          rounds: 4,
          converged: true,
        };
        const before = Date.now();

        // Act
        const wrongRound = await store.updateJob(job.jobId, { round: 2, status: 'RUNNING' }, { round: 4 });
        const wrongStatus = await store.updateJob(job.jobId, { round: 3, status: 'STARTING' }, { round: 4 });
        const noSuchJob = await store.updateJob(uniqueJobId('absent'), { round: 3, status: 'RUNNING' }, { round: 4 });
        const unchanged = await store.getJob(job.jobId);
        const applied = await store.updateJob(
          job.jobId,
          { round: 3, status: 'RUNNING' },
          { status: 'SUCCEEDED', round: 4, fanoutRound: 3, recoveries: 1, roundStartedAt: 1_700_000_004_000, result, data: { rows: 12, dims: 2, featureNames: ['x', 'y'] }, error: undefined },
        );
        const replayed = await store.updateJob(job.jobId, { round: 3, status: 'RUNNING' }, { round: 5 });
        const after = await store.getJob(job.jobId);

        // Assess
        expect([wrongRound, wrongStatus, noSuchJob]).toEqual([false, false, false]);
        expect(unchanged).toEqual(job);
        expect(applied).toBe(true);
        expect(replayed).toBe(false);
        expect(after).toMatchObject({ status: 'SUCCEEDED', round: 4, fanoutRound: 3, recoveries: 1, roundStartedAt: 1_700_000_004_000, result, data: { rows: 12 } });
        expect(after?.error).toBeUndefined();
        expect(after?.spec).toEqual(job.spec);
        expect(after?.createdAt).toBe(job.createdAt);
        expect(after!.updatedAt).toBeGreaterThanOrEqual(before);
        expect(await store.getJob(uniqueJobId('absent'))).toBeUndefined();
      }));

    it('records a failure reason with updateJob', () =>
      withStore(open, async (store) => {
        // Prepare
        const job = makeJob(uniqueJobId(), { round: 1 });
        await store.createJob(job);

        // Act
        const applied = await store.updateJob(job.jobId, { round: 1, status: 'RUNNING' }, { status: 'FAILED', error: 'data.csv: row 7, field "x": not a number' });

        // Assess
        expect(applied).toBe(true);
        expect(await store.getJob(job.jobId)).toMatchObject({ status: 'FAILED', round: 1, error: 'data.csv: row 7, field "x": not a number' });
      }));

    it('keeps a final model larger than the item size limit in the job record', () =>
      withStore(open, async (store) => {
        // Prepare: 1,500 centroids × 40 dims is about 1 MB of JSON, well past 400 KB
        const job = makeJob(uniqueJobId(), { round: 4 });
        await store.createJob(job);
        const k = 1500;
        const dims = 40;
        const centroids = Array.from({ length: k }, (_, c) => Array.from({ length: dims }, (_, j) => c * 1000 + j + 1 / 3));
        const result = {
          algorithm: 'kmeans' as const,
          k,
          dims,
          featureNames: Array.from({ length: dims }, (_, j) => `x${j}`),
          centroids,
          counts: Array.from({ length: k }, (_, c) => c),
          inertia: 12.5,
          rounds: 5,
          converged: true,
        };
        expect(JSON.stringify(result).length).toBeGreaterThan(2 * ITEM_LIMIT);

        // Act
        const applied = await store.updateJob(job.jobId, { round: 4, status: 'RUNNING' }, { status: 'SUCCEEDED', result });
        const stored = await store.getJob(job.jobId);

        // Assess
        expect(applied).toBe(true);
        expect(stored).toMatchObject({ status: 'SUCCEEDED', round: 4 });
        expect(stored!.result).toEqual(result);
      }));

    it('round-trips models byte for byte, including one above the item size limit', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        const small = pattern(1000, 1);
        const large = pattern(1024 * 1024, 2);
        const empty = new Uint8Array(0);

        // Act
        await store.putModel(jobId, 0, small);
        await store.putModel(jobId, 1, large);
        await store.putModel(jobId, 1, large);
        await store.putModel(jobId, 2, empty);
        small.fill(0);

        // Assess
        expect(large.byteLength).toBeGreaterThan(ITEM_LIMIT);
        expectBytes(await store.getModel(jobId, 0), pattern(1000, 1), 'small model');
        expectBytes(await store.getModel(jobId, 1), pattern(1024 * 1024, 2), '1 MB model');
        expectBytes(await store.getModel(jobId, 2), empty, 'empty model');
        expect(await store.getModel(jobId, 3)).toBeUndefined();
      }));

    it("keeps a model's view apart from the model, byte for byte, a large one too", () =>
      withStore(open, async (store) => {
        // Prepare: round 1's model and its view (the workers' part), and a view above the item size limit.
        const jobId = uniqueJobId();
        const model = pattern(4000, 5);
        const view = pattern(600, 6);
        const large = pattern(512 * 1024, 7);

        // Act
        await Promise.all([store.putModel(jobId, 1, model), store.putModelView(jobId, 1, view)]);
        await store.putModelView(jobId, 1, view);
        await store.putModelView(jobId, 2, large);
        view.fill(0);

        // Assess
        expectBytes(await store.getModel(jobId, 1), pattern(4000, 5), 'model');
        expectBytes(await store.getModelView(jobId, 1), pattern(600, 6), 'view');
        expectBytes(await store.getModelView(jobId, 2), pattern(512 * 1024, 7), 'large view');
        expect(await store.getModel(jobId, 2)).toBeUndefined();
        expect(await store.getModelView(jobId, 3)).toBeUndefined();
      }));

    it('keeps the first partial of a shard and reports duplicates', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        const first = pattern(2000, 10);
        const duplicate = pattern(2000, 11);

        // Act
        const wrote = await store.putPartial(jobId, 0, 0, first);
        const wroteAgain = await store.putPartial(jobId, 0, 0, duplicate);
        const [stored] = await store.getPartials(jobId, 0, 1);

        // Assess
        expect(wrote).toBe(true);
        expect(wroteAgain).toBe(false);
        expectBytes(stored, first);
      }));

    it('discards a partial so that the next write of that shard wins, leaving other shards and the barrier alone', () =>
      withStore(open, async (store) => {
        // Prepare: a stray partial (500 KB, so chunked on DynamoDB) for shard 1; shard 0 is fine.
        const jobId = uniqueJobId();
        await store.putPartial(jobId, 3, 0, pattern(64, 30));
        await store.putPartial(jobId, 3, 1, pattern(500 * 1024, 31));
        await store.arrive(jobId, 3, 1, 2);

        // Act
        await store.discardPartial(jobId, 3, 1);
        const missing = await store.getPartials(jobId, 3, 2).catch((err: unknown) => err);
        const rewrote = await store.putPartial(jobId, 3, 1, pattern(48, 32));
        await store.discardPartial(jobId, 3, 7); // nothing stored there: no error

        // Assess
        expect(missing).toBeInstanceOf(PartialMissingError);
        expect(missing).toMatchObject({ jobId, round: 3, shard: 1 });
        expect(rewrote).toBe(true);
        expectAllBytes(await store.getPartials(jobId, 3, 2), [pattern(64, 30), pattern(48, 32)]);
        expect(await store.arrivals(jobId, 3, 2)).toEqual([1]);
      }));

    it('clears an aggregated round: its partials (chunked too) and barrier go, the model, metrics and other rounds stay', () =>
      withStore(open, async (store) => {
        // Prepare: round 4 has a small and a 500 KB partial (chunked on DynamoDB) and both arrivals; round 5 one partial.
        const jobId = uniqueJobId();
        await store.putModel(jobId, 4, pattern(32, 40));
        await store.putModelView(jobId, 4, pattern(16, 45));
        await store.putPartial(jobId, 4, 0, pattern(64, 41));
        await store.putPartial(jobId, 4, 1, pattern(500 * 1024, 42));
        await store.arrive(jobId, 4, 0, 2);
        await store.arrive(jobId, 4, 1, 2);
        await store.putPartial(jobId, 5, 0, pattern(64, 43));
        await store.arrive(jobId, 5, 0, 1);
        await store.putRoundMetrics(jobId, makeMetrics(4));

        // Act
        await store.clearRound(jobId, 4, 2);
        await store.clearRound(jobId, 4, 2); // again: nothing left, no error

        // Assess
        await expect(store.getPartials(jobId, 4, 1)).rejects.toBeInstanceOf(PartialMissingError);
        await expect(store.getPartials(jobId, 4, 2)).rejects.toMatchObject({ shard: 0 });
        expect(await store.arrivals(jobId, 4, 2)).toEqual([]);
        // Nothing of round 4 is left to make a write look like a duplicate.
        expect(await store.putPartial(jobId, 4, 1, pattern(16, 44))).toBe(true);
        expect(await store.arrive(jobId, 4, 1, 2)).toEqual({ added: true, count: 1, groupFilled: true });
        expectBytes(await store.getModel(jobId, 4), pattern(32, 40), 'model of round 4');
        expectBytes(await store.getModelView(jobId, 4), pattern(16, 45), 'view of round 4');
        expectAllBytes(await store.getPartials(jobId, 5, 1), [pattern(64, 43)]);
        expect(await store.arrivals(jobId, 5, 1)).toEqual([0]);
        expect((await store.listRoundMetrics(jobId)).map((m) => m.round)).toEqual([4]);
      }));

    it('round-trips a 900 KB partial intact and refuses its duplicate', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        const partial = pattern(900 * 1024, 20);

        // Act
        const wrote = await store.putPartial(jobId, 2, 0, partial);
        const wroteAgain = await store.putPartial(jobId, 2, 0, pattern(900 * 1024, 21));
        const [stored] = await store.getPartials(jobId, 2, 1);

        // Assess
        expect(wrote).toBe(true);
        expect(wroteAgain).toBe(false);
        expectBytes(stored, partial);
      }));

    it('returns partials in shard order and names the first missing shard', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        const sizes = [10, 500 * 1024, 0, 33];
        // Written out of order, so an adapter returning write order would fail.
        for (const shard of [3, 1, 0, 2]) await store.putPartial(jobId, 1, shard, pattern(sizes[shard]!, 100 + shard));
        await store.putPartial(jobId, 4, 0, pattern(8, 1));
        await store.putPartial(jobId, 4, 2, pattern(8, 2));

        // Act
        const partials = await store.getPartials(jobId, 1, 4);
        const none = await store.getPartials(jobId, 1, 0);
        const gap = store.getPartials(jobId, 4, 3);
        const gapError = await gap.catch((err: unknown) => err);

        // Assess
        expectAllBytes(partials, sizes.map((size, shard) => pattern(size, 100 + shard)));
        expect(none).toEqual([]);
        expect(gapError).toBeInstanceOf(MissingStateError);
        expect(gapError).toMatchObject({ code: 'E_MISSING_STATE' });
        expect((gapError as Error).message).toMatch(/shard 1\b/);
        await expect(store.getPartials(jobId, 9, 2)).rejects.toThrow(/shard 0\b/);
      }));

    it('counts each of 16 concurrent shards once at the barrier, whatever the duplicates', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        const round = 5;
        const shards = Array.from({ length: 16 }, (_, i) => i);
        // Each shard twice, the duplicate interleaved with other shards' first arrivals.
        const calls = [...shards, ...shards.slice().reverse()];

        // Act
        const results = await Promise.all(calls.map((shard) => store.arrive(jobId, round, shard, 16).then((r) => ({ shard, ...r }))));
        const arrived = await store.arrivals(jobId, round, 16);
        const repeat = await store.arrive(jobId, round, 7, 16);

        // Assess
        const added = results.filter((r) => r.added);
        expect(added.map((r) => r.shard).sort((a, b) => a - b)).toEqual(shards);
        expect(results.filter((r) => r.added && r.count === 16)).toHaveLength(1);
        expect(results.filter((r) => !r.added)).toHaveLength(16);
        // Counts may be lower bounds (a spread barrier), but only a filling arrival or a repeat
        // after it sees 16.
        for (const r of results) expect(r.count).toBeGreaterThanOrEqual(1);
        for (const r of results) expect(r.count).toBeLessThanOrEqual(16);
        expect(arrived).toEqual(shards);
        expect(repeat).toEqual({ added: false, count: 16, groupFilled: true });
        expect(await store.arrivals(jobId, round + 1, 16)).toEqual([]);
      }));

    it('tells exactly one first arrival per barrier group that it filled the group, and repeats after that', () =>
      withStore(open, async (store) => {
        // Prepare: W = 10 → 4 groups (shard mod 4): {0,4,8} {1,5,9} {2,6} {3,7}; every shard twice, at once.
        const jobId = uniqueJobId();
        const W = 10;
        const shards = Array.from({ length: W }, (_, i) => i);
        const calls = [...shards, ...shards.slice().reverse()];

        // Act
        const results = await Promise.all(calls.map((shard) => store.arrive(jobId, 2, shard, W).then((r) => ({ shard, ...r }))));
        const repeats = await Promise.all(shards.map((shard) => store.arrive(jobId, 2, shard, W)));

        // Assess
        const fillers = results.filter((r) => r.added && r.groupFilled).map((r) => r.shard % 4);
        expect(fillers.sort()).toEqual([0, 1, 2, 3]);
        expect(repeats.every((r) => r.groupFilled && !r.added)).toBe(true);
        const lone = await store.arrive(uniqueJobId(), 0, 5, W);
        expect(lone).toMatchObject({ added: true, groupFilled: false });
      }));

    it('stores a group partial once (chunked too), reads group partials in group order, discards and clears them', () =>
      withStore(open, async (store) => {
        // Prepare: a 4-shard round (2 groups); group 1 holds a 500 KB partial (chunked on DynamoDB).
        const jobId = uniqueJobId();
        for (const shard of [0, 1, 2, 3]) await store.putPartial(jobId, 6, shard, pattern(32, 60 + shard));

        // Act
        const none = await store.getGroupPartials(jobId, 6, 2);
        const wrote = await store.putGroupPartial(jobId, 6, 1, pattern(500 * 1024, 70));
        const again = await store.putGroupPartial(jobId, 6, 1, pattern(500 * 1024, 71));
        const some = await store.getGroupPartials(jobId, 6, 2);
        const members = await store.getPartials(jobId, 6, 4, [3, 1]);
        await store.discardGroupPartial(jobId, 6, 1);
        const rewrote = await store.putGroupPartial(jobId, 6, 1, pattern(40, 72));
        await store.putGroupPartial(jobId, 6, 0, pattern(40, 73));
        const both = await store.getGroupPartials(jobId, 6, 2);
        await store.clearRound(jobId, 6, 4);
        const cleared = await store.getGroupPartials(jobId, 6, 2);

        // Assess
        expect(none).toEqual([undefined, undefined]);
        expect(wrote).toBe(true);
        expect(again).toBe(false);
        expect(some[0]).toBeUndefined();
        expectBytes(some[1], pattern(500 * 1024, 70), 'group 1');
        expectAllBytes(members, [pattern(32, 63), pattern(32, 61)]);
        expect(rewrote).toBe(true);
        expectAllBytes(both as Uint8Array[], [pattern(40, 73), pattern(40, 72)]);
        expect(cleared).toEqual([undefined, undefined]);
        await expect(store.getPartials(jobId, 6, 4, [2])).rejects.toMatchObject({ shard: 2 });
      }));

    it('keeps two jobs with the same rounds and shards apart', () =>
      withStore(open, async (store) => {
        // Prepare
        const a = uniqueJobId('a');
        const b = uniqueJobId('b');
        await store.createJob(makeJob(a));
        await store.createJob(makeJob(b, { shards: 2 }));

        // Act
        await store.putPartial(a, 0, 0, pattern(16, 1));
        await store.putPartial(a, 0, 1, pattern(16, 2));
        const bWrote = await store.putPartial(b, 0, 0, pattern(16, 3));
        await store.arrive(a, 0, 0, 2);
        await store.arrive(a, 0, 1, 2);
        const bArrival = await store.arrive(b, 0, 1, 2);
        await store.putModel(a, 0, pattern(64, 4));
        await store.putModelView(a, 0, pattern(8, 5));
        await store.putRoundMetrics(a, makeMetrics(0));
        await store.updateJob(a, { round: 0, status: 'RUNNING' }, { round: 1 });

        // Assess
        expect(bWrote).toBe(true);
        expect(bArrival).toEqual({ added: true, count: 1, groupFilled: true });
        expectAllBytes(await store.getPartials(a, 0, 2), [pattern(16, 1), pattern(16, 2)]);
        expectAllBytes(await store.getPartials(b, 0, 1), [pattern(16, 3)]);
        await expect(store.getPartials(b, 0, 2)).rejects.toMatchObject({ code: 'E_MISSING_STATE' });
        expect(await store.arrivals(a, 0, 2)).toEqual([0, 1]);
        expect(await store.arrivals(b, 0, 2)).toEqual([1]);
        expect(await store.getModel(b, 0)).toBeUndefined();
        expect(await store.getModelView(b, 0)).toBeUndefined();
        expect(await store.listRoundMetrics(b)).toEqual([]);
        expect(await store.getJob(b)).toMatchObject({ round: 0, shards: 2 });
        expect(await store.getJob(a)).toMatchObject({ round: 1, shards: 4 });
      }));

    it('lists round metrics in round order, the latest write of a round winning', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        // 10 after 2 and 9: a store sorting rounds as text would put 10 first.
        const rounds = [2, 0, 10, 1, 9];

        // Act
        for (const round of rounds) await store.putRoundMetrics(jobId, makeMetrics(round));
        await store.putRoundMetrics(jobId, makeMetrics(9, { converged: true, stats: { shift: 0 } }));
        const listed = await store.listRoundMetrics(jobId);

        // Assess
        expect(listed.map((m) => m.round)).toEqual([0, 1, 2, 9, 10]);
        expect(listed[0]).toEqual(makeMetrics(0));
        expect(listed[3]).toEqual(makeMetrics(9, { converged: true, stats: { shift: 0 } }));
      }));

    it('lingering workers: a claim made before the hand-over is returned by it; after it, claims and releases are refused', () =>
      withStore(open, async (store) => {
        // Prepare: 10 shards (4 claim groups); shards 1, 5 and 6 claim round 3, shard 6 twice (a duplicate worker).
        const jobId = uniqueJobId();
        const answers = await Promise.all([store.claim(jobId, 3, 1, 10, 5000), store.claim(jobId, 3, 5, 10, 6000), store.claim(jobId, 3, 6, 10, 7000), store.claim(jobId, 3, 6, 10, 7001)]);
        const released = await store.release(jobId, 3, 5, 10, 6000);
        const waiting = await store.handedOver(jobId, 3, 1, 10);

        // Act
        const handed = await store.handOver(jobId, 3, 10);
        const again = await store.handOver(jobId, 3, 10);
        const late = await store.claim(jobId, 3, 2, 10, 8000);
        const tooLate = await store.release(jobId, 3, 1, 10, 5000);

        // Assess
        expect(answers).toEqual(['claimed', 'claimed', 'claimed', 'claimed']);
        expect(released).toBe('released');
        expect(waiting).toEqual({ signal: 'waiting' });
        expect(handed).toEqual([{ shard: 1, until: 5000 }, { shard: 6, until: 7000 }, { shard: 6, until: 7001 }]);
        expect(again).toEqual(handed);
        expect(late).toBe('handed');
        expect(tooLate).toBe('handed');
        for (const shard of [0, 1, 2, 3, 9]) expect(await store.handedOver(jobId, 3, shard, 10)).toEqual({ signal: 'handed' });
        // Other rounds and jobs are untouched.
        expect(await store.claim(jobId, 4, 1, 10, 5000)).toBe('claimed');
        expect(await store.claim(uniqueJobId('other'), 3, 1, 10, 5000)).toBe('claimed');
      }));

    it('lingering workers: a job that ended hands over with "ended"; a cleared round is gone and its release harmless', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        await store.claim(jobId, 8, 0, 4, 9000);
        await store.claim(jobId, 2, 3, 4, 9000);

        // Act
        const claims = await store.handOver(jobId, 8, 4, true);
        const after = await store.claim(jobId, 8, 1, 4, 9000);
        const signal = await store.handedOver(jobId, 8, 0, 4);
        const release = await store.release(jobId, 8, 0, 4, 9000);
        await store.clearRound(jobId, 2, 4);
        const gone = await store.handedOver(jobId, 2, 3, 4);
        const releaseGone = await store.release(jobId, 2, 3, 4, 9000);

        // Assess
        expect(claims).toEqual([{ shard: 0, until: 9000 }]);
        expect([after, signal.signal, release]).toEqual(['ended', 'ended', 'ended']);
        // A store may not tell a cleared group from a waiting one in one request (S3): the worker's
        // release then says 'released' and it stops, as it would on 'gone'.
        expect(['gone', 'waiting']).toContain(gone.signal);
        expect(releaseGone).toBe('released');
        // The release of a cleared round does not bring its claims back.
        expect(await store.handedOver(jobId, 2, 3, 4)).toEqual(gone);
        expect(await store.handOver(jobId, 2, 4)).toEqual([]);
      }));

    it('lingering workers: the hand-over carries the model to every group, first write wins, and a poll reads it with the mark', () =>
      withStore(open, async (store) => {
        // Prepare: 10 shards (4 claim groups); a model of 300 float64 (2,400 bytes, every byte value).
        const jobId = uniqueJobId();
        const model = new Uint8Array(2400).map((_, i) => (i * 37 + 11) % 256);
        await store.claim(jobId, 5, 7, 10, 9000);
        const before = await store.handedOver(jobId, 5, 7, 10);

        // Act: a repeat hand-over with other bytes keeps the first.
        const claims = await store.handOver(jobId, 5, 10, false, model);
        const repeat = await store.handOver(jobId, 5, 10, false, new Uint8Array(2400).fill(1));
        const polls = await Promise.all([0, 1, 2, 3, 7, 9].map((shard) => store.handedOver(jobId, 5, shard, 10)));
        const bare = await store.handOver(jobId, 6, 10);
        const withoutModel = await store.handedOver(jobId, 6, 7, 10);
        await store.clearRound(jobId, 5, 10);
        const cleared = await store.handedOver(jobId, 5, 7, 10);

        // Assess
        expect(before).toEqual({ signal: 'waiting' });
        expect(claims).toEqual([{ shard: 7, until: 9000 }]);
        expect(repeat).toEqual(claims);
        for (const poll of polls) {
          expect(poll.signal).toBe('handed');
          expect(Array.from(poll.model ?? [])).toEqual(Array.from(model));
        }
        expect(bare).toEqual([]);
        expect(withoutModel).toEqual({ signal: 'handed' });
        expect(cleared.model).toBeUndefined();
        expect(['gone', 'waiting']).toContain(cleared.signal);
      }));

    it('lingering workers: of 25 claims racing one hand-over, every one told "claimed" is returned by it, and only those or ones told "handed"', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        const shards = Array.from({ length: 25 }, (_, i) => i);

        // Act: the hand-over starts after about half of the claims.
        const first = shards.slice(0, 12).map((shard) => store.claim(jobId, 1, shard, 25, 1000 + shard));
        const handing = store.handOver(jobId, 1, 25);
        const rest = shards.slice(12).map((shard) => store.claim(jobId, 1, shard, 25, 1000 + shard));
        const answers = await Promise.all([...first, ...rest]);
        const handed = await handing;
        const repeat = await store.handOver(jobId, 1, 25);

        // Assess: a claim told 'claimed' is counted on (its worker computes only if handed over); one
        // told 'handed' computes anyway, so whether the hand-over returns it changes nothing.
        const claimed = shards.filter((shard) => answers[shard] === 'claimed');
        const returned = handed.map((c) => c.shard);
        for (const shard of claimed) expect(returned).toContain(shard);
        for (const shard of returned) expect(answers[shard]).toMatch(/^(claimed|handed)$/);
        expect(handed.every((c) => c.until === 1000 + c.shard)).toBe(true);
        expect(answers.filter((a) => a !== 'claimed').every((a) => a === 'handed')).toBe(true);
        for (const shard of claimed) expect(repeat.map((c) => c.shard)).toContain(shard);
      }));

    it('keeps non-finite numbers in round metrics', () =>
      withStore(open, async (store) => {
        // Prepare
        const jobId = uniqueJobId();
        const diverged = makeMetrics(0, { objective: Number.NaN, stats: { gradNorm: Number.POSITIVE_INFINITY, shift: Number.NEGATIVE_INFINITY } });

        // Act
        await store.putRoundMetrics(jobId, diverged);
        const [listed] = await store.listRoundMetrics(jobId);

        // Assess
        expect(listed).toEqual(diverged);
      }));
  });
}
