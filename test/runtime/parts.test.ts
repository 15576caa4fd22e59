import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { BspmlError } from '../../src/errors.js';
import { decodeModel } from '../../src/protocol/codec.js';
import type { KmeansResult, LogregResult } from '../../src/domain/results.js';
import type { RoundTask } from '../../src/domain/job.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs, separable } from '../helpers/data.js';
import { MemoryPartsSource, splitIntoParts } from '../helpers/parts.js';
import { assignAll, maxRelativeError } from '../helpers/reference.js';

/*
 * The preparation round on a data set of several parts (in memory, apart from any file format):
 * whatever W and I, the initial model is the same (its sample is keyed by part and position, not
 * by shard), the trained model is that of the same rows in one part, and a bad value in one part
 * fails the job with one line naming that part, its line and its column.
 */

const LAYOUTS = [
  { workers: 1, threads: 1 },
  { workers: 3, threads: 2 },
  { workers: 8, threads: 1 },
];
// A part smaller than a shard, an empty part, parts of unequal size.
const SIZES = [700, 5, 0, 900, 795];
const KMEANS_DATA = blobs(
  [
    [0, 0, 0],
    [9, 9, 2],
    [-9, 9, -2],
    [9, -9, 4],
  ],
  600,
  1.5,
  13,
);
const LOGREG_DATA = (() => {
  const base = separable(2400, 3, 29);
  const labels = Float32Array.from(base.labels!);
  for (let i = 0; i < base.rows; i += 41) labels[i] = 1 - labels[i]!;
  return { ...base, labels };
})();
const KMEANS = { algorithm: 'kmeans', k: 4, seed: 5, initSample: 300, maxRounds: 30, tol: 0 } as const;
// Gradient descent: its rounds are the same whatever the solver defaults become.
const LOGREG = { algorithm: 'logreg', solver: 'gd', lr: 0.5, l2: 0.01, maxRounds: 12, tol: 0 } as const;

