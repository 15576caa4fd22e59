import { afterEach, describe, expect, it } from 'vitest';
import { kmeans } from '../../src/algorithms/index.js';
import { summarizeData } from '../../src/data/summary.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { TrainingData } from '../../src/data/types.js';
import { parseJobSpec, type KmeansSpec } from '../../src/domain/spec.js';
import type { KmeansResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { Rng } from '../../src/util/random.js';
import { blobs } from '../helpers/data.js';

function table(rows: number[][]): TrainingData {
  const dims = rows[0]!.length;
  return {
    source: 'inline',
    rows: rows.length,
    dims,
    features: Float32Array.from(rows.flat()),
    featureNames: Array.from({ length: dims }, (_, j) => `x${j}`),
  };
}

function spec(k: number, overrides: Record<string, unknown> = {}): KmeansSpec {
  return parseJobSpec({ algorithm: 'kmeans', k, data: { uri: 'inline' }, ...overrides }) as KmeansSpec;
}

/** The centroids as a list of row tuples, for set-like comparisons. */
function rowsOf(model: Float64Array, dims: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < model.length; i += dims) out.push(Array.from(model.subarray(i, i + dims)));
  return out;
}

/** The k-means partial of rows [start, end) of `data` under `model`. */
function partialOf(data: TrainingData, k: number, model: Float64Array, start = 0, end = data.rows): Float64Array {
  const shape = kmeans.shape(spec(k), data);
  const out = new Float64Array(kmeans.partialLength(shape));
  kmeans.partial(shape, model, { features: data.features, dims: data.dims, start, end }, out);
  return out;
}

/** k-means++ as a job starts it: on the bottom-k sample of the data's summary. */
function kmeansPlusPlus(data: TrainingData, k: number, seed: number, initSample: number): Float64Array {
  return kmeans.init(spec(k, { seed, initSample }), summarizeData(data, { seed, sampleSize: initSample }));
}

const sortRows = (rows: number[][]) => [...rows].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);

