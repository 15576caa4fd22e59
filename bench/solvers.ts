/*
 * Time to accuracy (KubeML's metric) of the logistic-regression solvers: rounds and wall time each
 * needs to reach the optimum's training accuracy (and within half a point of it, local SGD's target)
 * and its objective within 1e-6 (relative), beside
 * scikit-learn's L-BFGS on the same problem (bench/solvers.py: C = 1/(l2·n) on standardised columns).
 * Run by `npm run bench` (after its own cases) and alone by `npm run bench:solvers`.
 *
 *   BENCH_SOLVER_ROWS (default 200,000): rows of the synthetic case (40 columns in mixed units)
 *   --out FILE   also write the figures as JSON (nothing is written by default)
 *
 * Wall time is from the first round's fan-out to the end of the aggregation of the round that got
 * there (the local runtime, memory store, W = 4 workers × 1 thread): job start and data loading are
 * not counted, as scikit-learn's time does not count loading either.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDatasetSource } from '../src/data/sources/MemoryDatasetSource.js';
import type { TrainingData } from '../src/data/types.js';
import type { LogregSolver } from '../src/domain/spec.js';
import type { RoundMetrics } from '../src/domain/job.js';
import { LocalRuntime } from '../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../src/stores/MemoryStore.js';
import { Rng } from '../src/util/random.js';
import { label } from './cases.js';

const PYTHON = '/usr/bin/python3';
const WORKERS = 4;
const SOLVERS: { solver: LogregSolver; maxRounds: number }[] = [
  { solver: 'newton', maxRounds: 30 },
  { solver: 'lbfgs', maxRounds: 150 },
  { solver: 'gd', maxRounds: 400 },
  // Defaults: lr 0.5 (round r: 0.5/√r), batch 64, one pass per thread per round.
  { solver: 'local-sgd', maxRounds: 30 },
];

interface SklearnCase {
  name: string;
  rows: number;
  dims: number;
  objective: number;
  accuracy: number;
  default: { iterations: number; ms: number; gap: number };
  within1e6: { iterations: number; ms: number } | null;
}

interface Reached {
  round?: number;
  ms?: number;
}

/** 40 columns with offsets and scales from 1e-2 to 1e3, labels from a noisy linear rule. */
function mixedUnits(rows: number, dims: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const truth = Array.from({ length: dims }, () => rng.normal());
  const scale = Array.from({ length: dims }, (_, j) => 10 ** (-2 + (5 * j) / (dims - 1)));
  const offset = Array.from({ length: dims }, () => 10 * rng.normal());
  const features = new Float32Array(rows * dims);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = 0;
    for (let j = 0; j < dims; j++) {
      const v = rng.normal();
      features[i * dims + j] = offset[j]! + scale[j]! * v;
      z += truth[j]! * v;
    }
    labels[i] = z + 2 * rng.normal() > 0 ? 1 : 0;
  }
  const featureNames = Array.from({ length: dims }, (_, j) => `x${j}`);
  return { source: `mixed units ${label(rows)}×${dims}`, rows, dims, features, labels, featureNames, labelName: 'y' };
}

function fromRows(path: string, rows: number, cols: number, source: string): TrainingData {
  const all = new Float32Array(readFileSync(path).buffer.slice(0));
  const dims = cols - 1;
  const features = new Float32Array(rows * dims);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    features.set(all.subarray(i * cols, i * cols + dims), i * dims);
    labels[i] = all[i * cols + dims]!;
  }
  return { source, rows, dims, features, labels, featureNames: Array.from({ length: dims }, (_, j) => `x${j}`), labelName: 'y' };
}

function firstRound(rounds: RoundMetrics[], ok: (r: RoundMetrics) => boolean): Reached {
  const index = rounds.findIndex(ok);
  if (index < 0) return {};
  return { round: index + 1, ms: rounds[index]!.aggregatedAt - rounds[0]!.publishedAt };
}

function cell(reached: Reached): string {
  return reached.round === undefined ? 'not reached' : `${reached.round} (${reached.ms!.toFixed(0)} ms)`;
}