describe('a data set of several parts', () => {
  let store: MemoryStore;
  let runtime: LocalRuntime;
  let source: MemoryPartsSource;
  let single: LocalRuntime;

  beforeAll(() => {
    store = new MemoryStore();
    source = new MemoryPartsSource().add('kmeans-parts', splitIntoParts(KMEANS_DATA, SIZES)).add('logreg-parts', splitIntoParts(LOGREG_DATA, SIZES));
    const bad = splitIntoParts(KMEANS_DATA, SIZES);
    // Row 500 of part 3: read from the part's start with 1 worker, from mid-part with 3 or 8.
    bad[3]!.bad = { row: 500, field: 'x1', detail: '"abc" is not a number' };
    // A second bad value, later in the same part, read by another shard when W > 1: the first is reported.
    bad[4]!.bad = { row: 2, field: 'x0', detail: '"" is not a number' };
    source.add('bad-parts', bad);
    runtime = new LocalRuntime({ store, datasets: source, defaultThreads: 1 });
    const whole = new MemoryDatasetSource().add('kmeans-one', KMEANS_DATA).add('logreg-one', LOGREG_DATA);
    single = new LocalRuntime({ store: new MemoryStore(), datasets: whole, defaultThreads: 1 });
  });

  afterAll(async () => {
    await runtime?.close();
    await single?.close();
  });

  const oneFile = (() => {
    const cache = new Map<string, Promise<Awaited<ReturnType<LocalRuntime['train']>>>>();
    return (spec: object, uri: string) => {
      if (!cache.has(uri)) cache.set(uri, single.train({ ...spec, workers: 1, threads: 1, data: { uri } }));
      return cache.get(uri)!;
    };
  })();

  let firstInit: number[] | undefined;

  it.each(LAYOUTS)('k-means with $workers worker(s) × $threads thread(s): the same init whatever W, the same clusters as one file', async ({ workers, threads }) => {
    // Prepare
    const reference = (await oneFile(KMEANS, 'kmeans-one')).result as KmeansResult;
    source.calls.length = 0;

    // Act
    const out = await runtime.train({ ...KMEANS, workers, threads, data: { uri: 'kmeans-parts' } });

    // Assess: the start step read no rows; the preparation round loaded every shard (a training
    // round may load one again where its warm container was busy, as on Lambda).
    expect(source.calls[0]).toBe('describe kmeans-parts');
    expect(source.calls.filter((c) => c.startsWith('describe'))).toHaveLength(1);
    expect(new Set(source.calls.slice(1, workers + 1))).toEqual(new Set(Array.from({ length: workers }, (_, s) => `shard ${s} of ${workers}`)));
    expect(out.prepare).toMatchObject({ round: 0, phase: 'prepare', workers, cacheHits: 0 });
    expect(out.prepare?.stats).toMatchObject({ rows: KMEANS_DATA.rows, sampleRows: KMEANS.initSample, emptyShards: 0 });
    // The initial model (round 1's) is bit-identical for every W and I.
    const init = Array.from(decodeModel((await store.getModel(out.job.jobId, 1))!));
    firstInit ??= init;
    expect(init).toEqual(firstInit);
    // Another init than the single file's (the sample is keyed by part), but the same clusters:
    // identical assignments up to the clusters' order, centroids equal to float rounding.
    const result = out.result as KmeansResult;
    const ours = assignAll(KMEANS_DATA, result.centroids.flat(), KMEANS.k);
    const theirs = assignAll(KMEANS_DATA, reference.centroids.flat(), KMEANS.k);
    const relabel = new Map<number, number>();
    for (let i = 0; i < KMEANS_DATA.rows; i++) {
      if (!relabel.has(ours[i]!)) relabel.set(ours[i]!, theirs[i]!);
      expect(relabel.get(ours[i]!), `row ${i}`).toBe(theirs[i]);
    }
    expect(new Set(relabel.values()).size).toBe(KMEANS.k);
    for (const [c, r] of relabel) {
      expect(maxRelativeError(result.centroids[c]!, reference.centroids[r]!, 1e-3)).toBeLessThanOrEqual(1e-9);
      expect(result.counts[c]).toBe(reference.counts[r]);
    }
  }, 20_000);

  it.each(LAYOUTS)('logistic regression with $workers worker(s) × $threads thread(s) equals one file', async ({ workers, threads }) => {
    // Prepare
    const reference = (await oneFile(LOGREG, 'logreg-one')).result as LogregResult;

    // Act
    const out = await runtime.train({ ...LOGREG, workers, threads, data: { uri: 'logreg-parts' } });

    // Assess
    const result = out.result as LogregResult;
    expect(result.rounds).toBe(reference.rounds);
    expect(maxRelativeError(result.weights, reference.weights, 1e-3)).toBeLessThanOrEqual(1e-9);
    expect(maxRelativeError([result.bias, result.loss], [reference.bias, reference.loss], 1e-3)).toBeLessThanOrEqual(1e-9);
  }, 20_000);

  it.each([1, 3, 8])('a bad field in part 3, with %i worker(s): FAILED with one line naming the part, its line and the column; no training round', async (workers) => {
    // Prepare
    const jobId = `bad-parts-${workers}`;
    const published: RoundTask[] = [];
    const spy = new LocalRuntime({
      store,
      datasets: source,
      defaultThreads: 1,
      delivery: {
        drop: (channel, message) => {
          if (channel === 'worker') published.push(message as RoundTask);
          return false;
        },
      },
    });

    // Act
    const error = await spy.train({ ...KMEANS, workers, data: { uri: 'bad-parts' } }, { jobId }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await spy.close();

    // Assess: row 500 of part 3 is line 502 of part-00003.csv (a header, then 1-based lines).
    const reason = 'part-00003.csv: row 502, field "x1": "abc" is not a number';
    expect(error).toBeInstanceOf(BspmlError);
    expect(error).toMatchObject({ code: 'E_DATA', message: reason });
    expect(await store.getJob(jobId)).toMatchObject({ status: 'FAILED', error: reason, round: 0 });
    expect(published.length).toBe(workers);
    expect(published.every((t) => t.round === 0)).toBe(true);
    expect(await store.getModel(jobId, 1)).toBeUndefined();
  });
});
