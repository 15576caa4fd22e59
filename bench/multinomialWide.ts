/*
 * `npm run bench:wide`: time to accuracy of multinomial logistic regression on a many-class wide
 * problem built here (bench/imageLike.ts: BENCH_WIDE_ROWS rows, default 60,000, × 784 pixel columns,
 * 10 classes), C = 1, W = 1 worker × 2 threads: rounds and seconds to within 1e-3 and 1e-6
 * (relative) of the optimum, for our GIANT and L-BFGS, beside scipy's L-BFGS-B (what scikit-learn's
 * lbfgs runs) and scikit-learn's saga on the same data (bench/multinomialWide.py, /usr/bin/python3,
 * one BLAS thread); and the whole `bspml train` (CLI, CSV in, model out, defaults) against
 * scikit-learn's whole default run (read_csv, StandardScaler, LogisticRegression(C=1)).
 *
 *   BENCH_WIDE_ROWS (60000), BENCH_WIDE_ROUNDS (60), BENCH_WIDE_SKLEARN_ITERATIONS (500),
 *   BENCH_WIDE_PHASES (whole,ours,lbfgs,saga,optimum)
 *
 * The CSV and models go to <OS temp dir>/bspml-bench/wide/; nothing committed is written. The load
 * average is printed beside each timing: on a shared machine seconds are noisy, rounds are not.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDatasetSource } from '../src/data/sources/MemoryDatasetSource.js';
import type { RoundMetrics } from '../src/domain/job.js';
import { LocalRuntime } from '../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../src/stores/MemoryStore.js';
import { imageLike } from './imageLike.js';

const ROWS = Number(process.env.BENCH_WIDE_ROWS ?? 60_000);
const ROUNDS = Number(process.env.BENCH_WIDE_ROUNDS ?? 60);
const SKLEARN_ITERATIONS = Number(process.env.BENCH_WIDE_SKLEARN_ITERATIONS ?? 500);
const PHASES = (process.env.BENCH_WIDE_PHASES ?? 'whole,ours,lbfgs,saga,optimum').split(',');
const C = 1;
const DIR = join(tmpdir(), 'bspml-bench', 'wide');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const load = () => loadavg()[0]!.toFixed(1);
const log = (line: string) => process.stdout.write(`${line}\n`);

mkdirSync(DIR, { recursive: true });
let started = performance.now();
const data = imageLike(ROWS);
const csv = join(DIR, `wide-${ROWS}.csv`);
{
  const lines = [`${data.featureNames.join(',')},label`];
  for (let i = 0; i < ROWS; i++) lines.push(`${data.features.subarray(i * data.dims, (i + 1) * data.dims).join(',')},${data.labels![i]}`);
  writeFileSync(csv, `${lines.join('\n')}\n`);
}
log(`generated ${ROWS.toLocaleString('en-US')} × ${data.dims}, 10 classes, in ${((performance.now() - started) / 1000).toFixed(1)} s: ${csv}`);

function python(phases: string[]): Record<string, unknown> {
  const run = spawnSync('/usr/bin/python3', [join(ROOT, 'bench/multinomialWide.py'), csv, String(C), phases.join(','), String(SKLEARN_ITERATIONS)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (run.status !== 0) throw new Error(`scikit-learn's side failed: ${run.stderr || run.error}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

interface Trace {
  name: string;
  /** Objective after each round or iteration, and seconds since the start. */
  points: { objective: number; seconds: number }[];
  unit: string;
}
const traces: Trace[] = [];
const objectives: number[] = [];

if (PHASES.includes('whole')) {
  const l0 = load();
  const sklearn = python(['whole']).whole as { seconds: number; iterations: number; objective: number; accuracy: number };
  const l1 = load();
  const model = join(DIR, 'model.json');
  started = performance.now();
  const ours = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'train', 'logreg', '--data', csv, '--C', String(C), '--workers', '1', '--threads', '2', '--out', model, '--no-progress'], { encoding: 'utf8', cwd: ROOT });
  const seconds = (performance.now() - started) / 1000;
  if (ours.status !== 0) throw new Error(`bspml train failed: ${ours.stderr}`);
  const result = JSON.parse(readFileSync(model, 'utf8')) as { loss: number; rounds: number; solver: string; accuracy: number; converged: boolean };
  objectives.push(sklearn.objective, result.loss);
  log('');
  log('| whole run, 2 cores | seconds | iterations / rounds | objective | training accuracy | load |');
  log('|---|---:|---:|---:|---:|---:|');
  log(`| scikit-learn: read_csv, StandardScaler, LogisticRegression(C=1) | ${sklearn.seconds.toFixed(1)} | ${sklearn.iterations} | ${sklearn.objective.toPrecision(8)} | ${(100 * sklearn.accuracy).toFixed(2)} % | ${l0} |`);
  log(`| bspml train logreg --C 1 --workers 1 --threads 2 (${result.solver}, ${result.converged ? 'converged' : 'max rounds'}) | ${seconds.toFixed(1)} | ${result.rounds} | ${result.loss.toPrecision(8)} | ${(100 * result.accuracy).toFixed(2)} % | ${l1} |`);
  log(`ours / scikit-learn: ${(seconds / sklearn.seconds).toFixed(2)}× the time; objective ${result.loss <= sklearn.objective ? 'no worse' : 'worse'} (${((result.loss - sklearn.objective) / sklearn.objective).toExponential(1)} relative)`);
}

