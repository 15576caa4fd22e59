/*
 * `npm run bench`: our kernels and inner threads against scikit-learn / numpy on the same data,
 * plus inner-thread scaling, worker↔thread traffic per round and the local runtime's per-round
 * overhead. Prints a table of ratios (ours / reference) and writes bench.json to
 * `npm run bench -- --out DIR` (default <OS temp dir>/bspml-bench/bench); `-- --update-docs`
 * refreshes the committed docs/bench/bench.json, on purpose.
 *
 * Environment: BENCH_ROWS (default 1,000,000) scales every data set down for a quick look;
 * BENCH_REPEATS (default 11) timed repetitions after one warm-up; BSPML_KERNELS=js benchmarks the
 * TypeScript fallback instead, BSPML_KERNELS=simd128 the WebAssembly build without relaxed SIMD;
 * BENCH_JS_SCALING=0 skips the TypeScript kernels' scaling run. The reference runs twice, before and
 * after our timings.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kmeans, logreg } from '../src/algorithms/index.js';
import { multinomialBench } from './multinomial.js';
import { solversBench } from './solvers.js';
import { kmeansCase, label, logregCase, type KmeansCase, type LogregCase } from './cases.js';
import { formatLoading, runLoadingBench } from './loading.js';
import { formatParse, runParseBench } from './parse-threads.js';
import { logregModel, summarise, timeRounds, type RoundTiming, type Timing } from './pools.js';
import type { Shape } from '../src/algorithms/types.js';
import { MemoryDatasetSource } from '../src/data/sources/MemoryDatasetSource.js';
import { sliceShard, type TrainingData } from '../src/data/types.js';
import { ThreadPool } from '../src/inner/ThreadPool.js';
import { kernelInfo } from '../src/kernels/backend.js';
import type { KmeansSpec, LogregSpec } from '../src/domain/spec.js';
import { LocalRuntime } from '../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../src/stores/MemoryStore.js';
import { benchOutputDir } from '../src/bench/output.js';

const { values: args } = parseArgs({ options: { out: { type: 'string' }, 'update-docs': { type: 'boolean' } } });
/** Checked before the run: a bad --out or --update-docs fails now, not after minutes of timing. */
const outDir = benchOutputDir('bench', { out: args.out, updateDocs: args['update-docs'] });
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 11);
const PYTHON = '/usr/bin/python3';
const root = fileURLToPath(new URL('..', import.meta.url));

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Reference side: /usr/bin/python3 with scikit-learn, numpy and threadpoolctl, one thread.

interface PythonTiming {
  case: string;
  median_ms: number;
  min_ms: number;
  samples_ms: number[];
  how: string;
}

interface PythonResult {
  sklearn: string;
  numpy: string;
  threadpools: Record<string, unknown>[];
  kmeans: PythonTiming[];
  logreg: PythonTiming[];
}

