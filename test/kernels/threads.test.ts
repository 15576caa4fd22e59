import { afterEach, describe, expect, it } from 'vitest';
import { kmeans, logreg } from '../../src/algorithms/index.js';
import type { Shape } from '../../src/algorithms/types.js';
import { sliceShard, type TrainingData } from '../../src/data/types.js';
import { ThreadPool } from '../../src/inner/ThreadPool.js';
import { blobs, separable } from '../helpers/data.js';

/*
 * The inner threads on the WebAssembly kernels (the default) and on the TypeScript fallback
 * (BSPML_KERNELS=js when the pool starts): same partials, rows read in place either way.
 */

const KMEANS_DATA = blobs(
  [
    [0, 0, 0, 0, 0],
    [5, 5, 0, 1, 2],
    [-5, 5, 1, 0, -2],
  ],
  367,
  2,
  17,
);
const KMEANS_SHAPE: Shape = { algorithm: 'kmeans', dims: 5, k: 7 };
const KMEANS_MODEL = Float64Array.from(KMEANS_DATA.features.subarray(0, 35));

const LOGREG_DATA: TrainingData = separable(999, 6, 8);
const LOGREG_SHAPE: Shape = { algorithm: 'logreg', dims: 6, k: 1 };
/** Weights, bias, then column means (0) and std devs (1). */
const LOGREG_MODEL = Float64Array.from([0.3, -0.2, 0.1, 0.5, -0.4, 0.2, 0.05, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);

async function partials(threads: number) {
  const pool = new ThreadPool(threads);
  try {
    pool.addShard('k', sliceShard(KMEANS_DATA, 0, 1));
    pool.addShard('l', sliceShard(LOGREG_DATA, 0, 1));
    const km = await pool.partial('k', KMEANS_DATA.rows, KMEANS_SHAPE, KMEANS_MODEL);
    const lr = await pool.partial('l', LOGREG_DATA.rows, LOGREG_SHAPE, LOGREG_MODEL);
    return { km, lr, kernels: pool.kernels, placedBytes: pool.placedBytes, traffic: { ...pool.traffic } };
  } finally {
    await pool.close();
  }
}

describe('inner threads on WebAssembly and TypeScript kernels', () => {
  const saved = process.env.BSPML_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.BSPML_KERNELS;
    else process.env.BSPML_KERNELS = saved;
  });

  it('compute the same partials; only the WebAssembly pool copies the rows, once, into its memory', async () => {
    // Prepare
    delete process.env.BSPML_KERNELS;
    const wasm = await partials(2);
    process.env.BSPML_KERNELS = 'js';

    // Act
    const js = await partials(2);

    // Assess: k-means bit for bit; the gradient to float64 rounding
    expect([wasm.kernels, wasm.km.kernels, wasm.lr.kernels]).toEqual(['wasm', 'wasm', 'wasm']);
    expect([js.kernels, js.km.kernels, js.lr.kernels]).toEqual(['js', 'js', 'js']);
    expect(Array.from(wasm.km.partial)).toEqual(Array.from(js.km.partial));
    const expectedKmeans = new Float64Array(kmeans.partialLength(KMEANS_SHAPE));
    kmeans.partial(KMEANS_SHAPE, KMEANS_MODEL, { features: KMEANS_DATA.features, dims: 5, start: 0, end: KMEANS_DATA.rows }, expectedKmeans);
    expect(Array.from(wasm.km.partial.subarray(35, 42))).toEqual(Array.from(expectedKmeans.subarray(35, 42)));
    const expectedLogreg = new Float64Array(logreg.partialLength(LOGREG_SHAPE));
    logreg.partial(LOGREG_SHAPE, LOGREG_MODEL, { features: LOGREG_DATA.features, labels: LOGREG_DATA.labels, dims: 6, start: 0, end: LOGREG_DATA.rows }, expectedLogreg);
    for (let i = 0; i < expectedLogreg.length; i++) {
      expect(Math.abs(wasm.lr.partial[i]! - expectedLogreg[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expectedLogreg[i]!)));
    }
    expect(wasm.lr.partial[9]).toBe(999);
    expect(wasm.placedBytes).toBe(KMEANS_DATA.rows * 5 * 4 + LOGREG_DATA.rows * 7 * 4);
    expect(js.placedBytes).toBe(0);
    expect(wasm.traffic).toEqual(js.traffic);
  });

  it('keep reading a shard after the shared memory has grown for later shards', async () => {
    // Prepare: the first shard's views predate the growth the second shard and the scratch cause
    delete process.env.BSPML_KERNELS;
    const pool = new ThreadPool(2);
    try {
      pool.addShard('first', sliceShard(KMEANS_DATA, 0, 1));
      const before = await pool.partial('first', KMEANS_DATA.rows, KMEANS_SHAPE, KMEANS_MODEL);
      pool.addShard('second', sliceShard(LOGREG_DATA, 0, 1));
      await pool.partial('second', LOGREG_DATA.rows, LOGREG_SHAPE, LOGREG_MODEL);
      pool.dropShard('second');
      pool.addShard('third', sliceShard(KMEANS_DATA, 0, 1));

      // Act
      const after = await pool.partial('first', KMEANS_DATA.rows, KMEANS_SHAPE, KMEANS_MODEL);
      const third = await pool.partial('third', KMEANS_DATA.rows, KMEANS_SHAPE, KMEANS_MODEL);

      // Assess
      expect(after.kernels).toBe('wasm');
      expect(Array.from(after.partial)).toEqual(Array.from(before.partial));
      expect(Array.from(third.partial)).toEqual(Array.from(before.partial));
    } finally {
      await pool.close();
    }
  });
});