if (PHASES.includes('ours')) {
  const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('wide', data), defaultThreads: 2 });
  try {
    for (const solver of ['giant', 'lbfgs'] as const) {
      const l0 = load();
      const out = await runtime.train({ algorithm: 'logreg', solver, C, tol: 0, maxRounds: ROUNDS, workers: 1, threads: 2, data: { uri: 'wide' } });
      const first = out.rounds[0]!.publishedAt;
      const points = out.rounds.map((r: RoundMetrics) => ({ objective: r.objective, seconds: (r.aggregatedAt - first) / 1000 }));
      traces.push({ name: `ours, ${solver} (W = 1 × 2), load ${l0} → ${load()}`, points, unit: 'rounds' });
      // Printed now, so that a long scikit-learn side cut short does not lose them.
      log(`ours, ${solver}: objective per round ${points.map((p) => p.objective.toPrecision(7)).join(' ')}; ${points.at(-1)!.seconds.toFixed(1)} s`);
      objectives.push(...points.map((p) => p.objective));
    }
  } finally {
    await runtime.close();
  }
}

const wanted = PHASES.filter((p) => ['lbfgs', 'saga', 'optimum'].includes(p));
let optimum: { objective: number; gradNorm: number; iterations: number; seconds: number } | undefined;
if (wanted.length > 0) {
  const l0 = load();
  const out = python(wanted);
  const l1 = load();
  if (out.lbfgs) {
    const points = (out.lbfgs as [number, number][]).map(([objective, seconds]) => ({ objective, seconds }));
    traces.push({ name: `scipy L-BFGS-B, m = 10 (scikit-learn's lbfgs), one core, load ${l0} → ${l1}`, points, unit: 'iterations' });
    objectives.push(...points.map((p) => p.objective));
  }
  if (out.saga) {
    const records = out.saga as { epochs: number; seconds: number; objective: number }[];
    traces.push({ name: `scikit-learn saga (fresh fit per epoch count: ${records.map((r) => r.epochs).join(', ')}), one core`, points: records.map((r) => ({ objective: r.objective, seconds: r.seconds, epochs: r.epochs })), unit: 'epochs' });
    objectives.push(...records.map((r) => r.objective));
  }
  optimum = out.optimum as typeof optimum;
  if (optimum) objectives.push(optimum.objective);
}

const best = Math.min(...objectives);
log('');
log(`optimum: ${best.toPrecision(10)} (the lowest objective any run reached${optimum ? `; scipy L-BFGS-B run long: ${optimum.objective.toPrecision(10)}, gradient norm ${optimum.gradNorm.toExponential(1)}, ${optimum.iterations} iterations, ${optimum.seconds.toFixed(0)} s` : ''})`);
log('');
log('| solver | to within 1e-3 | to within 1e-6 | after the last | final relative gap |');
log('|---|---:|---:|---:|---:|');
for (const trace of traces) {
  const reach = (gap: number) => {
    const index = trace.points.findIndex((p) => (p.objective - best) / best <= gap);
    if (index < 0) return 'not reached';
    const p = trace.points[index]! as { seconds: number; epochs?: number };
    return `${p.epochs ?? index + 1} ${trace.unit} (${p.seconds.toFixed(1)} s)`;
  };
  const last = trace.points.at(-1)! as { objective: number; seconds: number; epochs?: number };
  log(`| ${trace.name} | ${reach(1e-3)} | ${reach(1e-6)} | ${last.epochs ?? trace.points.length} ${trace.unit} (${last.seconds.toFixed(1)} s) | ${((last.objective - best) / best).toExponential(1)} |`);
}
