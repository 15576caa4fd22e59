import { afterEach, describe, expect, it } from 'vitest';
import { logreg } from '../../src/algorithms/index.js';
import { summarizeData } from '../../src/data/summary.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { TrainingData } from '../../src/data/types.js';
import { parseJobSpec, type LogregSpec } from '../../src/domain/spec.js';
import type { LogregResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { separable } from '../helpers/data.js';
import { accuracy, columnStats } from '../helpers/reference.js';

function spec(overrides: Record<string, unknown> = {}): LogregSpec {
  return parseJobSpec({ algorithm: 'logreg', solver: 'gd', data: { uri: 'inline' }, ...overrides }) as LogregSpec;
}

/** The merged partial of all rows (one block). */
function partialOf(data: TrainingData, model: Float64Array): Float64Array {
  const shape = logreg.shape(spec(), data);
  const out = new Float64Array(logreg.partialLength(shape));
  logreg.partial(shape, model, { features: data.features, labels: data.labels, dims: data.dims, start: 0, end: data.rows }, out);
  return out;
}

/** One full round: partial over all rows, then update. */
function round(s: LogregSpec, data: TrainingData, model: Float64Array) {
  return logreg.update(s, logreg.shape(s, data), model, partialOf(data, model));
}

/** Noisy, unevenly scaled data: columns of different units, some labels flipped. */
function noisyData(): TrainingData {
  const base = separable(240, 3, 41);
  const features = Float32Array.from(base.features);
  const labels = Float32Array.from(base.labels!);
  for (let i = 0; i < base.rows; i++) {
    features[i * 3 + 0] = Math.fround(features[i * 3 + 0]! * 30 - 7);
    features[i * 3 + 2] = Math.fround(features[i * 3 + 2]! * 0.05 + 3);
    if (i % 9 === 0) labels[i] = 1 - labels[i]!;
  }
  return { ...base, features, labels };
}

describe('logistic regression init', () => {
  it('stores column means and population standard deviations in the model', () => {
    // Prepare
    const data = noisyData();
    const { mean, std } = columnStats(data);

    // Act
    const model = logreg.init(spec(), summarizeData(data, { seed: 0, sampleSize: 0 }));

    // Assess: weights and bias start at zero.
    const dims = data.dims;
    expect(Array.from(model.subarray(0, dims + 1))).toEqual([0, 0, 0, 0]);
    for (let j = 0; j < dims; j++) {
      expect(model[dims + 1 + j]).toBeCloseTo(mean[j]!, 9);
      expect(Math.abs(model[2 * dims + 1 + j]! / std[j]! - 1)).toBeLessThan(1e-9);
    }
  });
});

describe('logistic regression gradient', () => {
  /**
   * The objective of the standardised parameters (v, c) — what update() descends:
   * mean log-loss + (l2/2)·‖v‖², with the model mapped to input space as w = v/std, b = c − Σ w·mean.
   */
  function objective(s: LogregSpec, data: TrainingData, stats: Float64Array, v: number[], c: number): number {
    const dims = data.dims;
    const model = new Float64Array(stats);
    let b = c;
    for (let j = 0; j < dims; j++) {
      model[j] = v[j]! / stats[2 * dims + 1 + j]!;
      b -= model[j]! * stats[dims + 1 + j]!;
    }
    model[dims] = b;
    return round(s, data, model).objective;
  }

  it('the step update() takes is lr × the gradient of the objective (finite differences, 1e-5 relative)', () => {
    // Prepare: a model away from zero, l2 on.
    const data = noisyData();
    const dims = data.dims;
    const s = spec({ lr: 1, l2: 0.3 });
    const model = logreg.init(s, summarizeData(data, { seed: 0, sampleSize: 0 }));
    const v = [0.7, -0.4, 1.1];
    const c = -0.2;
    const std = model.subarray(2 * dims + 1);
    const mean = model.subarray(dims + 1, 2 * dims + 1);
    let b = c;
    for (let j = 0; j < dims; j++) {
      model[j] = v[j]! / std[j]!;
      b -= model[j]! * mean[j]!;
    }
    model[dims] = b;

    // Act: with lr = 1 the step is the gradient, read back in standardised coordinates.
    const update = round(s, data, model);
    const next = update.model;
    const step: number[] = [];
    let nextC = next[dims]!;
    for (let j = 0; j < dims; j++) {
      step.push(v[j]! - next[j]! * std[j]!);
      nextC += next[j]! * mean[j]!;
    }
    step.push(c - nextC);

    // Assess against central differences of the objective.
    const h = 1e-5;
    const numeric: number[] = [];
    for (let j = 0; j <= dims; j++) {
      const plus = [...v, c];
      const minus = [...v, c];
      plus[j]! += h;
      minus[j]! -= h;
      numeric.push((objective(s, data, model, plus.slice(0, dims), plus[dims]!) - objective(s, data, model, minus.slice(0, dims), minus[dims]!)) / (2 * h));
    }
    for (let j = 0; j <= dims; j++) {
      expect(Math.abs(step[j]! - numeric[j]!) / Math.max(Math.abs(numeric[j]!), 1e-3), `component ${j}`).toBeLessThan(1e-5);
    }
    expect(update.stats.gradNorm).toBeCloseTo(Math.hypot(...step), 10);
    expect(update.objective).toBeCloseTo(objective(s, data, model, v, c), 12);
  });
});

describe('logistic regression edge cases', () => {
  it('a constant column produces no NaN and gets no weight', () => {
    // Prepare: column 1 is 3.5 in every row.
    const base = separable(200, 3, 5);
    const features = Float32Array.from(base.features);
    for (let i = 0; i < base.rows; i++) features[i * 3 + 1] = 3.5;
    const data: TrainingData = { ...base, features };
    const s = spec({ lr: 0.5, l2: 0.01 });
    let model = logreg.init(s, summarizeData(data, { seed: 0, sampleSize: 0 }));

    // Act
    const updates = [];
    for (let r = 0; r < 25; r++) {
      const update = round(s, data, model);
      updates.push(update);
      model = update.model;
    }

    // Assess
    expect(model.every(Number.isFinite)).toBe(true);
    expect(model[3 + 1 + 1]).toBe(3.5); // the column's mean
    expect(model[2 * 3 + 1 + 1]).toBe(1); // its std falls back to 1
    expect(Math.abs(model[1]!)).toBeLessThan(1e-9);
    expect(updates.every((u) => Number.isFinite(u.objective) && Number.isFinite(u.stats.gradNorm!))).toBe(true);
    expect(updates.at(-1)!.objective).toBeLessThan(updates[0]!.objective);
  });

  it('update throws E_DIVERGED when the merged loss is not finite', () => {
    // Prepare
    const data = noisyData();
    const s = spec();
    const model = logreg.init(s, summarizeData(data, { seed: 0, sampleSize: 0 }));
    const merged = partialOf(data, model);
    merged[data.dims + 1] = Infinity;

    // Act / Assess
    expect(() => logreg.update(s, logreg.shape(s, data), model, merged)).toThrow(expect.objectContaining({ code: 'E_DIVERGED', message: expect.stringMatching(/diverged.*lr = 0\.5/) }));
  });

  it('a learning rate far too large ends in E_DIVERGED within a few rounds, not in NaN weights', () => {
    // Prepare
    const data = noisyData();
    const s = spec({ lr: 1e306 });
    let model = logreg.init(s, summarizeData(data, { seed: 0, sampleSize: 0 }));
    let error: unknown;

    // Act
    for (let r = 0; r < 10 && error === undefined; r++) {
      try {
        model = round(s, data, model).model;
      } catch (e) {
        error = e;
      }
    }

    // Assess
    expect(error).toMatchObject({ code: 'E_DIVERGED' });
  });
});

describe('logistic regression through the local runtime', () => {
  let runtime: LocalRuntime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  it('reaches at least 99% accuracy on linearly separable data', async () => {
    // Prepare
    const data = separable(3000, 4, 13);
    runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('s', data), defaultThreads: 2 });

    // Act
    const out = await runtime.train({ algorithm: 'logreg', workers: 3, threads: 2, maxRounds: 100, data: { uri: 's' } });

    // Assess: the returned weights classify the rows (counted here, not taken from the report).
    const result = out.result as LogregResult;
    expect(result.weights).toHaveLength(4);
    expect(accuracy(data, result.weights, result.bias)).toBeGreaterThanOrEqual(0.99);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.99);
    // The direction found is the generating one.
    const norm = Math.hypot(...result.weights);
    const cosine = result.weights.reduce((s, w, j) => s + (w / norm) * data.w[j]!, 0);
    expect(cosine).toBeGreaterThan(0.95);
  }, 15_000);

  it('a diverging job ends FAILED with E_JOB_FAILED naming the round and the cause', async () => {
    // Prepare
    runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('n', noisyData()), defaultThreads: 1 });

    // Act
    const training = runtime.train({ algorithm: 'logreg', solver: 'gd', lr: 1e306, workers: 2, threads: 1, maxRounds: 20, data: { uri: 'n' } });

    // Assess
    await expect(training).rejects.toMatchObject({ code: 'E_JOB_FAILED', message: expect.stringMatching(/round \d+: gradient descent diverged/) });
  }, 15_000);
});
