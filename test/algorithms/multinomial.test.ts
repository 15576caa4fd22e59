import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTable, toTrainingData } from '../../src/data/sources/load.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { TrainingData } from '../../src/data/types.js';
import type { MultinomialResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { blobs } from '../helpers/data.js';
import { maxRelativeError, referenceSoftmaxOptimum, standardisedSoftmax } from '../helpers/reference.js';

/*
 * Multinomial logistic regression (labels 0..C−1, C > 2): against a plain sequential softmax Newton
 * written in the tests (test/helpers/reference.ts) on every layout, and against scikit-learn's
 * optimum on the 8 × 8 digits (data/digits.csv and test/fixtures/digits-sklearn.json, both made by
 * scripts/digits.py).
 */

/** Four overlapping blobs, label = blob, with columns of different scale and offset. */
function fourClasses(): TrainingData {
  const base = blobs(
    [
      [0, 0, 0],
      [3, 3, 1],
      [-3, 3, -1],
      [3, -3, 2],
    ],
    150,
    2,
    17,
  );
  const features = Float32Array.from(base.features);
  for (let i = 0; i < base.rows; i++) {
    features[i * 3 + 1] = Math.fround(features[i * 3 + 1]! * 30);
    features[i * 3 + 2] = Math.fround(features[i * 3 + 2]! + 40);
  }
  const labels = Float32Array.from({ length: base.rows }, (_, i) => i % 4);
  return { ...base, features, labels, labelName: 'label' };
}

const DATA = fourClasses();
const L2 = 0.01;
const FLOOR = 1e-3;

function flat(weights: number[][]): number[] {
  return weights.flat();
}

describe('multinomial logistic regression (softmax, L-BFGS)', () => {
  let runtime: LocalRuntime;
  const optimum = referenceSoftmaxOptimum(DATA, 4, L2);
  let first: MultinomialResult | undefined;

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
    // tol 1e-7: far enough above the gradient at which the objective's changes are lost to rounding
    // (~1e-9 here), where accepting a step would depend on the order of the sums.
  ])('$workers worker(s) × $threads thread(s): the reference optimum (objective and weights to 1e-6), the same rounds and model (1e-9) on every layout', async ({ workers, threads }) => {
    // Act
    const out = await runtime.train({ algorithm: 'logreg', l2: L2, tol: 1e-7, maxRounds: 200, workers, threads, data: { uri: 'd' } });

    // Assess
    const result = out.result as MultinomialResult;
    expect(result).toMatchObject({ algorithm: 'logreg', solver: 'lbfgs', classes: [0, 1, 2, 3], converged: true });
    expect(result.weights).toHaveLength(4);
    expect(Math.abs(result.loss - optimum.objective) / optimum.objective).toBeLessThanOrEqual(1e-6);
    const ours = standardisedSoftmax(DATA, result.weights, result.bias);
    expect(maxRelativeError(ours.standardised, optimum.standardised, FLOOR)).toBeLessThanOrEqual(1e-6);
    expect(maxRelativeError(ours.intercepts, optimum.intercepts, FLOOR)).toBeLessThanOrEqual(1e-6);
    expect(maxRelativeError(flat(result.weights), optimum.weights, FLOOR)).toBeLessThanOrEqual(1e-6);
    first ??= result;
    expect(result.rounds).toBe(first.rounds);
    expect(maxRelativeError(flat(result.weights), flat(first.weights), FLOOR)).toBeLessThanOrEqual(1e-9);
    expect(maxRelativeError(result.bias, first.bias, FLOOR)).toBeLessThanOrEqual(1e-9);
  }, 60_000);

  it('8 × 8 digits (1,797 × 64, 10 classes), C = 1: scikit-learn\'s optimum (objective and weights to 1e-6), train accuracy ≥ 0.99', async () => {
    // Prepare
    const file = new URL('../../data/digits.csv', import.meta.url).pathname;
    const digits = toTrainingData(await readTable(file), file, 'label');
    const reference = JSON.parse(await readFile(new URL('../fixtures/digits-sklearn.json', import.meta.url), 'utf8')) as {
      objective: number;
      accuracy: number;
      weights: number[][];
      intercepts: number[];
    };
    const local = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('digits', digits), defaultThreads: 2 });

    // Act
    const out = await local.train({ algorithm: 'logreg', C: 1, tol: 1e-9, maxRounds: 400, workers: 1, threads: 2, data: { uri: 'digits' } }).finally(() => local.close());

    // Assess
    const result = out.result as MultinomialResult;
    expect(result.converged).toBe(true);
    expect(result.classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Math.abs(result.loss - reference.objective) / reference.objective).toBeLessThanOrEqual(1e-6);
    const ours = standardisedSoftmax(digits, result.weights, result.bias);
    const worst = (a: ArrayLike<number>, b: number[]) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
    expect(worst(ours.standardised, reference.weights.flat())).toBeLessThanOrEqual(1e-6);
    expect(worst(ours.intercepts, reference.intercepts)).toBeLessThanOrEqual(1e-6);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.99);
    expect(result.accuracy).toBe(reference.accuracy);
  }, 120_000);
});

