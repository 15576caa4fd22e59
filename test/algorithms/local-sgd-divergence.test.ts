import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { JobSpecInput } from '../../src/domain/spec.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { noisy } from '../helpers/data.js';

/*
 * Issue 20 defect 1: local SGD with a learning rate far too long (--lr 1e9) on noisy, non-separable
 * data ended SUCCEEDED with a loss of millions. A round whose averaged model is over 1000× the zero
 * model's loss is divergence, and no job may end with a model worse than zero weights.
 */

/** One label in four flipped: not separable. */
const DATA = noisy(800, 3, 5, { first: [1, 0], last: [1, 0], flipEvery: 4 });

describe('issue 20 defect 1: local SGD divergence', () => {
  let runtime: LocalRuntime;

  beforeAll(() => {
    runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('d', DATA), defaultThreads: 1 });
  });
  afterAll(async () => {
    await runtime?.close();
  });

  const train = (algorithm: 'logreg' | 'svm', extra: Record<string, unknown>) =>
    runtime.train({ algorithm, solver: 'local-sgd', workers: 2, threads: 1, maxRounds: 100, data: { uri: 'd' }, ...extra } as JobSpecInput);

  it.each(['logreg', 'svm'] as const)('%s, lr 1e9: FAILED at round 2, naming the loss and the learning rate', async (algorithm) => {
    // Act
    const failed = train(algorithm, { lr: 1e9 });

    // Assess
    await expect(failed).rejects.toThrow(/round 2: local SGD diverged \(loss [\d.e+]+, over 1000× the (0\.6931|1) of zero weights\): lower the learning rate \(lr = 1000000000\)/);
  });

  it('a job that would end worse than zero weights (lr 500, 5 rounds) is FAILED, not SUCCEEDED', async () => {
    // Act
    const failed = train('logreg', { lr: 500, maxRounds: 5, tol: 0 });

    // Assess
    await expect(failed).rejects.toThrow(/round 5: local SGD did not converge: it ended at round 5 with loss [\d.]+, worse than the 0\.6931 of zero weights: lower the learning rate \(lr = 500\)/);
  });

  it('a sane learning rate on the same data still converges below the zero model', async () => {
    // Act
    const out = await train('logreg', { lr: 0.5 });

    // Assess
    expect(out.result).toMatchObject({ algorithm: 'logreg', converged: true });
    expect((out.result as { loss: number }).loss).toBeLessThan(Math.LN2);
  });
});
