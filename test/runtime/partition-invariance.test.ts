import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmeans } from '../../src/algorithms/index.js';
import { summarizeData } from '../../src/data/summary.js';
import { parseJobSpec, type KmeansSpec } from '../../src/domain/spec.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { TrainingData } from '../../src/data/types.js';
import type { KmeansResult, LogregResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs, separable } from '../helpers/data.js';
import { assignAll, maxRelativeError, referenceKmeans, referenceLogreg, referenceLogregOptimum } from '../helpers/reference.js';

/*
 * Invariant 1: W workers × I inner threads give the model one process gets doing the same rounds:
 * counts and assignments exactly, sums to float tolerance. The Lloyd rounds and the gradient
 * steps here are the reference's, written apart from src/; only k-means++ is the system's.
 */

const LAYOUTS = [
  { workers: 1, threads: 1 },
  { workers: 3, threads: 2 },
  { workers: 4, threads: 1 },
  { workers: 8, threads: 1 },
];
const REL = 1e-9;
/** Coordinates below this magnitude are compared absolutely (relative error of ~0 is meaningless). */
const FLOOR = 1e-3;

// Overlapping blobs: Lloyd needs many rounds to settle, so rounding differences would have time to grow.
const KMEANS_DATA = blobs(
  [
    [0, 0, 0],
    [4, 4, 1],
    [-4, 4, -1],
    [4, -4, 2],
  ],
  600,
  2.5,
  11,
);
const KMEANS = { k: 4, seed: 5, initSample: 1000, maxRounds: 15, tol: 0 };

/** Separable points with columns of very different scale and offset, plus label noise. */
function logregData(): TrainingData {
  const base = separable(1500, 3, 23);
  const features = Float32Array.from(base.features);
  const labels = Float32Array.from(base.labels!);
  for (let i = 0; i < base.rows; i++) {
    features[i * 3 + 1] = Math.fround(features[i * 3 + 1]! * 40);
    features[i * 3 + 2] = Math.fround(features[i * 3 + 2]! + 25);
    if (i % 37 === 0) labels[i] = 1 - labels[i]!; // not separable any more: the loss keeps moving
  }
  return { ...base, features, labels };
}
const LOGREG_DATA = logregData();
const LOGREG = { solver: 'gd' as const, lr: 0.5, l2: 0.01, maxRounds: 15, tol: 0 };

/** The system's k-means++ on the summary of the whole data as one process would make it (one shard). */
function kmeansInit(): Float64Array {
  const spec = parseJobSpec({ algorithm: 'kmeans', ...KMEANS, data: { uri: 'kmeans' } }) as KmeansSpec;
  return kmeans.init(spec, summarizeData(KMEANS_DATA, { seed: KMEANS.seed, sampleSize: KMEANS.initSample }));
}

