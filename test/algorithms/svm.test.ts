import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { TrainingData } from '../../src/data/types.js';
import type { SvmResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { separable } from '../helpers/data.js';
import { accuracy, maxRelativeError, referenceSvmOptimum } from '../helpers/reference.js';

/*
 * The linear SVM (L2-regularised squared hinge, Newton) against a plain sequential Newton on the
 * squared hinge written in the tests (test/helpers/reference.ts), on every layout.
 */

/** Offset, scaled columns and one label in eight flipped: some rows inside the margin, some outside. */
function noisy(): TrainingData {
  const base = separable(1200, 4, 29);
  const features = Float32Array.from(base.features);
  const labels = Float32Array.from(base.labels!);
  for (let i = 0; i < base.rows; i++) {
    features[i * 4 + 1] = Math.fround(features[i * 4 + 1]! * 20 + 5);
    if (i % 8 === 0) labels[i] = 1 - labels[i]!;
  }
  return { ...base, features, labels };
}

const DATA = noisy();
const L2 = 0.01;
const FLOOR = 1e-3;

describe('linear SVM (squared hinge, Newton)', () => {
  let runtime: LocalRuntime;
  const optimum = referenceSvmOptimum(DATA, L2);
  let first: SvmResult | undefined;

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
  ])('$workers worker(s) × $threads thread(s): the reference optimum (objective and weights to 1e-6), the same rounds on every layout', async ({ workers, threads }) => {
    // Act
    const out = await runtime.train({ algorithm: 'svm', l2: L2, tol: 1e-9, maxRounds: 40, workers, threads, data: { uri: 'd' } });

    // Assess
    const result = out.result as SvmResult;
    expect(result.algorithm).toBe('svm');
    expect(result.converged).toBe(true);
    expect(Math.abs(result.loss - optimum.objective) / optimum.objective).toBeLessThanOrEqual(1e-6);
    expect(maxRelativeError(result.weights, optimum.weights, FLOOR)).toBeLessThanOrEqual(1e-6);
    expect(maxRelativeError([result.bias], [optimum.bias], FLOOR)).toBeLessThanOrEqual(1e-6);
    expect(result.accuracy).toBe(accuracy(DATA, result.weights, result.bias));
    first ??= result;
    expect(result.rounds).toBe(first.rounds);
    expect(maxRelativeError(result.weights, first.weights, FLOOR)).toBeLessThanOrEqual(1e-9);
  }, 30_000);
});

describe('bspml train svm, bspml predict', () => {
  const tempDir = useTempDirs();

  it('writes {"algorithm":"svm","weights","bias",…}; predict writes the decision value and the label', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'd.csv');
    const model = join(dir, 'model.json');
    const lines = ['a,b,label'];
    for (let i = 0; i < DATA.rows; i++) lines.push(`${DATA.features[i * 4]},${DATA.features[i * 4 + 1]},${DATA.labels![i]}`);
    await writeFile(data, `${lines.join('\n')}\n`);

    // Act
    const trained = await runBspml(['train', 'svm', '--data', data, '--C', '1', '--workers', '2', '--threads', '1', '--out', model, '--no-progress']);
    const predicted = await runBspml(['predict', '--model', model, '--data', data]);

    // Assess
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/^linear SVM \(squared hinge, newton\), C = 1 \(l2 = \S+\), on /m);
    const file = JSON.parse(await readFile(model, 'utf8')) as SvmResult;
    expect(file).toMatchObject({ algorithm: 'svm', dims: 2, featureNames: ['a', 'b'], labelName: 'label', converged: true });
    expect(predicted.code, predicted.stderr).toBe(0);
    const rows = predicted.stdout.trimEnd().split('\n');
    expect(rows[0]).toBe('prediction,decision');
    expect(rows).toHaveLength(DATA.rows + 1);
    let right = 0;
    for (let i = 0; i < DATA.rows; i++) {
      const [label, decision] = rows[i + 1]!.split(',').map(Number) as [number, number];
      const z = file.bias + file.weights[0]! * DATA.features[i * 4]! + file.weights[1]! * DATA.features[i * 4 + 1]!;
      expect(Math.abs(decision - z)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(z)));
      expect(label).toBe(z >= 0 ? 1 : 0);
      if (label === DATA.labels![i]) right++;
    }
    expect(predicted.stderr).toBe(`predicted ${DATA.rows} rows; accuracy ${((100 * right) / DATA.rows).toFixed(2)}% against column "label"\n`);
  }, 30_000);
});
