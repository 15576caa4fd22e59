import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { JobSpecInput } from '../../src/domain/spec.js';
import type { LogregResult, SvmResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { runBspml, trainOverModel, useTempDirs } from '../helpers/cli.js';
import { noisy } from '../helpers/data.js';
import { maxRelativeError, referenceLocalSgd, type ReferenceLocalSgdOptions } from '../helpers/reference.js';

/*
 * Local SGD with model averaging (src/algorithms/logreg/localSgd.ts) against a plain sequential
 * reference written in the tests (test/helpers/reference.ts): the same seeded mini-batch order, one
 * worker thread after the other, the rows-weighted average per round. Weights to 1e-9 on 1×1 and
 * 3×2 (where the reference averages the six threads), for logistic regression and the hinge SVM.
 */

/** Columns in different units, one label in seven flipped: not separable. */
const DATA = noisy(700, 4, 23, { first: [40, -9], last: [0.02, 5], flipEvery: 7 });
const L2 = 0.01;
const ROUNDS = 3;
const FLOOR = 1e-3;

describe('local SGD with model averaging', () => {
  let runtime: LocalRuntime;

  beforeAll(() => {
    runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('d', DATA), defaultThreads: 1 });
  });
  afterAll(async () => {
    await runtime?.close();
  });

  async function train(algorithm: 'logreg' | 'svm', workers: number, threads: number, extra: Record<string, unknown> = {}) {
    const spec = { algorithm, solver: 'local-sgd', l2: L2, batchSize: 16, tol: 0, maxRounds: ROUNDS, workers, threads, data: { uri: 'd' }, ...extra } as JobSpecInput;
    return runtime.train(spec);
  }

  function reference(options: Partial<ReferenceLocalSgdOptions> & Pick<ReferenceLocalSgdOptions, 'workers' | 'threads' | 'loss'>) {
    return referenceLocalSgd(DATA, { seed: 42, lr: 0.5, l2: L2, batch: 16, rounds: ROUNDS, ...options });
  }

  for (const [workers, threads] of [
    [1, 1],
    [3, 2],
  ] as const) {
    it(`logistic regression on ${workers}×${threads} equals the sequential reference that averages per thread (1e-9)`, async () => {
      // Act
      const out = await train('logreg', workers, threads);
      const expected = reference({ workers, threads, loss: 'logistic' });

      // Assess
      const result = out.result as LogregResult;
      expect(result.solver).toBe('local-sgd');
      expect(result.rounds).toBe(ROUNDS);
      expect(maxRelativeError([...result.weights, result.bias], [...expected.weights, expected.bias], FLOOR)).toBeLessThanOrEqual(1e-9);
      // Each round reports the exact objective of the model that entered it.
      expect(maxRelativeError(out.rounds.map((r) => r.objective), expected.objectives)).toBeLessThanOrEqual(1e-9);
    }, 60_000);
  }

  it('the hinge SVM on 3×2 equals the reference, and says which loss it minimised', async () => {
    // Act
    const out = await train('svm', 3, 2);
    const expected = reference({ workers: 3, threads: 2, loss: 'hinge' });

    // Assess
    const result = out.result as SvmResult;
    expect(result).toMatchObject({ algorithm: 'svm', solver: 'local-sgd', lossFunction: 'hinge' });
    expect(maxRelativeError([...result.weights, result.bias], [...expected.weights, expected.bias], FLOOR)).toBeLessThanOrEqual(1e-9);
    expect(maxRelativeError(out.rounds.map((r) => r.objective), expected.objectives)).toBeLessThanOrEqual(1e-9);
  }, 60_000);

  it('--local-steps K runs K steps per thread (here more than two passes) and --lr sets the first step size', async () => {
    // Act
    const out = await train('logreg', 2, 1, { localSteps: 50, lr: 0.2 });
    const expected = reference({ workers: 2, threads: 1, loss: 'logistic', steps: 50, lr: 0.2 });
    const onePass = reference({ workers: 2, threads: 1, loss: 'logistic', lr: 0.2 });

    // Assess
    const result = out.result as LogregResult;
    expect(maxRelativeError([...result.weights, result.bias], [...expected.weights, expected.bias], FLOOR)).toBeLessThanOrEqual(1e-9);
    expect(maxRelativeError(expected.weights, onePass.weights, FLOOR)).toBeGreaterThan(1e-6);
  }, 60_000);

  it('is deterministic for a fixed W × I and seed, and depends on W and on the seed by design', async () => {
    // Act
    const first = (await train('logreg', 2, 2)).result as LogregResult;
    const again = (await train('logreg', 2, 2)).result as LogregResult;
    const otherW = (await train('logreg', 3, 2)).result as LogregResult;
    const otherSeed = (await train('logreg', 2, 2, { seed: 7 })).result as LogregResult;

    // Assess
    expect(again.weights).toEqual(first.weights);
    expect(again.bias).toBe(first.bias);
    expect(maxRelativeError(otherW.weights, first.weights, FLOOR)).toBeGreaterThan(1e-9);
    expect(maxRelativeError(otherSeed.weights, first.weights, FLOOR)).toBeGreaterThan(1e-9);
  }, 60_000);

  it('a learning rate so large that the weights overflow fails the job, naming lr', async () => {
    // Act
    const failed = train('logreg', 1, 1, { lr: 1e300 });

    // Assess
    await expect(failed).rejects.toThrow(/local SGD diverged \(loss .*\): lower the learning rate \(lr = 1e\+300\)/);
  }, 60_000);

  it('stops when two successive averaged models have objectives within tol (relative)', async () => {
    // Act
    const out = await train('logreg', 2, 1, { tol: 1e-3, maxRounds: 50 });

    // Assess: the last round's change is within tol, every earlier one above it.
    const result = out.result as LogregResult;
    expect(result.converged).toBe(true);
    expect(result.rounds).toBeLessThan(50);
    const changes = out.rounds.map((r) => r.stats.change);
    expect(changes[0]).toBeUndefined();
    expect(changes.at(-1)).toBeLessThanOrEqual(1e-3);
    for (const change of changes.slice(1, -1)) expect(change).toBeGreaterThan(1e-3);
  }, 60_000);
});

