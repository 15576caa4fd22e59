import { afterEach, describe, expect, it } from 'vitest';
import { kmeans, logreg } from '../../src/algorithms/index.js';
import type { Shape } from '../../src/algorithms/types.js';
import { sliceShard } from '../../src/data/types.js';
import { ThreadPool } from '../../src/inner/ThreadPool.js';
import { blobs } from '../helpers/data.js';

const centers = [
  [0, 0, 0],
  [8, 8, 8],
  [-8, 8, 0],
];

describe('ThreadPool', () => {
  let pool: ThreadPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('computes the same k-means partial as one sequential pass, whatever the thread count', async () => {
    // Prepare
    const data = blobs(centers, 400, 1.5, 3);
    const shard = sliceShard(data, 0, 1);
    const shape: Shape = { algorithm: 'kmeans', dims: 3, k: 3 };
    const model = new Float64Array(centers.flat());
    const expected = new Float64Array(kmeans.partialLength(shape));
    kmeans.partial(shape, model, { features: data.features, dims: 3, start: 0, end: data.rows }, expected);

    for (const threads of [1, 2, 3]) {
      pool = new ThreadPool(threads);
      pool.addShard('s', shard);

      // Act
      const { partial } = await pool.partial('s', shard.rows, shape, model);

      // Assess: counts exactly, sums to rounding
      const k = 3;
      const dims = 3;
      expect(Array.from(partial.subarray(k * dims, k * dims + k))).toEqual(Array.from(expected.subarray(k * dims, k * dims + k)));
      for (let i = 0; i < k * dims; i++) expect(partial[i]).toBeCloseTo(expected[i]!, 6);
      await pool.close();
      pool = undefined;
    }
  });

  it('moves only the model to the threads and partials back: traffic does not grow with rows', async () => {
    // Prepare
    const shape: Shape = { algorithm: 'kmeans', dims: 3, k: 3 };
    const model = new Float64Array(centers.flat());
    const traffic: { toThreads: number; fromThreads: number }[] = [];
    for (const rowsPerCenter of [100, 5000]) {
      pool = new ThreadPool(2);
      const shard = sliceShard(blobs(centers, rowsPerCenter, 1, 1), 0, 1);
      pool.addShard('s', shard);

      // Act
      await pool.partial('s', shard.rows, shape, model);
      traffic.push({ ...pool.traffic });
      await pool.close();
      pool = undefined;
    }

    // Assess: 9 model values written once into the threads' shared buffer, 2 threads × 13 partial values back (× 8 bytes), at 300 and 15,000 rows
    expect(traffic[0]).toEqual({ toThreads: 9 * 8, fromThreads: 2 * 13 * 8 });
    expect(traffic[1]).toEqual(traffic[0]);
  });

  it('sends a multinomial L-BFGS model once per round, the weights\' size alone, whatever its history or thread count', async () => {
    // Prepare: 4 classes × (3 dims + 1); the model also holds the means, the standardised point, the direction and 20 L-BFGS pairs
    const data = blobs(centers, 50, 1, 2);
    const labels = Float32Array.from({ length: data.rows }, (_, i) => i % 4);
    const shard = sliceShard({ ...data, labels }, 0, 1);
    const shape: Shape = { algorithm: 'logreg', dims: 3, k: 1, solver: 'lbfgs', classes: 4 };
    const model = new Float64Array(logreg.modelLength(shape)).fill(0.01);
    const weightBytes = 4 * (3 + 1) * 8;
    const sent: number[] = [];
    const partials: Float64Array[] = [];
    for (const threads of [1, 3]) {
      pool = new ThreadPool(threads);
      pool.addShard('s', shard);

      // Act: two rounds
      for (let round = 0; round < 2; round++) partials.push((await pool.partial('s', shard.rows, shape, model)).partial);
      sent.push(pool.traffic.toThreads / 2);
      await pool.close();
      pool = undefined;
    }

    // Assess: the weights alone, once per round (L-BFGS evaluates no trial points along the direction;
    // not the 40× larger model per thread), and the same partial as one pass
    const expected = new Float64Array(logreg.partialLength(shape));
    logreg.partial(shape, model, { features: shard.features, labels: shard.labels, dims: 3, start: 0, end: shard.rows }, expected);
    expect(model.byteLength).toBeGreaterThan(40 * weightBytes);
    expect(sent).toEqual([weightBytes, weightBytes]);
    for (const partial of partials) for (let i = 0; i < expected.length; i++) expect(partial[i]).toBeCloseTo(expected[i]!, 9);
  });

  it('reuses its shared model buffer across calls: each call computes with its own model, whatever came before or runs beside it', async () => {
    // Prepare: multinomial GIANT, whose solve and evaluate rounds send different ranges of the
    // model, and two L-BFGS models; expected partials from fresh pools (a fresh buffer each)
    const data = blobs(centers, 40, 1, 2);
    const labels = Float32Array.from({ length: data.rows }, (_, i) => i % 4);
    const shard = sliceShard({ ...data, labels }, 0, 1);
    const giant: Shape = { algorithm: 'logreg', dims: 3, k: 1, solver: 'giant', classes: 4 };
    const lbfgs: Shape = { ...giant, solver: 'lbfgs' };
    const n = 4 * (3 + 1);
    const giantModel = (phase: number, value: number) => {
      const model = new Float64Array(logreg.modelLength(giant)).map((_, i) => value * (1 + (i % 7)));
      // Standard deviations 1, λ > 0, and the phase (the state after the shared tail of length 3n + 5).
      model.fill(1, n + 3, n + 6);
      const extra = n + 6 + 3 * n + 5;
      model[extra] = phase;
      model[extra + 1] = 1e-3;
      return model;
    };
    const calls: [Shape, Float64Array][] = [
      [giant, giantModel(1, 0.01)],
      [giant, giantModel(0, 0.02)],
      [giant, giantModel(1, 0.03)],
      [lbfgs, new Float64Array(logreg.modelLength(lbfgs)).fill(0.01)],
      [lbfgs, new Float64Array(logreg.modelLength(lbfgs)).fill(-0.02)],
    ];
    const expected: Float64Array[] = [];
    for (const [shape, model] of calls) {
      pool = new ThreadPool(2);
      pool.addShard('s', shard);
      expected.push((await pool.partial('s', shard.rows, shape, model)).partial);
      await pool.close();
      pool = undefined;
    }
    pool = new ThreadPool(2);
    pool.addShard('s', shard);

    // Act: one after the other on one pool, then the two L-BFGS calls at once
    const inTurn: Float64Array[] = [];
    for (const [shape, model] of calls) inTurn.push((await pool.partial('s', shard.rows, shape, model)).partial);
    const together = await Promise.all(calls.slice(3).map(([shape, model]) => pool!.partial('s', shard.rows, shape, model)));

    // Assess
    expect(inTurn).toEqual(expected);
    expect(together.map((r) => r.partial)).toEqual(expected.slice(3));
    expect(expected[0]).not.toEqual(expected[1]);
    expect(expected[3]).not.toEqual(expected[4]);
  });

  it('rejects with E_THREAD for a shard it was never given', async () => {
    // Prepare
    pool = new ThreadPool(1);

    // Act
    const result = pool.partial('missing', 10, { algorithm: 'kmeans', dims: 1, k: 1 }, new Float64Array(1));

    // Assess
    await expect(result).rejects.toMatchObject({ code: 'E_THREAD', message: 'shard missing is not loaded in this pool' });
  });

  it('rejects with E_THREAD when a thread fails, and stays usable', async () => {
    // Prepare: logistic regression on a shard without labels makes the thread throw
    pool = new ThreadPool(2);
    const shard = sliceShard(blobs(centers, 10, 1, 1), 0, 1);
    pool.addShard('s', shard);

    // Act
    const failing = pool.partial('s', shard.rows, { algorithm: 'logreg', dims: 3, k: 1 }, new Float64Array(10));

    // Assess
    await expect(failing).rejects.toMatchObject({ code: 'E_THREAD', message: 'inner worker failed: logistic regression partial needs labels' });
    const ok = await pool.partial('s', shard.rows, { algorithm: 'kmeans', dims: 3, k: 3 }, new Float64Array(centers.flat()));
    expect(ok.partial[9]! + ok.partial[10]! + ok.partial[11]!).toBe(30);
    expect(pool.broken).toBe(false);
  });

  it('releases the threads waiting at a sum across threads when one fails, reports that failure, and stays usable', async () => {
    // Prepare: a GIANT solve round, whose threads sum every Hessian-vector product; thread 1 has
    // forgotten the shard, so it fails before its first sum while thread 0 waits there for it
    const data = blobs(centers, 40, 1, 2);
    const labels = Float32Array.from({ length: data.rows }, (_, i) => i % 4);
    const shard = sliceShard({ ...data, labels }, 0, 1);
    const giant: Shape = { algorithm: 'logreg', dims: 3, k: 1, solver: 'giant', classes: 4 };
    const n = 4 * (3 + 1);
    const model = new Float64Array(logreg.modelLength(giant)).map((_, i) => 0.01 * (1 + (i % 7)));
    model.fill(1, n + 3, n + 6);
    model[n + 6 + 3 * n + 5] = 1;
    model[n + 6 + 3 * n + 6] = 1e-3;
    pool = new ThreadPool(2);
    pool.addShard('s', shard);
    (pool as unknown as { threads: { postMessage(message: unknown): void }[] }).threads[1]!.postMessage({ type: 'drop', key: 's' });

    // Act
    const started = Date.now();
    const failing = pool.partial('s', shard.rows, giant, model);

    // Assess: the failure itself, not the sibling's release, and no hang; then a whole solve
    await expect(failing).rejects.toMatchObject({ code: 'E_THREAD', message: 'inner worker failed: shard s was not sent to this thread' });
    expect(Date.now() - started).toBeLessThan(10_000);
    pool.addShard('s', shard);
    const ok = await pool.partial('s', shard.rows, giant, model);
    expect(ok.partial[n + 2]).toBe(shard.rows);
    expect(ok.partial.subarray(0, n).some((v) => v !== 0)).toBe(true);
  });

  it('runs thread.ts from source through tsx when no bundled entry is named, computing what the bundle computes', async () => {
    // Prepare: the suite names a bundled entry (test/setup/thread-bundle.ts); here the threads load the sources.
    const bundled = process.env.BSPML_THREAD_ENTRY;
    expect(bundled, 'the global setup names a bundled thread entry').toMatch(/thread\.mjs$/);
    const data = blobs(centers, 200, 1.5, 5);
    const shard = sliceShard(data, 0, 1);
    const shape: Shape = { algorithm: 'kmeans', dims: 3, k: 3 };
    const model = new Float64Array(centers.flat());
    const partials: Float64Array[] = [];

    // Act
    for (const entry of [undefined, bundled]) {
      if (entry === undefined) delete process.env.BSPML_THREAD_ENTRY;
      else process.env.BSPML_THREAD_ENTRY = entry;
      pool = new ThreadPool(2);
      pool.addShard('s', shard);
      partials.push((await pool.partial('s', shard.rows, shape, model)).partial);
      await pool.close();
      pool = undefined;
    }
    process.env.BSPML_THREAD_ENTRY = bundled;

    // Assess
    expect(Array.from(partials[0]!)).toEqual(Array.from(partials[1]!));
    expect(partials[0]![9]! + partials[0]![10]! + partials[0]![11]!).toBe(600);
  });

  it('refuses a thread count that is not a positive integer', () => {
    expect(() => new ThreadPool(0)).toThrow(expect.objectContaining({ code: 'E_THREAD' }));
  });
});