describe('partition invariance (LocalRuntime vs. sequential reference)', () => {
  let runtime: LocalRuntime;

  beforeAll(() => {
    const datasets = new MemoryDatasetSource().add('kmeans', KMEANS_DATA).add('logreg', LOGREG_DATA);
    runtime = new LocalRuntime({ store: new MemoryStore(), datasets, defaultThreads: 1 });
  });

  afterAll(async () => {
    await runtime?.close();
  });

  const kmeansReference = (() => {
    let cached: ReturnType<typeof referenceKmeans> | undefined;
    return () => (cached ??= referenceKmeans(KMEANS_DATA, kmeansInit(), KMEANS.k, KMEANS));
  })();

  it('the k-means reference itself takes more than 3 rounds on this data', () => {
    // Prepare / Act
    const reference = kmeansReference();

    // Assess: a test over 1–2 rounds would not show drift between partitions.
    expect(reference.rounds).toBeGreaterThan(3);
    expect(reference.counts.reduce((a, b) => a + b, 0)).toBe(KMEANS_DATA.rows);
  });

  it.each(LAYOUTS)('k-means with $workers worker(s) × $threads thread(s) equals the reference', async ({ workers, threads }) => {
    // Prepare
    const reference = kmeansReference();

    // Act
    const out = await runtime.train({ algorithm: 'kmeans', ...KMEANS, workers, threads, data: { uri: 'kmeans' } });

    // Assess
    const result = out.result as KmeansResult;
    expect(result.algorithm).toBe('kmeans');
    expect(result.rounds).toBe(reference.rounds);
    expect(result.converged).toBe(reference.converged);
    expect(out.rounds).toHaveLength(reference.rounds);
    expect(result.counts).toEqual(reference.counts);
    const centroids = result.centroids.flat();
    expect(maxRelativeError(centroids, reference.centroids, FLOOR)).toBeLessThanOrEqual(REL);
    const ours = assignAll(KMEANS_DATA, centroids, KMEANS.k);
    const theirs = assignAll(KMEANS_DATA, reference.centroids, KMEANS.k);
    let differing = 0;
    for (let i = 0; i < KMEANS_DATA.rows; i++) if (ours[i] !== theirs[i]) differing++;
    expect(differing).toBe(0);
    expect(Math.abs(result.inertia - reference.inertia) / reference.inertia).toBeLessThanOrEqual(REL);
  }, 15_000);

  it.each(LAYOUTS)('logistic regression with $workers worker(s) × $threads thread(s) equals the reference', async ({ workers, threads }) => {
    // Prepare
    const reference = referenceLogreg(LOGREG_DATA, LOGREG);

    // Act
    const out = await runtime.train({ algorithm: 'logreg', ...LOGREG, workers, threads, data: { uri: 'logreg' } });

    // Assess
    const result = out.result as LogregResult;
    expect(result.algorithm).toBe('logreg');
    expect(reference.rounds).toBe(LOGREG.maxRounds);
    expect(result.rounds).toBe(reference.rounds);
    expect(out.rounds).toHaveLength(reference.rounds);
    expect(maxRelativeError(result.weights, reference.weights, FLOOR)).toBeLessThanOrEqual(REL);
    expect(maxRelativeError([result.bias], [reference.bias], FLOOR)).toBeLessThanOrEqual(REL);
    expect(maxRelativeError([result.gradNorm, result.loss], [reference.gradNorm, reference.loss])).toBeLessThanOrEqual(REL);
  }, 15_000);

  const optimum = (() => {
    let cached: ReturnType<typeof referenceLogregOptimum> | undefined;
    return () => (cached ??= referenceLogregOptimum(LOGREG_DATA, LOGREG.l2));
  })();
  const SECOND_ORDER = [
    ...LAYOUTS.map((layout) => ({ solver: 'newton' as const, ...layout })),
    ...LAYOUTS.map((layout) => ({ solver: 'lbfgs' as const, ...layout })),
  ];
  /** Rounds and model of each solver's first layout (1 × 1), which the others must repeat. */
  const firstLayout = new Map<string, LogregResult>();

  it.each(SECOND_ORDER)('$solver with $workers worker(s) × $threads thread(s): the same rounds and model as 1 × 1, at the reference optimum', async ({ solver, workers, threads }) => {
    // Prepare
    const reference = optimum();

    // Act
    const out = await runtime.train({ algorithm: 'logreg', solver, l2: LOGREG.l2, tol: 1e-9, maxRounds: 60, workers, threads, data: { uri: 'logreg' } });

    // Assess: converged to the sequential Newton's optimum; every layout takes the same path.
    const result = out.result as LogregResult;
    expect(result.solver).toBe(solver);
    expect(result.converged).toBe(true);
    expect(maxRelativeError(result.weights, reference.weights, FLOOR)).toBeLessThanOrEqual(1e-6);
    expect(maxRelativeError([result.bias], [reference.bias], FLOOR)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(result.loss - reference.objective) / reference.objective).toBeLessThanOrEqual(1e-9);
    const first = firstLayout.get(solver) ?? (firstLayout.set(solver, result), result);
    expect(result.rounds).toBe(first.rounds);
    expect(maxRelativeError(result.weights, first.weights, FLOOR)).toBeLessThanOrEqual(REL);
  }, 15_000);
});