describe('bspml train logreg on classes 0..C−1, bspml predict', () => {
  const tempDir = useTempDirs();

  it('writes {"algorithm":"logreg","classes","weights":[per class],"bias":[per class],…}; predict writes the class and each class\'s probability', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'd.csv');
    const model = join(dir, 'model.json');
    const lines = ['a,b,c,label'];
    for (let i = 0; i < DATA.rows; i++) lines.push(`${Array.from(DATA.features.subarray(i * 3, i * 3 + 3)).join(',')},${DATA.labels![i]}`);
    await writeFile(data, `${lines.join('\n')}\n`);

    // Act
    const report = join(dir, 'report.html');
    const trained = await runBspml(['train', 'logreg', '--data', data, '--l2', String(L2), '--workers', '2', '--threads', '1', '--out', model, '--report', report, '--no-progress']);
    const predicted = await runBspml(['predict', '--model', model, '--data', data]);

    // Assess
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/^multinomial logistic regression \(4 classes, lbfgs\), l2 = 0\.01, on /m);
    expect(await readFile(report, 'utf8')).toContain('<h1>multinomial logistic regression (4 classes, lbfgs), l2 = 0.01</h1>');
    const file = JSON.parse(await readFile(model, 'utf8')) as MultinomialResult;
    expect(file).toMatchObject({ algorithm: 'logreg', solver: 'lbfgs', classes: [0, 1, 2, 3], dims: 3, featureNames: ['a', 'b', 'c'], labelName: 'label', converged: true });
    expect(file.weights.map((w) => w.length)).toEqual([3, 3, 3, 3]);
    expect(file.bias).toHaveLength(4);
    expect(predicted.code, predicted.stderr).toBe(0);
    const rows = predicted.stdout.trimEnd().split('\n');
    expect(rows[0]).toBe('prediction,p_0,p_1,p_2,p_3');
    expect(rows).toHaveLength(DATA.rows + 1);
    let right = 0;
    for (let i = 0; i < DATA.rows; i++) {
      const [label, ...p] = rows[i + 1]!.split(',').map(Number) as [number, ...number[]];
      // softmax(W·x + b), computed here from the file.
      const z = file.weights.map((w, k) => file.bias[k]! + w.reduce((s, v, j) => s + v * DATA.features[i * 3 + j]!, 0));
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      const sum = e.reduce((s, v) => s + v, 0);
      for (let k = 0; k < 4; k++) expect(Math.abs(p[k]! - e[k]! / sum)).toBeLessThanOrEqual(1e-12);
      expect(label).toBe(z.indexOf(Math.max(...z)));
      if (label === DATA.labels![i]) right++;
    }
    expect(right / DATA.rows).toBe(file.accuracy);
    expect(predicted.stderr).toBe(`predicted ${DATA.rows} rows; accuracy ${((100 * right) / DATA.rows).toFixed(2)}% against column "label"\n`);
  }, 30_000);
});