describe('k-means++ initialisation', () => {
  const data = blobs([[0, 0], [5, 5], [-5, 5], [5, -5], [-5, -5]], 100, 1, 21);

  it('is deterministic for a seed, and the seed matters', () => {
    // Prepare / Act
    const a = kmeansPlusPlus(data, 5, 17, 300);
    const b = kmeansPlusPlus(data, 5, 17, 300);
    const c = kmeansPlusPlus(data, 5, 18, 300);

    // Assess
    expect(a).toHaveLength(5 * 2);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('picks k centroids that are rows of the data', () => {
    // Prepare
    const rows = new Set<string>();
    for (let i = 0; i < data.rows; i++) rows.add(`${data.features[2 * i]},${data.features[2 * i + 1]}`);

    // Act
    const centroids = rowsOf(kmeansPlusPlus(data, 5, 3, 100_000), 2);

    // Assess
    for (const c of centroids) expect(rows.has(`${c[0]},${c[1]}`), `centroid ${c} is a row`).toBe(true);
  });

  it('picks all k distinct points when the data holds exactly k distinct points, whatever the seed', () => {
    // Prepare: 6 points, each repeated 15 times, interleaved.
    const points = [[1, 1], [2, 7], [-3, 4], [8, -2], [0.5, 0.25], [-6, -6]];
    const data = table(Array.from({ length: 90 }, (_, i) => points[i % points.length]!));

    for (let seed = 0; seed < 20; seed++) {
      // Act
      const centroids = rowsOf(kmeansPlusPlus(data, points.length, seed, 100_000), 2);

      // Assess
      expect(sortRows(centroids), `seed ${seed}`).toEqual(sortRows(points));
    }
  });

  it('gives finite centroids equal to the only point when all rows are equal', () => {
    // Prepare
    const data = table(Array.from({ length: 40 }, () => [2.5, -1.25, 7]));

    // Act
    const centroids = kmeansPlusPlus(data, 4, 9, 100_000);

    // Assess
    expect(centroids.every(Number.isFinite)).toBe(true);
    expect(rowsOf(centroids, 3)).toEqual(Array.from({ length: 4 }, () => [2.5, -1.25, 7]));
  });
});

describe('k-means update', () => {
  it('moves each non-empty cluster to the mean of its rows and keeps an empty cluster where it was', () => {
    // Prepare: centroid 1 is far from every row, so no row is assigned to it.
    const data = table([
      [0, 0],
      [2, 0],
      [10, 10],
      [12, 14],
      [11, 9],
    ]);
    const model = Float64Array.from([1, 1, 1000, -1000, 9, 9]);

    // Act
    const merged = partialOf(data, 3, model);
    const update = kmeans.update(spec(3, { tol: 0 }), kmeans.shape(spec(3), data), model, merged);

    // Assess
    expect(Array.from(merged.subarray(6, 9))).toEqual([2, 0, 3]);
    expect(Array.from(update.model)).toEqual([1, 0, 1000, -1000, 11, 11]);
    expect(update.stats.emptyClusters).toBe(1);
    expect(update.stats.shift).toBeCloseTo(Math.SQRT2 * 2, 12);
    expect(update.converged).toBe(false);
    // Inertia of the model that entered: (1+1) + (1+1) + (1+1) + (9+25) + (4+0) = 44.
    expect(update.objective).toBe(44);
  });

  it('reports convergence when no centroid moves more than tol', () => {
    // Prepare: the model already sits on the cluster means.
    const data = table([
      [0, 0],
      [2, 0],
      [10, 10],
      [12, 10],
    ]);
    const model = Float64Array.from([1, 0, 11, 10]);

    // Act
    const update = kmeans.update(spec(2, { tol: 0 }), kmeans.shape(spec(2), data), model, partialOf(data, 2, model));

    // Assess
    expect(update.converged).toBe(true);
    expect(update.stats.shift).toBe(0);
    expect(Array.from(update.model)).toEqual([1, 0, 11, 10]);
  });
});

describe('k-means partials and merge', () => {
  const K = 4;
  /** Values on a 1/8 grid: every sum is exact in float64, so any split must agree bit for bit. */
  function gridData(rows: number, seed: number): TrainingData {
    const rng = new Rng(seed);
    return table(Array.from({ length: rows }, () => [Math.round(rng.normal() * 40) / 8, Math.round(rng.normal() * 40) / 8, Math.round(rng.normal() * 40) / 8]));
  }
  const model = Float64Array.from([0, 0, 0, 3, 3, 3, -3, 3, -3, 3, -3, 0]);

  /** Random cut points 0 < c1 < ... < rows, and the partials of the blocks between them. */
  function splitPartials(data: TrainingData, parts: number, rng: Rng): Float64Array[] {
    const cuts = new Set<number>();
    while (cuts.size < parts - 1) cuts.add(1 + rng.int(data.rows - 1));
    const bounds = [0, ...[...cuts].sort((a, b) => a - b), data.rows];
    return bounds.slice(1).map((end, i) => partialOf(data, K, model, bounds[i]!, end));
  }

  function mergeAll(partials: Float64Array[], length: number): Float64Array {
    const into = new Float64Array(length);
    for (const p of partials) kmeans.merge(into, p);
    return into;
  }

  it('merge is associative: (a + b) + c equals a + (b + c)', () => {
    // Prepare
    const data = gridData(300, 1);
    const [a, b, c] = splitPartials(data, 3, new Rng(2));

    // Act
    const left = new Float64Array(a!);
    kmeans.merge(left, b!);
    kmeans.merge(left, c!);
    const bc = new Float64Array(b!);
    kmeans.merge(bc, c!);
    const right = new Float64Array(a!);
    kmeans.merge(right, bc);

    // Assess
    expect(Array.from(left)).toEqual(Array.from(right));
    expect(Array.from(left)).toEqual(Array.from(partialOf(data, K, model)));
  });

  it('merge rejects partials of different lengths', () => {
    // Prepare / Act / Assess
    expect(() => kmeans.merge(new Float64Array(4), new Float64Array(5))).toThrow(RangeError);
  });

  it('any split of the rows gives the same merged partial (exactly on exact data)', () => {
    // Prepare
    const data = gridData(257, 3);
    const whole = partialOf(data, K, model);
    const rng = new Rng(4);

    for (let parts = 2; parts <= 8; parts++) {
      // Act
      const merged = mergeAll(splitPartials(data, parts, rng), whole.length);

      // Assess
      expect(Array.from(merged), `${parts} parts`).toEqual(Array.from(whole));
    }
    expect(whole.subarray(K * 3, K * 3 + K).reduce((a, b) => a + b, 0)).toBe(257);
  });

  it('any split or reordering of general float rows gives exact counts and sums to rounding', () => {
    // Prepare: the same rows in a shuffled order, split unevenly.
    const data = blobs([[0, 0, 0], [3, 3, 3], [-3, 3, -3], [3, -3, 0]], 150, 1.7, 5);
    const whole = partialOf(data, K, model);
    const rng = new Rng(6);
    const order = Array.from({ length: data.rows }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const shuffled = table(order.map((i) => Array.from(data.features.subarray(i * 3, i * 3 + 3))));

    // Act
    const merged = mergeAll(splitPartials(shuffled, 5, rng), whole.length);

    // Assess
    expect(Array.from(merged.subarray(K * 3, K * 3 + K))).toEqual(Array.from(whole.subarray(K * 3, K * 3 + K)));
    for (let i = 0; i < whole.length; i++) {
      expect(Math.abs(merged[i]! - whole[i]!), `element ${i}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(whole[i]!)));
    }
  });
});

describe('k-means through the local runtime', () => {
  let runtime: LocalRuntime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  it('recovers every centre of well-separated blobs within 0.1', async () => {
    // Prepare
    const centres = [
      [0, 0],
      [10, 10],
      [-10, 10],
      [10, -10],
    ];
    const datasets = new MemoryDatasetSource().add('b', blobs(centres, 2500, 1, 7));
    runtime = new LocalRuntime({ store: new MemoryStore(), datasets, defaultThreads: 2 });

    // Act
    const out = await runtime.train({ algorithm: 'kmeans', k: 4, workers: 4, threads: 2, data: { uri: 'b' } });

    // Assess: each true centre has its own centroid within 0.1.
    const result = out.result as KmeansResult;
    expect(result.converged).toBe(true);
    const used = new Set<number>();
    for (const centre of centres) {
      const distances = result.centroids.map((c) => Math.hypot(c[0]! - centre[0]!, c[1]! - centre[1]!));
      const nearest = distances.indexOf(Math.min(...distances));
      expect(distances[nearest], `centre ${centre}`).toBeLessThan(0.1);
      used.add(nearest);
    }
    expect(used.size).toBe(4);
    expect(result.counts).toEqual([2500, 2500, 2500, 2500]);
  }, 15_000);
});