export async function solversBench(options: { rows?: number; out?: string } = {}): Promise<string> {
  const rows = options.rows ?? Number(process.env.BENCH_SOLVER_ROWS ?? 200_000);
  const dir = mkdtempSync(join(tmpdir(), 'bspml-solvers-'));
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  try {
    const mixed = mixedUnits(rows, 40, 7);
    writeFileSync(join(dir, 'mixed.x'), mixed.features);
    writeFileSync(join(dir, 'mixed.y'), mixed.labels!);
    const cases = [
      { name: 'breast cancer 569×30', rows: 569, dims: 30, l2: 1 / 569, dataset: 'breast_cancer', export: join(dir, 'cancer.f32') },
      { name: `${mixed.source}`, rows, dims: 40, l2: 1e-3, x: join(dir, 'mixed.x'), y: join(dir, 'mixed.y') },
    ];
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ cases }));
    const python = spawnSync(PYTHON, [fileURLToPath(new URL('./solvers.py', import.meta.url)), join(dir, 'job.json')], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
      maxBuffer: 1 << 24,
    });
    if (python.status !== 0) throw new Error(`bench/solvers.py failed: ${python.stderr || python.error}`);
    const reference = JSON.parse(python.stdout) as { sklearn: string; cases: SklearnCase[] };
    const datasets: TrainingData[] = [fromRows(join(dir, 'cancer.f32'), 569, 31, 'breast cancer'), mixed];

    log(`## Time to accuracy (${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)}; scikit-learn ${reference.sklearn})`);
    log('');
    log(`Ours: local runtime, memory store, W = ${WORKERS} × 1 thread, tol 0; "rounds (ms)" to the first round at the optimum's accuracy, and within 1e-6 (relative) of its objective.`);
    log("scikit-learn: LogisticRegression(solver='lbfgs', C = 1/(l2·n)) on StandardScaler'd columns, one thread.");
    log('');
    log('| data | l2 | solver | rounds to optimum accuracy | to within 0.5 point of it | rounds to objective within 1e-6 | final relative gap |');
    log('|---|---:|---|---:|---:|---:|---:|');
    const figures: unknown[] = [];
    for (let c = 0; c < cases.length; c++) {
      const spec = cases[c]!;
      const ref = reference.cases[c]!;
      const data = datasets[c]!;
      const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('d', data), defaultThreads: 1 });
      try {
        // Containers and threads start here, not in the first measured run's first round.
        await runtime.train({ algorithm: 'logreg', solver: 'gd', maxRounds: 1, workers: WORKERS, threads: 1, data: { uri: 'd' } });
        for (const { solver, maxRounds } of SOLVERS) {
          const out = await runtime.train({ algorithm: 'logreg', solver, l2: spec.l2, tol: 0, maxRounds, workers: WORKERS, threads: 1, data: { uri: 'd' } });
          const gapOf = (r: RoundMetrics) => (r.objective - ref.objective) / ref.objective;
          const accuracy = firstRound(out.rounds, (r) => r.stats.accuracy! >= ref.accuracy);
          // Local SGD's target (issue 11): the optimum's accuracy within half a percentage point.
          const nearAccuracy = firstRound(out.rounds, (r) => r.stats.accuracy! >= ref.accuracy - 0.005);
          const objective = firstRound(out.rounds, (r) => gapOf(r) <= 1e-6);
          const finalGap = gapOf(out.rounds.at(-1)!);
          log(`| ${spec.name} | ${spec.l2.toPrecision(3)} | ${solver} | ${cell(accuracy)} | ${cell(nearAccuracy)}${nearAccuracy.round === undefined ? '' : `, ${(100 * out.rounds[nearAccuracy.round - 1]!.stats.accuracy!).toFixed(2)} %`} | ${cell(objective)} | ${finalGap.toExponential(1)} |`);
          figures.push({ data: spec.name, solver, accuracy, nearAccuracy, objective, finalGap, rounds: out.rounds.length });
        }
      } finally {
        await runtime.close();
      }
      const within = ref.within1e6 ? `${ref.within1e6.iterations} (${ref.within1e6.ms.toFixed(0)} ms)` : 'not reached';
      log(`| ${spec.name} | ${spec.l2.toPrecision(3)} | scikit-learn lbfgs | — | — | ${within} iterations | defaults: ${ref.default.iterations} iterations, ${ref.default.ms.toFixed(0)} ms, gap ${ref.default.gap.toExponential(1)} |`);
      figures.push({ data: spec.name, sklearn: ref });
    }
    log('');
    log(`optimum (scikit-learn, tol 1e-12): ${reference.cases.map((r) => `${r.name}: objective ${r.objective.toPrecision(10)}, accuracy ${(100 * r.accuracy).toFixed(2)}%`).join('; ')}`);
    if (options.out) writeFileSync(options.out, `${JSON.stringify({ load: loadavg(), figures }, null, 2)}\n`);
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outIndex = process.argv.indexOf('--out');
  await solversBench({ out: outIndex > 0 ? process.argv[outIndex + 1] : undefined });
}
