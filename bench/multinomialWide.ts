/*
 * `npm run bench:wide`: time to accuracy of multinomial logistic regression on a many-class wide
 * problem built here (bench/imageLike.ts: BENCH_WIDE_ROWS rows, default 60,000, × 784 pixel columns,
 * 10 classes), C = 1, W = 1 worker × 2 threads: rounds and seconds to within 1e-3 and 1e-6
 * (relative) of the optimum, for our GIANT and L-BFGS, beside scipy's L-BFGS-B (what scikit-learn's
 * lbfgs runs) and scikit-learn's saga on the same data (bench/multinomialWide.py, /usr/bin/python3,
 * one BLAS thread); and the whole `bspml train` (CLI, CSV in, model out, defaults) against
 * scikit-learn's whole default run (read_csv, StandardScaler, LogisticRegression(C=1)).
 *
 *   BENCH_WIDE_CLI (built: `node bin/bspml.js`, the compiled CLI that `bspml` runs, which
 *   `npm run bench:wide` builds first; source: `node --import tsx src/cli/main.ts`, the sources
 *   compiled as they load, in the main thread and in each inner thread, as the whole phase ran
 *   before 2026-12-06),
 *   BENCH_WIDE_ROWS (60000), BENCH_WIDE_ROUNDS (60: GIANT's rounds), BENCH_WIDE_LBFGS_ROUNDS (as
 *   many: ours, L-BFGS), BENCH_WIDE_SKLEARN_ITERATIONS (500), BENCH_WIDE_REPEATS (3: whole-run
 *   pairs, scikit-learn and ours interleaved), BENCH_WIDE_SOLVERS (giant,lbfgs: the ours phase's),
 *   BENCH_WIDE_LAYOUTS (1x2: the ours phase's W × I, comma-separated), BENCH_WIDE_WHOLE_SOLVERS
 *   (default: the whole phase's runs of ours after each scikit-learn run, the CLI's default solver
 *   or `--solver lbfgs|giant`, comma-separated),
 *   BENCH_WIDE_PHASES
 *   (whole,ours,lbfgs,saga,optimum), BENCH_WIDE_OPTIMUM (an optimum measured before, for the gaps
 *   when the optimum phase is left out: 0.1805060118 at 20,000 rows)
 *
 * The `ours` phase also prints the default rule's measure (src/algorithms/logreg/multinomial.ts):
 * the round and compute seconds at which our L-BFGS first reaches the objective GIANT had after
 * its last round, beside GIANT's.
 *
 * The CSV and models go to <OS temp dir>/bspml-bench/wide/; nothing committed is written. The load
 * average is printed beside each timing: on a shared machine seconds are noisy, rounds are not.
 */
import { spawnSync, type SpawnSyncOptionsWithStringEncoding, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDatasetSource } from '../src/data/sources/MemoryDatasetSource.js';
import type { RoundMetrics } from '../src/domain/job.js';
import { LocalRuntime } from '../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../src/stores/MemoryStore.js';
import { imageLike } from './imageLike.js';

/** A positive number from the environment (a whole one unless `real`), else exit with one line naming the variable. */
function setting(name: string, fallback: number, real = false): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !(value > 0) || !Number.isFinite(value) || (!real && !Number.isInteger(value))) {
    process.stderr.write(`bench:wide: ${name}=${raw}: must be a positive ${real ? 'number' : 'whole number'}\n`);
    process.exit(1);
  }
  return value;
}