describe('bspml train: local SGD options', () => {
  const tempDir = useTempDirs();

  async function failing(argv: string[]) {
    const result = await trainOverModel(await tempDir(), argv);
    // Assess (every case): exit 1, one line on stderr (commander adds its help hint), the old model untouched.
    expect(result.code).toBe(1);
    expect(result.modelKept).toBe(true);
    return result.stderr;
  }

  it('reports the solver, its settings and the stop rule in the text report and the HTML page', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'c.csv');
    const page = join(dir, 'run.html');
    expect((await runBspml(['gen', 'classification', '--rows', '400', '--dims', '3', '--out', data])).code).toBe(0);

    // Act
    const result = await runBspml(['train', 'svm', '--data', data, '--solver', 'local-sgd', '--C', '1', '--batch-size', '16', '--workers', '2', '--threads', '1', '--max-rounds', '3', '--no-progress', '--report', page]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^linear SVM \(hinge, local-sgd, lr = 0\.5\/√round, batch 16, one pass per thread per round\), C = 1 \(l2 = /);
    expect(lines[2]).toMatch(/^rounds {5}3, stopped at max rounds \(objective change [0-9.e-]+ > tol 0\.0001\)$/);
    expect(await readFile(page, 'utf8')).toContain('<h1>linear SVM (hinge, local-sgd, lr = 0.5), C = 1</h1>');
  }, 60_000);

  it('--local-steps 0 is refused naming the option', async () => {
    expect(await failing(['logreg', '--solver', 'local-sgd', '--local-steps', '0'])).toMatch(/^error: option '--local-steps <n>' argument '0' is invalid\. must be a whole number ≥ 1\.\n/);
  });

  it('--batch-size 0 is refused naming the option', async () => {
    expect(await failing(['svm', '--solver', 'local-sgd', '--batch-size', '0'])).toMatch(/^error: option '--batch-size <n>' argument '0' is invalid\./);
  });

  it('a negative or NaN --lr is refused naming the option', async () => {
    expect(await failing(['logreg', '--solver', 'local-sgd', '--lr', '-0.1'])).toMatch(/^error: option '--lr <x>' argument '-0.1' is invalid\. must be a number > 0\./);
    expect(await failing(['svm', '--solver', 'local-sgd', '--lr', 'NaN'])).toMatch(/^error: option '--lr <x>' argument 'NaN' is invalid\./);
  });

  it('--local-steps or --batch-size with another solver is refused naming the option', async () => {
    expect(await failing(['logreg', '--solver', 'newton', '--local-steps', '3'])).toBe('bspml: error: invalid job spec: localSteps (--local-steps): only with solver local-sgd, not newton\n');
    expect(await failing(['svm', '--batch-size', '8'])).toBe('bspml: error: invalid job spec: batchSize (--batch-size): only with solver local-sgd, not the default\n');
    expect(await failing(['svm', '--lr', '0.1'])).toBe('bspml: error: invalid job spec: lr (--lr): the SVM takes a learning rate only with solver local-sgd, not the default\n');
  });

  it('local SGD for k-means is refused: no such option, and a spec naming a solver', async () => {
    expect(await failing(['kmeans', '--k', '2', '--solver', 'local-sgd'])).toMatch(/^error: unknown option '--solver'\n/);
    const dir = await tempDir();
    const spec = join(dir, 'km.job.json');
    await writeFile(spec, JSON.stringify({ algorithm: 'kmeans', k: 2, solver: 'local-sgd' }));
    expect(await failing(['--spec', spec])).toBe(`bspml: error: ${spec}: invalid job spec: solver: k-means has no solver (local-sgd is for logreg and svm)\n`);
  });
});
