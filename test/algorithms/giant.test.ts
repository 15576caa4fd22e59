import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logreg } from '../../src/algorithms/index.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { TrainingData } from '../../src/data/types.js';
import type { MultinomialResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';
import { Rng } from '../../src/util/random.js';
import { maxRelativeError, referenceSoftmaxOptimum, standardisedSoftmax } from '../helpers/reference.js';

/*
 * GIANT (src/algorithms/logreg/giant.ts) against the plain sequential softmax Newton written in the
 * tests (test/helpers/reference.ts) on W × I ∈ {1×1, 3×2, 4×1}: its local solves depend on the split,
 * its fixed point (global gradient 0) does not, so each layout must reach the reference optimum.
 */

/** Four overlapping blobs, label = blob, with correlated columns of different scale and offset. */
function fourClasses(): TrainingData {
  const base = blobs(
    [
      [0, 0, 0, 0],
      [3, 3, 1, 0],
      [-3, 3, -1, 1],
      [3, -3, 2, -1],
    ],
    150,
    2,
    23,
  );
  const dims = 5;
  const features = new Float32Array(base.rows * dims);
  for (let i = 0; i < base.rows; i++) {
    const row = base.features.subarray(i * 4, i * 4 + 4);
    features[i * dims] = row[0]!;
    features[i * dims + 1] = Math.fround(row[1]! * 30);
    features[i * dims + 2] = Math.fround(row[2]! + 40);
    features[i * dims + 3] = Math.fround(row[3]! + 0.9 * row[0]!);
    // A near-constant column: 0 but for every 97th row.
    features[i * dims + 4] = i % 97 === 0 ? 1 : 0;
  }
  const labels = Float32Array.from({ length: base.rows }, (_, i) => i % 4);
  return { ...base, dims, features, labels, labelName: 'label', featureNames: ['a', 'b', 'c', 'd', 'e'] };
}

const DATA = fourClasses();
const L2 = 0.01;
const FLOOR = 1e-3;
const optimum = referenceSoftmaxOptimum(DATA, 4, L2);

describe('multinomial logistic regression by GIANT', () => {
  let runtime: LocalRuntime;
  const objectives: number[] = [];

  beforeAll(() => {
    runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('d', DATA), defaultThreads: 1 });
  });
  afterAll(async () => {
    await runtime?.close();
  });

  it.each([
    { workers: 1, threads: 1 },
    { workers: 3, threads: 2 },
    { workers: 4, threads: 1 },
  ])('$workers worker(s) × $threads thread(s): the reference optimum (objective to 1e-6, weights to 1e-5)', async ({ workers, threads }) => {
    // Act
    const out = await runtime.train({ algorithm: 'logreg', solver: 'giant', l2: L2, tol: 1e-8, maxRounds: 300, workers, threads, data: { uri: 'd' } });

    // Assess
    const result = out.result as MultinomialResult;
    expect(result).toMatchObject({ algorithm: 'logreg', solver: 'giant', classes: [0, 1, 2, 3], converged: true });
    expect(Math.abs(result.loss - optimum.objective) / optimum.objective).toBeLessThanOrEqual(1e-6);
    const ours = standardisedSoftmax(DATA, result.weights, result.bias);
    // Weights to 1e-5: stopped at a gradient norm of 1e-8, their error is up to that over the smallest curvature (λ = 0.01).
    expect(maxRelativeError(ours.standardised, optimum.standardised, FLOOR)).toBeLessThanOrEqual(1e-5);
    expect(maxRelativeError(ours.intercepts, optimum.intercepts, FLOOR)).toBeLessThanOrEqual(1e-5);
    // The objective reported never rises from round to round (rejected points report the base's).
    for (let r = 1; r < out.rounds.length; r++) expect(out.rounds[r]!.objective).toBeLessThanOrEqual(out.rounds[r - 1]!.objective);
    objectives.push(result.loss);
    expect(Math.abs(result.loss - objectives[0]!) / objectives[0]!).toBeLessThanOrEqual(1e-6);
  }, 60_000);
});