const ROWS = setting('BENCH_WIDE_ROWS', 60_000);
const ROUNDS = setting('BENCH_WIDE_ROUNDS', 60);
const LBFGS_ROUNDS = setting('BENCH_WIDE_LBFGS_ROUNDS', ROUNDS);
const KNOWN_OPTIMUM = process.env.BENCH_WIDE_OPTIMUM === undefined ? undefined : setting('BENCH_WIDE_OPTIMUM', 0, true);
const SKLEARN_ITERATIONS = setting('BENCH_WIDE_SKLEARN_ITERATIONS', 500);
const WHOLE_REPEATS = setting('BENCH_WIDE_REPEATS', 3);
const CLI = process.env.BENCH_WIDE_CLI ?? 'built';
if (CLI !== 'built' && CLI !== 'source') {
  process.stderr.write(`bench:wide: BENCH_WIDE_CLI=${CLI}: must be built or source\n`);
  process.exit(1);
}
const SOLVERS = (process.env.BENCH_WIDE_SOLVERS ?? 'giant,lbfgs').split(',') as ('giant' | 'lbfgs')[];
if (SOLVERS.length === 0 || SOLVERS.some((s) => s !== 'giant' && s !== 'lbfgs')) {
  process.stderr.write(`bench:wide: BENCH_WIDE_SOLVERS=${process.env.BENCH_WIDE_SOLVERS}: must be giant, lbfgs or both, comma-separated\n`);
  process.exit(1);
}
/** The whole phase's runs of ours after each scikit-learn run: the CLI's default, or --solver NAME. */
const WHOLE_SOLVERS = (process.env.BENCH_WIDE_WHOLE_SOLVERS ?? 'default').split(',');
if (WHOLE_SOLVERS.some((s) => !['default', 'lbfgs', 'giant'].includes(s))) {
  process.stderr.write(`bench:wide: BENCH_WIDE_WHOLE_SOLVERS=${process.env.BENCH_WIDE_WHOLE_SOLVERS}: must be default, lbfgs or giant, comma-separated\n`);
  process.exit(1);
}
/** W × I layouts of the ours phase (BENCH_WIDE_LAYOUTS, e.g. 1x2,2x1,2x2; default 1x2). */
const LAYOUTS = (process.env.BENCH_WIDE_LAYOUTS ?? '1x2').split(',').map((layout) => {
  const match = /^(\d+)x(\d+)$/.exec(layout);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    process.stderr.write(`bench:wide: BENCH_WIDE_LAYOUTS=${process.env.BENCH_WIDE_LAYOUTS}: must be WxI pairs of positive whole numbers, comma-separated (1x2,2x1)\n`);
    process.exit(1);
  }
  return { workers: Number(match[1]), threads: Number(match[2]) };
});
/** Our L-BFGS's objective per round, when the ours phase ran it: compared with scipy's per evaluation. */
let ourLbfgs: number[] | undefined;
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

/**
 * GNU time, where installed: the whole phase reports each side's processor time (user + system of
 * the process and its threads, start-up included), which a shared machine's load moves less than
 * wall time.
 */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Runs a command, under GNU time when there is one; its processor seconds from time's last line of stderr. */
function timed(command: string, args: string[], options: SpawnSyncOptionsWithStringEncoding): { run: SpawnSyncReturns<string>; cpuSeconds?: number } {
  if (!TIME) return { run: spawnSync(command, args, options) };
  const run = spawnSync(TIME, ['-f', 'cpu %U %S', command, ...args], options);
  const match = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(run.stderr ?? '');
  return { run, ...(match ? { cpuSeconds: Number(match[1]) + Number(match[2]) } : {}) };
}