function pythonEnv(): NodeJS.ProcessEnv {
  // This machine may set OpenBLAS overrides (core type, L2 size) that misdescribe it: let OpenBLAS
  // detect the CPU itself for the reference, and pin every thread pool to one thread.
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

function referenceAvailable(): { ok: true } | { ok: false; reason: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import sklearn, numpy, threadpoolctl'], { env: pythonEnv(), encoding: 'utf8' });
  if (probe.error) return { ok: false, reason: `${PYTHON} not found` };
  if (probe.status !== 0) return { ok: false, reason: `scikit-learn/numpy/threadpoolctl not importable by ${PYTHON} (apt-get install -y python3-sklearn)` };
  return { ok: true };
}

/** Writes the data both sides use for the reference to `dir`; returns the job file runReference() takes. */
function writeReferenceJob(dir: string, kmeansCases: KmeansCase[], logregCases: LogregCase[]): string {
  const f32 = (name: string, values: ArrayLike<number>) => {
    const path = join(dir, name);
    const array = values instanceof Float32Array ? values : Float32Array.from(values);
    writeFileSync(path, new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    return path;
  };
  const job = {
    repeats: REPEATS,
    kmeans: kmeansCases.map((c, i) => ({
      name: c.name,
      x: f32(`km${i}.x`, c.data.features),
      centroids: f32(`km${i}.c`, c.centroids),
      rows: c.data.rows,
      dims: c.data.dims,
      k: c.k,
    })),
    logreg: logregCases.map((c, i) => ({
      name: c.name,
      x: f32(`lr${i}.x`, c.data.features),
      y: f32(`lr${i}.y`, c.data.labels!),
      w: f32(`lr${i}.w`, c.w.subarray(0, c.data.dims)),
      rows: c.data.rows,
      dims: c.data.dims,
    })),
  };
  const jobPath = join(dir, 'job.json');
  writeFileSync(jobPath, JSON.stringify(job));
  return jobPath;
}

function runReference(jobPath: string): PythonResult {
  const run = spawnSync(PYTHON, [join(root, 'bench', 'reference.py'), jobPath], { env: pythonEnv(), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`reference run failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as PythonResult;
}

/**
 * Two reference runs, one before our timings and one after, case by case: the fastest of both
 * windows (and the median of all samples). This machine's speed drifts over a minute (other tenants),
 * so one window could favour either side; the faster of two favours the reference.
 */
function mergeReferences(before: PythonResult, after: PythonResult): PythonResult {
  const merge = (a: PythonTiming[], b: PythonTiming[]) =>
    a.map((t, i) => {
      const samples = [...t.samples_ms, ...b[i]!.samples_ms];
      return { ...t, min_ms: Math.min(...samples), median_ms: summarise(samples).medianMs, samples_ms: samples };
    });
  return { ...before, kmeans: merge(before.kmeans, after.kmeans), logreg: merge(before.logreg, after.logreg) };
}

// ---------------------------------------------------------------------------------------------
// Local runtime overhead: a round's wall time minus its compute, memory store, W = 8.

async function localRoundOverhead(): Promise<{ workers: number; rounds: number; overhead: Timing; compute: Timing; round: Timing }> {
  const workers = 8;
  // Logistic regression with tol 0 runs every round to maxRounds (k-means would stop once it settles).
  const c = logregCase(16_000, 4, 5);
  const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('lr', c.data), defaultThreads: 1 });
  try {
    const spec = { algorithm: 'logreg', lr: 0.5, l2: 0, maxRounds: 40, tol: 0, workers, threads: 1, data: { uri: 'lr' } };
    await runtime.train(spec); // warm containers and JIT
    const out = await runtime.train(spec);
    // Round 1 of a job loads shards into containers: that is load time, not per-round overhead.
    const rounds = out.rounds.slice(1);
    const walls = rounds.map((r) => r.aggregatedAt - r.publishedAt);
    return {
      workers,
      rounds: rounds.length,
      overhead: summarise(rounds.map((r, i) => walls[i]! - r.computeMs)),
      compute: summarise(rounds.map((r) => r.computeMs)),
      round: summarise(walls),
    };
  } finally {
    await runtime.close();
  }
}

// ---------------------------------------------------------------------------------------------

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

async function main(): Promise<void> {
  const started = performance.now();
  // Other processes on the machine take cores from the 2-thread runs first: record how busy it was.
  const loadBefore = loadavg()[0]!;
  const kernels = kernelInfo();
  log(`kernels: ${kernels.kind === 'wasm' ? `wasm (${kernels.build} build)` : `js (${kernels.reason})`}; rows ${ROWS.toLocaleString('en-US')}; ${REPEATS} repeats`);

  log('generating data…');
  const kmeansCases = [kmeansCase(ROWS, 16, 16, 1), kmeansCase(ROWS, 64, 64, 2)];
  const logregCases = [logregCase(ROWS, 32, 3)];

  const available = referenceAvailable();
  const referenceDir = mkdtempSync(join(tmpdir(), 'bspml-bench-'));
  // The data files there run to hundreds of MB: gone however the bench ends.
  process.on('exit', () => rmSync(referenceDir, { recursive: true, force: true }));
  let referenceJob: string | undefined;
  let referenceBefore: PythonResult | undefined;
  if (available.ok) {
    log('scikit-learn / numpy reference, one thread (first of two runs)…');
    referenceJob = writeReferenceJob(referenceDir, kmeansCases, logregCases);
    referenceBefore = runReference(referenceJob);
  } else {
    log(`reference skipped: ${available.reason}`);
  }

  log('our rounds, 1 and 2 threads…');
  const ours: { name: string; threads1: RoundTiming; threads2: RoundTiming }[] = [];
  for (const c of kmeansCases) {
    const shape: Shape = { algorithm: 'kmeans', dims: c.data.dims, k: c.k };
    const [threads1, threads2] = await timeRounds(c.data, shape, c.centroids, [1, 2], REPEATS);
    ours.push({ name: c.name, threads1: threads1!, threads2: threads2! });
  }
  for (const c of logregCases) {
    const shape: Shape = { algorithm: 'logreg', dims: c.data.dims, k: 1 };
    const [threads1, threads2] = await timeRounds(c.data, shape, logregModel(c.w, c.data.dims), [1, 2], REPEATS);
    ours.push({ name: c.name, threads1: threads1!, threads2: threads2! });
  }

  // The same scaling on the TypeScript kernels: scalar code, for comparison with the SIMD kernels'
  // (two vCPUs that share one core's vector units scale scalar code better than SIMD code).
  let jsScaling: { case: string; threads1: Timing; threads2: Timing; speedup: number } | undefined;
  if (kernels.kind === 'wasm' && process.env.BENCH_JS_SCALING !== '0') {
    log('scaling of the TypeScript kernels, for comparison…');
    process.env.BSPML_KERNELS = 'js';
    const c = kmeansCases[0]!;
    const [t1, t2] = await timeRounds(c.data, { algorithm: 'kmeans', dims: c.data.dims, k: c.k }, c.centroids, [1, 2], Math.min(REPEATS, 5));
    delete process.env.BSPML_KERNELS;
    jsScaling = { case: c.name, threads1: t1!.compute, threads2: t2!.compute, speedup: t1!.compute.minMs / t2!.compute.minMs };
  }

  log('traffic between a worker and its threads…');
  const traffic: { rows: number; dims: number; k: number; threads: number; bytesPerRound: number; modelBytes: number; partialBytes: number }[] = [];
  for (const [dims, k] of [
    [16, 16],
    [64, 64],
  ] as const) {
    for (const rows of [Math.max(1000, Math.floor(ROWS / 10)), ROWS]) {
      const c = kmeansCase(rows, dims, k, 4);
      const shape: Shape = { algorithm: 'kmeans', dims, k };
      const pool = new ThreadPool(2);
      await pool.ready;
      pool.addShard('t', sliceShard(c.data, 0, 1));
      await pool.partial('t', rows, shape, c.centroids);
      traffic.push({
        rows,
        dims,
        k,
        threads: 2,
        bytesPerRound: pool.traffic.toThreads + pool.traffic.fromThreads,
        modelBytes: k * dims * 8,
        partialBytes: kmeans.partialLength(shape) * 8,
      });
      await pool.close();
    }
  }

  log('local runtime round overhead (memory store, W = 8)…');
  const overhead = await localRoundOverhead();

  let reference: PythonResult | undefined;
  try {
    if (referenceJob && referenceBefore) {
      log('scikit-learn / numpy reference, one thread (second run)…');
      reference = mergeReferences(referenceBefore, runReference(referenceJob));
    }
  } finally {
    rmSync(referenceDir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------------------------------
  const refTimes = reference ? [...reference.kmeans, ...reference.logreg] : [];
  // Ratios of the fastest runs: other processes on a shared machine only ever add time, so the
  // minimum is the steadiest estimate of each side's cost (medians are in the JSON too).
  const rows = ours.map((o, i) => {
    const ref = refTimes[i];
    return {
      case: o.name,
      kernels: o.threads1.kernels,
      oursRoundMs: o.threads1.round.minMs,
      oursRoundMedianMs: o.threads1.round.medianMs,
      referenceMs: ref?.min_ms,
      referenceMedianMs: ref?.median_ms,
      reference: ref?.how,
      ratio: ref ? o.threads1.round.minMs / ref.min_ms : undefined,
      compute1ThreadMs: o.threads1.compute.minMs,
      compute2ThreadsMs: o.threads2.compute.minMs,
      speedup2Threads: o.threads1.compute.minMs / o.threads2.compute.minMs,
      firstRound1ThreadMs: o.threads1.firstRoundMs,
    };
  });

  const out = {
    date: new Date().toISOString(),
    command: 'npm run bench',
    machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version, loadAverage1mBefore: loadBefore, loadAverage1mAfter: loadavg()[0] },
    kernels,
    rows: ROWS,
    repeats: REPEATS,
    reference: reference
      ? { python: PYTHON, sklearn: reference.sklearn, numpy: reference.numpy, threadpools: reference.threadpools, env: 'OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; one thread', runs: 'one before our timings and one after; fastest of both, median of all samples' }
      : { skipped: (available as { reason: string }).reason },
    results: rows,
    details: ours,
    referenceDetails: reference ? { kmeans: reference.kmeans, logreg: reference.logreg } : undefined,
    jsKernelScaling: jsScaling,
    traffic,
    localRoundOverhead: overhead,
    totalSeconds: 0,
  };
  out.totalSeconds = Math.round((performance.now() - started) / 100) / 10;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'bench.json'), `${JSON.stringify(out, null, 2)}\n`);

  const lines: string[] = [];
  lines.push('');
  lines.push(`kernels ${kernels.kind === 'wasm' ? `wasm, ${kernels.build} build` : 'js'}; ${out.machine.cpu}, ${out.machine.cores} cores, Node ${process.version}; fastest of ${REPEATS} runs after a warm-up (medians in the JSON)`);
  if (reference) {
    const blas = reference.threadpools.find((t) => t.internal_api === 'openblas' || t.internal_api === 'mkl');
    lines.push(`reference: scikit-learn ${reference.sklearn}, numpy ${reference.numpy}, ${blas ? `${blas.internal_api} ${blas.version} (${blas.architecture})` : 'BLAS unknown'}, one thread; fastest of its runs before and after ours`);
  } else {
    lines.push(`reference: skipped — ${(available as { reason: string }).reason}`);
  }
  lines.push('');
  lines.push('| case | ours, 1 thread (ms) | reference, 1 thread (ms) | ours / reference | compute, 1 → 2 threads (ms) | speed-up |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    lines.push(
      `| ${r.case} | ${fmt(r.oursRoundMs)} | ${r.referenceMs === undefined ? '—' : fmt(r.referenceMs)} | ${r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`} | ${fmt(r.compute1ThreadMs)} → ${fmt(r.compute2ThreadsMs)} | ${r.speedup2Threads.toFixed(2)}× |`,
    );
  }
  if (jsScaling) {
    lines.push(`| ${jsScaling.case}, TypeScript kernels | | | | ${fmt(jsScaling.threads1.minMs)} → ${fmt(jsScaling.threads2.minMs)} | ${jsScaling.speedup.toFixed(2)}× |`);
  }
  lines.push('');
  lines.push('first round of a new pool, 1 thread (ms): ' + rows.map((r) => `${r.case}: ${fmt(r.firstRound1ThreadMs)}`).join('; '));
  lines.push('worker ↔ threads per round (2 threads, k-means): ' + traffic.map((t) => `${label(t.rows)}×${t.dims} k=${t.k}: ${t.bytesPerRound.toLocaleString('en-US')} B`).join('; '));
  lines.push(
    `local round overhead excluding compute (memory store, W = ${overhead.workers}, ${overhead.rounds} rounds): median ${fmt(overhead.overhead.medianMs)} ms, min ${fmt(overhead.overhead.minMs)} ms (round ${fmt(overhead.round.medianMs)} ms; compute ${fmt(overhead.compute.medianMs)} ms)`,
  );
  if (Math.max(loadBefore, loadavg()[0]!) > 0.5) {
    lines.push(
      `note: 1-minute load average ${loadBefore.toFixed(1)} before the run, ${loadavg()[0]!.toFixed(1)} after (this run counts too): other processes take a core from the 2-thread runs first`,
    );
  }
  lines.push(`written ${join(outDir, 'bench.json')} in ${out.totalSeconds} s`);
  // The loading case (bench/loading.ts) runs last, in processes of its own; BENCH_LOADING=0 skips it.
  if (process.env.BENCH_LOADING !== '0') lines.push(...formatLoading(runLoadingBench(log)));
  // Parsing in the inner threads (bench/parse-threads.ts), likewise in processes of its own; BENCH_PARSE=0 skips it.
  if (process.env.BENCH_PARSE !== '0') lines.push(...formatParse(runParseBench(log)));
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
// Time to accuracy of the logistic-regression solvers (bench/solvers.ts).
if (process.env.BENCH_SOLVERS !== '0') {
  await solversBench();
  // The same for multinomial logistic regression on the digits (bench/multinomial.ts).
  await multinomialBench();
}