describe('GIANT inside a worker', () => {
  it('solves on the Hessian of the worker\'s whole shard, its threads summing each product: 1 × 2 takes the steps of 1 × 1, the same bit for bit run after run', async () => {
    // Prepare: each thread's half of the rows alone (300 of them, the near-constant column's 1s
    // split unevenly) has a Hessian far enough from the whole's for averaged half-solves to show
    const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('d', DATA), defaultThreads: 1 });
    try {
      // Act: evaluate and solve rounds alternate, so 8 rounds take 3 solves and their line searches
      const train = (threads: number) => runtime.train({ algorithm: 'logreg', solver: 'giant', l2: L2, tol: 0, maxRounds: 8, workers: 1, threads, data: { uri: 'd' } });
      const one = await train(1);
      const two = await train(2);
      const again = await train(2);

      // Assess: the same objective round by round and the same model, to the rounding of the sums'
      // order (the rows' products are summed per thread, then across threads)
      const objectives = (out: typeof one) => out.rounds.map((r) => r.objective);
      expect(objectives(two)).toHaveLength(8);
      const gaps = objectives(two).map((o, r) => Math.abs(o - objectives(one)[r]!) / objectives(one)[r]!);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(1e-12);
      const [a, b] = [one, two].map((out) => out.result as MultinomialResult);
      expect(maxRelativeError(b!.weights.flat(), a!.weights.flat(), FLOOR)).toBeLessThanOrEqual(1e-9);
      // The threads add in a fixed order: the same layout gives the same model bit for bit.
      expect((again.result as MultinomialResult).weights).toEqual(b!.weights);
      expect(objectives(again)).toEqual(objectives(two));
      // Not yet at the optimum: the rounds compared are Newton steps, not the fixed point both reach.
      expect((a!.loss - optimum.objective) / optimum.objective).toBeGreaterThan(1e-9);
    } finally {
      await runtime.close();
    }
  }, 60_000);
});

describe('the multinomial solver by default', () => {
  it('is L-BFGS, wide model or not (GIANT only when the spec names it)', async () => {
    // Prepare: 4 classes × 301 = 1,204 parameters and 2,500 rows on one thread, which the former
    // rule (over 1,000 parameters, a row per parameter per thread) gave to GIANT
    const rng = new Rng(5);
    const rows = 2500, dims = 300;
    const features = Float32Array.from({ length: rows * dims }, () => rng.normal());
    const labels = Float32Array.from({ length: rows }, (_, i) => i % 4);
    for (let i = 0; i < rows; i++) features[i * dims + labels[i]!] += 2;
    const data: TrainingData = { source: 'wide', rows, dims, features, labels, labelName: 'label', featureNames: Array.from({ length: dims }, (_, j) => `x${j}`) };
    const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('wide', data), defaultThreads: 1 });
    try {
      // Act
      const byDefault = await runtime.train({ algorithm: 'logreg', C: 1, maxRounds: 2, workers: 1, threads: 1, data: { uri: 'wide' } });
      const asked = await runtime.train({ algorithm: 'logreg', solver: 'giant', C: 1, maxRounds: 2, workers: 1, threads: 1, data: { uri: 'wide' } });

      // Assess
      expect((byDefault.result as MultinomialResult).solver).toBe('lbfgs');
      expect((asked.result as MultinomialResult).solver).toBe('giant');
    } finally {
      await runtime.close();
    }
  });

  it('has its threads sum the Hessian-vector products of a solve round and nothing else: only there does the pool make a buffer for sums', () => {
    // Prepare
    const shape = { algorithm: 'logreg' as const, dims: 784, k: 1, solver: 'giant' as const, classes: 10 };
    const model = new Float64Array(logreg.modelLength(shape));
    const weights = 10 * 785;
    const lbfgs = { ...shape, solver: 'lbfgs' as const };

    // Act: the phase flag sits right after the shared tail, before λ, the gradient and the scale (giant.ts)
    const lengths = [0, 1].map((phase) => {
      model[model.length - (3 + weights)] = phase;
      return logreg.threadSumLength!(shape, model);
    });

    // Assess: θ's length in a solve round, none in an evaluate round or for L-BFGS
    expect(lengths).toEqual([0, weights]);
    expect(logreg.threadSumLength!(lbfgs, new Float64Array(logreg.modelLength(lbfgs)))).toBe(0);
  });

  it('sends the threads at most twice the weights\' size in either kind of round', () => {
    // Prepare
    const shape = { algorithm: 'logreg' as const, dims: 784, k: 1, solver: 'giant' as const, classes: 10 };
    const model = new Float64Array(logreg.modelLength(shape));
    const weights = 10 * 785;

    for (const phase of [0, 1]) {
      // Act: the phase flag sits right after the shared tail, before λ, the gradient and the scale (giant.ts)
      model[model.length - (3 + weights)] = phase;
      const values = logreg.threadRanges!(shape, model).reduce((sum, [from, to]) => sum + to - from, 0);

      // Assess: the point and direction (and the phase), or the point, means, std devs, phase, λ and
      // the gradient: at most twice the model head (weights, biases, means, std devs), never its history
      expect(values).toBe(phase === 0 ? 2 * weights + 1 : 2 * weights + 2 * 784 + 2);
      expect(values).toBeLessThanOrEqual(2 * (weights + 2 * 784));
    }
  });
});