function python(phases: string[]): Record<string, unknown> & { cpuSeconds?: number } {
  const { run, cpuSeconds } = timed('/usr/bin/python3', [join(ROOT, 'bench/multinomialWide.py'), csv, String(C), phases.join(','), String(SKLEARN_ITERATIONS)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (run.status !== 0) throw new Error(`scikit-learn's side failed: ${run.stderr || run.error}`);
  return { ...(JSON.parse(run.stdout) as Record<string, unknown>), ...(cpuSeconds !== undefined ? { cpuSeconds } : {}) };
}

const cpu = (seconds: number | undefined) => (seconds === undefined ? '—' : seconds.toFixed(1));

interface Trace {
  name: string;
  /** Objective after each round or iteration, and seconds since the start. */
  points: { objective: number; seconds: number }[];
  unit: string;
}
const traces: Trace[] = [];
const objectives: number[] = [];

if (PHASES.includes('whole')) {
  if (CLI === 'built' && !existsSync(join(ROOT, 'dist/cli/main.js'))) {
    process.stderr.write('bench:wide: dist/ is missing: run npm run build (npm run bench:wide does), or set BENCH_WIDE_CLI=source\n');
    process.exit(1);
  }
  log(`ours: ${CLI === 'built' ? 'node bin/bspml.js (the compiled CLI)' : 'node --import tsx src/cli/main.ts (from the sources)'}`);
  // Interleaved (scikit-learn, ours, scikit-learn, …) so that both sides see the same swings of a
  // shared machine's load; each pair's ratio is reported, then their spread.
  log('');
  log('| whole run, 2 cores | seconds | processor seconds | iterations / rounds | objective | training accuracy | load |');
  log('|---|---:|---:|---:|---:|---:|---:|');
  const ratios: Record<string, number[]> = {};
  const cpuRatios: Record<string, number[]> = {};
  for (let repeat = 0; repeat < WHOLE_REPEATS; repeat++) {
    const l0 = load();
    const side = python(['whole']);
    const sklearn = side.whole as { seconds: number; iterations: number; objective: number; accuracy: number };
    log(`| scikit-learn: read_csv, StandardScaler, LogisticRegression(C=1) | ${sklearn.seconds.toFixed(1)} | ${cpu(side.cpuSeconds)} | ${sklearn.iterations} | ${sklearn.objective.toPrecision(8)} | ${(100 * sklearn.accuracy).toFixed(2)} % | ${l0} |`);
    for (const solver of WHOLE_SOLVERS) {
      const l1 = load();
      const model = join(DIR, 'model.json');
      started = performance.now();
      const entry = CLI === 'built' ? [join(ROOT, 'bin/bspml.js')] : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
      const asked = solver === 'default' ? [] : ['--solver', solver];
      const { run: ours, cpuSeconds } = timed(process.execPath, [...entry, 'train', 'logreg', '--data', csv, '--C', String(C), ...asked, '--workers', '1', '--threads', '2', '--out', model, '--no-progress'], { encoding: 'utf8', cwd: ROOT });
      const seconds = (performance.now() - started) / 1000;
      if (ours.status !== 0) throw new Error(`bspml train failed: ${ours.stderr}`);
      const result = JSON.parse(readFileSync(model, 'utf8')) as { loss: number; rounds: number; solver: string; accuracy: number; converged: boolean };
      objectives.push(sklearn.objective, result.loss);
      (ratios[solver] ??= []).push(seconds / sklearn.seconds);
      if (cpuSeconds !== undefined && side.cpuSeconds !== undefined) (cpuRatios[solver] ??= []).push(cpuSeconds / side.cpuSeconds);
      log(`| bspml train logreg --C 1${asked.length ? ` --solver ${solver}` : ''} --workers 1 --threads 2 (${result.solver}, ${result.converged ? 'converged' : 'max rounds'}) | ${seconds.toFixed(1)} | ${cpu(cpuSeconds)} | ${result.rounds} | ${result.loss.toPrecision(8)} | ${(100 * result.accuracy).toFixed(2)} % | ${l1} |`);
      log(`| ours / scikit-learn: ${(seconds / sklearn.seconds).toFixed(2)}× the time; objective ${result.loss <= sklearn.objective ? 'no worse' : 'worse'} (${((result.loss - sklearn.objective) / sklearn.objective).toExponential(1)} relative) | | | | | | |`);
    }
  }
  const spread = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${sorted.map((r) => r.toFixed(2)).join(', ')} (median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)})`;
  };
  for (const solver of WHOLE_SOLVERS) {
    const named = solver === 'default' ? '' : ` (--solver ${solver})`;
    log(`ours${named} / scikit-learn over ${ratios[solver]!.length} interleaved pairs, wall time: ${spread(ratios[solver]!)}`);
    if (cpuRatios[solver]) log(`ours${named} / scikit-learn, processor time (/usr/bin/time, start-up included): ${spread(cpuRatios[solver])}`);
  }
}

if (PHASES.includes('ours')) {
  const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('wide', data), defaultThreads: 2 });
  try {
    const compute: Record<string, { objective: number; seconds: number; computeSeconds: number }[]> = {};
    for (const { workers, threads } of LAYOUTS) for (const solver of SOLVERS) {
      const l0 = load();
      const out = await runtime.train({ algorithm: 'logreg', solver, C, tol: 0, maxRounds: solver === 'giant' ? ROUNDS : LBFGS_ROUNDS, workers, threads, data: { uri: 'wide' } });
      const first = out.rounds[0]!.publishedAt;
      const points = out.rounds.map((r: RoundMetrics) => ({ objective: r.objective, seconds: (r.aggregatedAt - first) / 1000 }));
      let summed = 0;
      // The default rule's measure below compares the solvers on the first layout.
      compute[solver] ??= out.rounds.map((r: RoundMetrics, i: number) => ({ objective: r.objective, seconds: points[i]!.seconds, computeSeconds: (summed += r.computeMs) / 1000 }));
      traces.push({ name: `ours, ${solver} (W = ${workers} × ${threads}), load ${l0} → ${load()}`, points, unit: 'rounds' });
      // Printed now, so that a long scikit-learn side cut short does not lose them.
      log(`ours, ${solver} (W = ${workers} × ${threads}): objective per round ${points.map((p) => p.objective.toPrecision(7)).join(' ')}; ${points.at(-1)!.seconds.toFixed(1)} s`);
      const solves = out.rounds.filter((r: RoundMetrics) => r.stats.cgIterations !== undefined).map((r: RoundMetrics) => r.stats.cgIterations!);
      if (solves.length > 0) log(`ours, ${solver} (W = ${workers} × ${threads}): CG iterations per solve round ${solves.map((c: number) => +c.toFixed(1)).join(' ')}`);
      objectives.push(...points.map((p) => p.objective));
    }
    ourLbfgs = compute.lbfgs?.map((p) => p.objective);
    // The default rule's measure: rounds and seconds to the objective GIANT ended at (the objective a
    // round reports is the model's that entered it: the last round's is what GIANT had reached).
    const giant = compute.giant;
    if (giant && compute.lbfgs) {
      const target = giant.at(-1)!.objective;
      const at = compute.lbfgs.findIndex((p) => p.objective <= target);
      const lbfgs = compute.lbfgs[at];
      log(
        `to GIANT's objective after ${giant.length} rounds (${target.toPrecision(7)}): GIANT ${giant.length} rounds, ${giant.at(-1)!.seconds.toFixed(1)} s (compute ${giant.at(-1)!.computeSeconds.toFixed(1)} s); ` +
          (lbfgs ? `L-BFGS ${at + 1} rounds, ${lbfgs.seconds.toFixed(1)} s (compute ${lbfgs.computeSeconds.toFixed(1)} s)` : `L-BFGS not within its ${LBFGS_ROUNDS} rounds`),
      );
      // And the other way: to the objective L-BFGS ended at (where it stops in a default run).
      const lbfgsTarget = compute.lbfgs.at(-1)!.objective;
      const giantAt = giant.findIndex((p) => p.objective <= lbfgsTarget);
      const reached = giant[giantAt];
      log(
        `to L-BFGS's objective after ${compute.lbfgs.length} rounds (${lbfgsTarget.toPrecision(7)}): L-BFGS ${compute.lbfgs.length} rounds, ${compute.lbfgs.at(-1)!.seconds.toFixed(1)} s (compute ${compute.lbfgs.at(-1)!.computeSeconds.toFixed(1)} s); ` +
          (reached ? `GIANT ${giantAt + 1} rounds, ${reached.seconds.toFixed(1)} s (compute ${reached.computeSeconds.toFixed(1)} s)` : `GIANT not within its ${ROUNDS} rounds`),
      );
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
    const records = out.lbfgs as [number, number, number][];
    const points = records.map(([objective, seconds]) => ({ objective, seconds }));
    // Evaluation by evaluation: a round of ours evaluates one point (the first, the start), as one
    // evaluation of scipy's does; scipy's iterations take one or more.
    if (ourLbfgs) {
      const scipyAfter = (evaluations: number) => records.filter(([, , e]) => e <= evaluations).at(-1)?.[0];
      for (const at of [30, 60, 100, 120].filter((e) => e <= ourLbfgs!.length)) {
        log(`after ${at} evaluations: ours (lbfgs, ${at} rounds) ${ourLbfgs[at - 1]!.toPrecision(7)}, scipy L-BFGS-B (m = 10) ${scipyAfter(at)?.toPrecision(7) ?? '—'}`);
      }
    }
    log(`scipy L-BFGS-B: ${records.length} iterations took ${records.at(-1)?.[2]} evaluations; after 100 iterations ${records[99]?.[2] ?? '—'} (objective ${records[99]?.[0].toPrecision(7) ?? '—'})`);
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

// The whole phase alone has no trace to measure against an optimum.
if (traces.length === 0) process.exit(0);
const best = Math.min(...objectives, KNOWN_OPTIMUM ?? Infinity);
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
