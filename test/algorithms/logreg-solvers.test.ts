import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logreg } from '../../src/algorithms/index.js';
import { tailOffsets } from '../../src/algorithms/logreg/secondOrder.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { summarizeData } from '../../src/data/summary.js';
import { parseJobSpec, type LogregSpec } from '../../src/domain/spec.js';
import type { LogregResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { trainOverModel, useTempDirs } from '../helpers/cli.js';
import { noisy } from '../helpers/data.js';
import { maxRelativeError, referenceLogregOptimum } from '../helpers/reference.js';

/*
 * The solvers of logistic regression against a plain sequential Newton written in the tests
 * (test/helpers/reference.ts): objective and weights to 1e-6, and the line search's promise that
 * it costs no round while the full step is good.
 */

/** Columns of different units and offsets, one label in six flipped: not separable. */
const DATA = noisy(900, 5, 17, { first: [30, -7], last: [0.05, 3], flipEvery: 6 });
const L2 = 0.02;
const FLOOR = 1e-3;

function spec(overrides: Record<string, unknown>): LogregSpec {
  return parseJobSpec({ algorithm: 'logreg', data: { uri: 'd' }, ...overrides }) as LogregSpec;
}

/** One round over all rows in one block, straight through the algorithm. */
function round(s: LogregSpec, model: Float64Array) {
  const shape = logreg.shape(s, DATA);
  const merged = new Float64Array(logreg.partialLength(shape));
  logreg.partial(shape, model, { features: DATA.features, labels: DATA.labels, dims: DATA.dims, start: 0, end: DATA.rows }, merged);
  return logreg.update(s, shape, model, merged);
}

describe('logistic-regression solvers', () => {
  let runtime: LocalRuntime;
  const optimum = referenceLogregOptimum(DATA, L2);

  beforeAll(() => {
    runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('d', DATA), defaultThreads: 1 });
  });
  afterAll(async () => {
    await runtime?.close();
  });

  it('the reference itself converged (a handful of Newton iterations)', () => {
    expect(optimum.iterations).toBeLessThan(20);
    expect(optimum.objective).toBeGreaterThan(0.3);
  });

  it.each([
    { solver: 'newton', maxRounds: 30 },
    { solver: 'lbfgs', maxRounds: 80 },
    { solver: 'gd', maxRounds: 3000 },
  ])('$solver reaches the reference optimum: objective and weights to 1e-6', async ({ solver, maxRounds }) => {
    // Act
    const out = await runtime.train({ algorithm: 'logreg', solver, l2: L2, tol: 1e-9, maxRounds, workers: 2, threads: 1, data: { uri: 'd' } });

    // Assess
    const result = out.result as LogregResult;
    expect(result.converged).toBe(true);
    expect(Math.abs(result.loss - optimum.objective) / optimum.objective).toBeLessThanOrEqual(1e-6);
    expect(maxRelativeError(result.weights, optimum.weights, FLOOR)).toBeLessThanOrEqual(1e-6);
    expect(maxRelativeError([result.bias], [optimum.bias], FLOOR)).toBeLessThanOrEqual(1e-6);
  }, 30_000);

  it('newton: one round per iteration while full steps are good (the line search rides along), and at most 10 rounds here', async () => {
    // Act
    const out = await runtime.train({ algorithm: 'logreg', solver: 'newton', l2: L2, tol: 1e-9, workers: 3, threads: 1, data: { uri: 'd' } });

    // Assess: round 0 evaluates the start; every later round accepted the step it evaluated.
    expect(out.result.converged).toBe(true);
    expect(out.rounds.length).toBeLessThanOrEqual(10);
    expect(out.rounds.slice(1).map((r) => r.stats.step)).toEqual(out.rounds.slice(1).map(() => 1));
    for (let r = 1; r < out.rounds.length; r++) expect(out.rounds[r]!.objective).toBeLessThanOrEqual(out.rounds[r - 1]!.objective);
  }, 30_000);

  it('a step that raises the objective is refused; the best trial step measured in the same round is taken next, without a test', () => {
    // Prepare: round 0, then the direction it chose made 30 times too long.
    const s = spec({ solver: 'newton', l2: L2, tol: 1e-9 });
    const first = round(s, logreg.init(s, summarizeData(DATA, { seed: 0, sampleSize: 0 })));
    const o = tailOffsets(DATA.dims);
    const stretched = Float64Array.from(first.model);
    for (let j = 0; j < o.n; j++) {
      stretched[o.dir + j]! *= 30;
      stretched[o.rawDir + j]! *= 30;
    }
    // The point evaluated is base + 30·p: in input space, base's weights plus the stretched raw direction.
    const baseRaw = Float64Array.from(first.model.subarray(0, o.n)).map((v, j) => v - first.model[o.rawDir + j]!);
    for (let j = 0; j < o.n; j++) stretched[j] = baseRaw[j]! + stretched[o.rawDir + j]!;

    // Act
    const refused = round(s, stretched);
    const next = round(s, refused.model);

    // Assess: the refused round reports the base's objective and a shorter step; the round after
    // accepts that point (its objective below the base's) and goes on to the optimum.
    expect(refused.stats.step).toBeLessThan(1);
    expect(refused.objective).toBe(first.objective);
    expect(next.objective).toBeLessThan(first.objective);
    let update = next;
    for (let r = 0; r < 20 && !update.converged; r++) update = round(s, update.model);
    expect(update.converged).toBe(true);
    expect(Math.abs(update.objective - optimum.objective) / optimum.objective).toBeLessThanOrEqual(1e-9);
  });

  it('gd with lr = 1e9 on data that is not separable backs off and ends near the optimum (defect 3), the objective never rising', async () => {
    // Act
    const out = await runtime.train({ algorithm: 'logreg', solver: 'gd', lr: 1e9, l2: L2, maxRounds: 300, workers: 2, threads: 1, data: { uri: 'd' } });

    // Assess
    const result = out.result as LogregResult;
    expect(out.rounds.at(-1)!.stats.stepScale).toBeLessThan(1e-8);
    expect(Math.abs(result.loss - optimum.objective) / optimum.objective).toBeLessThan(1e-3);
    for (let r = 1; r < out.rounds.length; r++) expect(out.rounds[r]!.objective).toBeLessThanOrEqual(out.rounds[r - 1]!.objective);
  }, 30_000);

  it("C is scikit-learn's: C = 1 / (l2 · rows) gives the model l2 gives", async () => {
    // Act
    const byL2 = await runtime.train({ algorithm: 'logreg', l2: L2, tol: 1e-10, data: { uri: 'd' } });
    const byC = await runtime.train({ algorithm: 'logreg', C: 1 / (L2 * DATA.rows), tol: 1e-10, data: { uri: 'd' } });

    // Assess
    const a = byL2.result as LogregResult;
    const b = byC.result as LogregResult;
    expect(a.solver).toBe('newton');
    expect(maxRelativeError(b.weights, a.weights, FLOOR)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(b.loss - a.loss) / a.loss).toBeLessThanOrEqual(1e-12);
  }, 30_000);
});

describe('bspml train logreg: solver options', () => {
  const tempDir = useTempDirs();

  async function failing(argv: string[]) {
    const result = await trainOverModel(await tempDir(), ['logreg', ...argv]);
    expect(result.modelKept).toBe(true);
    return result;
  }

  it('an unknown --solver: one line naming the option and the choices, nothing overwritten', async () => {
    const result = await failing(['--solver', 'sag']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: option '--solver <name>' argument 'sag' is invalid. must be one of: newton, lbfgs, gd, local-sgd, giant.\n(run with --help for usage)\n");
  });

  it('--C with --l2: one line naming C, nothing overwritten', async () => {
    const result = await failing(['--C', '1', '--l2', '0.1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('bspml: error: invalid job spec: C: give l2 or C (= 1 / (l2 · rows)), not both\n');
  });

  it('--C 0: refused, naming the option', async () => {
    const result = await failing(['--C', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: option '--C <x>' argument '0' is invalid\./);
  });
});
