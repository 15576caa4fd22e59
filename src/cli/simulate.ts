import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { tunePredictCli, type TunePredictCliOptions } from './bench-predict.js';
import { Command, Option } from 'commander';
import type { Shape } from '../algorithms/index.js';
import { BspmlError, DataError } from '../errors.js';
import { calibrate, calibrateMerge, shapeKey } from '../sim/calibrate.js';
import { loadProfile, ROUTINGS, vcpusFor, type Routing } from '../sim/profile.js';
import { simShape, simulate, SYNC_DESIGNS, TRIGGERS, type SimResult, type SyncDesign, type Trigger } from '../sim/simulate.js';
import { LOGREG_SOLVERS, type LogregSolver } from '../domain/spec.js';
import { configName, designName, TABLE1_CONFIGS, TABLE1_DESIGNS, TABLE1_JOBS, table1, withImprovements, type LayoutCheck, type Table1Row } from '../sim/table1.js';
import { tuneChartHtml } from '../sim/chart.js';
import { DEFAULT_MAX_MEMORY_MB, deployAdvice } from './tune-deploy.js';
import { STRATEGIES, tune, type Strategy, type TuneResult } from '../sim/tune.js';
import { FileDatasetSource } from '../data/sources/FileDatasetSource.js';
import { int } from '../util/format.js';
import type { CliIo } from './io.js';
import { oneOf, positiveInt, positiveNumber } from './options.js';
import { checkMaxWorkers, checkRoundFitsLambda, checkSimulatedJob } from './sim-checks.js';
import { checkWritable } from '../util/files.js';
import { releaseSignals } from '../util/interrupt.js';

interface SimulateOptions {
  rows?: number;
  dims?: number;
  k?: number;
  solver?: LogregSolver;
  classes?: number;
  workers?: number;
  threads?: number;
  memory?: number;
  rounds: number;
  backend?: 'dynamodb' | 's3' | 'redis' | 'memory';
  sync: SyncDesign;
  trigger: Trigger;
  routing?: Routing;
  lingerMs?: number;
  layout: 'spread' | 'single';
  profile: string;
  json?: string;
  experiment?: 'table1';
  only?: string;
  designs?: string;
  configs?: string;
  parallel: number;
  calibration?: string;
  layoutCheck: boolean;
  seed: number;
  merge: 'auto' | 'tree' | 'flat';
  backup: 'on' | 'off';
}

/** What a table or a run computed with: thread-ms per row by shape, and the merge's CPU time per byte. */
interface CalibrationFile {
  calibration: {
    msPerRow: Record<string, { value: number; method: string }>;
    mergeNsPerByte: { value: number; method: string };
    /** The local profile's measured cost of a call to a thread (ms), when it was calibrated. */
    threadRoundTripMs?: { value: number; method: string };
  };
}

/**
 * Per-shape compute cost, measured here once per shape (the simulator's only link to real time):
 * for AWS profiles the CPU time per row (a Lambda vCPU is not shared with this machine's other
 * work), for the local profile the marginal wall time per row (what this machine gives the local
 * runtime now, without the pool's fixed cost per call, which the model charges per round apart).
 * For one local job (`at`) the kernels are timed as the job will run them: as many threads at once
 * as it keeps busy on this machine's cores, over as many rows as it has (up to 64 MB of them), and
 * the median rounds: a run of many rounds is what a user times, and its rounds stream the rows
 * from memory with the threads sharing it, which a one-thread calibration on a few MB (in cache)
 * does not see: it predicted 0.53–0.83× of `bspml train`'s per-round time on 1M × 16, 1 × 2.
 */
async function measured(shape: Shape, io: CliIo, local = false, at?: LocalJob): Promise<{ value: number; method: string; callMs?: number }> {
  const c = at ? await calibrate(shape, { threads: at.threads, rows: at.rows, rounds: 7 }) : await calibrate(shape);
  const used = at ? c.typicalMarginalMsPerRow : local ? c.marginalMsPerRow : c.cpuMsPerRow;
  const method = at
    ? `marginal wall time (slope between two row counts, median rounds, ${c.threads} thread${c.threads === 1 ? '' : 's'} at once, ${c.rows.toLocaleString('en-US')} rows), per thread`
    : local
      ? 'marginal wall time (slope between two row counts, fastest rounds)'
      : 'CPU time (median)';
  io.stderr.write(
    `calibrated ${shape.algorithm} d = ${shape.dims}${shape.algorithm === 'kmeans' ? `, k = ${shape.k}` : `, ${shape.solver}`}: ${(used * 1e6).toFixed(1)} ns per row on one thread (${method}; wall median ${(c.msPerRow * 1e6).toFixed(1)} ns; ${c.rows} rows, rounds ${c.roundsMs.map((m) => m.toFixed(1)).join(', ')} ms)\n`,
  );
  return { value: used, method: `${method} on this machine, ${new Date().toISOString().slice(0, 16)}Z`, ...(at ? { callMs: c.typicalCallMs } : {}) };
}

/** One local job's shape of work: the threads it keeps busy at once and the rows it calibrates on. */
interface LocalJob {
  threads: number;
  rows: number;
}

/** The aggregator's merge, timed here: the slowest per byte of the shapes given (ns per byte of partials). */
function measuredMerge(shapes: Shape[], io: CliIo): { value: number; method: string } {
  const all = shapes.map((sh) => calibrateMerge(sh));
  const worst = all.reduce((a, b) => (b.nsPerByte > a.nsPerByte ? b : a));
  io.stderr.write(`calibrated the merge: ${all.map((m) => `${shapeKey(m.shape)} ${m.nsPerByte.toFixed(3)}`).join(', ')} ns per byte (CPU time)\n`);
  return { value: worst.nsPerByte, method: `calibrateMerge on this machine (CPU time of algorithm.merge, the slowest of ${all.map((m) => shapeKey(m.shape)).join(', ')}), ${new Date().toISOString().slice(0, 16)}Z` };
}

async function readCalibration(file: string): Promise<CalibrationFile['calibration']> {
  let parsed: Partial<CalibrationFile>;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<CalibrationFile>;
  } catch (error) {
    throw new BspmlError('E_ARGUMENT', `--calibration ${file}: not a readable JSON file (${error instanceof Error ? error.message : String(error)})`);
  }
  const c = parsed.calibration;
  if (!c || typeof c.mergeNsPerByte?.value !== 'number' || !c.msPerRow || Object.values(c.msPerRow).some((v) => typeof v?.value !== 'number')) {
    throw new BspmlError('E_ARGUMENT', `--calibration ${file}: expected {"calibration": {"msPerRow": {SHAPE: {"value": ms}}, "mergeNsPerByte": {"value": ns}}} (a table1 JSON has it)`);
  }
  return c;
}

export function addSimulateCommand(program: Command, io: CliIo): void {
  program
    .command('simulate')
    .description('simulate a deployed job (the real protocol under a virtual clock, with models of Lambda, SNS, SQS and the stores)')
    .argument('[algorithm]', 'kmeans or logreg (not with --experiment)')
    .option('--rows <n>', 'rows of the data set', positiveInt)
    .option('--dims <n>', 'feature columns', positiveInt)
    .option('--k <n>', 'clusters (k-means; default 8)', positiveInt)
    .addOption(new Option('--solver <name>', 'logistic regression: newton (default up to 1,000 columns), lbfgs or gd; with --classes, lbfgs (default) or giant').argParser(oneOf(LOGREG_SOLVERS)))
    .option('--classes <n>', 'logistic regression: C > 2 classes (multinomial, labels 0..C−1)', positiveInt)
    .option('--workers <n>', 'workers (shards); with --profile local default 1, as bspml train', positiveInt)
    .option('--threads <n>', `inner threads per worker (default 1; with --profile local ${availableParallelism()}, as bspml train)`, positiveInt)
    .option('--memory <mb>', 'worker memory in MB (default: 1,769 per thread, at most 10,240)', positiveInt)
    .option('--rounds <n>', 'rounds', positiveInt, 10)
    .addOption(new Option('--backend <name>', 'state store (default dynamodb; with --profile local memory, as bspml train)').argParser(oneOf(['dynamodb', 's3', 'redis', 'memory'] as const)))
    .addOption(new Option('--sync <design>', 'event (ours), linger (ours, workers wait for the next round) or barrier-wait (WoSC\'23)').argParser(oneOf(SYNC_DESIGNS)).default('event'))
    .addOption(new Option('--trigger <how>', 'event design: the filling arrival reaches the aggregator by an SQS FIFO message or a direct Lambda Invoke').argParser(oneOf(TRIGGERS)).default('sqs'))
    .addOption(new Option('--routing <how>', 'Lambda routing of a task to a warm environment: random (any idle one) or affine (the one holding its shard); default the profile\'s (aws: random)').argParser(oneOf(ROUTINGS)))
    .option('--linger-ms <ms>', 'with --sync linger: the workers\' budget (default: priced per job, docs/protocol.md)', positiveInt)
    .addOption(new Option('--layout <layout>', 'DynamoDB layout: spread (today) or single (one partition per round, one barrier item)').argParser(oneOf(['spread', 'single'] as const)).default('spread'))
    .option('--profile <name>', 'aws, local (this machine\'s local runtime) or a JSON file of overrides', 'aws')
    .addOption(new Option('--merge <how>', 'partials merged per barrier group first (tree), read one by one (flat), or auto').argParser(oneOf(['auto', 'tree', 'flat'] as const)).default('auto'))
    .addOption(new Option('--backup <on|off>', 'backup tasks for a round\'s stragglers').argParser(oneOf(['on', 'off'] as const)).default('off'))
    .option('--seed <n>', 'seed of the latency draws', positiveInt, 1)
    .option('--json <file>', 'write the full result as JSON (with the resolved profile)')
    .addOption(new Option('--experiment <name>', 'run a preset experiment').argParser(oneOf(['table1'] as const)))
    .option('--only <algorithms>', 'table1: only these algorithms (kmeans,logreg)')
    .option('--designs <names>', `table1: only these designs (${TABLE1_DESIGNS.map(designName).join(', ')})`)
    .option('--configs <list>', `table1: only these W × I (${TABLE1_CONFIGS.map(([w, t]) => configName(w, t)).join(',')})`)
    .option('--parallel <n>', 'table1: run its configurations in this many child processes at once (same calibration, same results)', positiveInt, 1)
    .option('--calibration <file>', 'compute figures to use instead of calibrating here: a table1 JSON (its "calibration"), to reproduce its rows')
    .option('--no-layout-check', 'table1: skip the DynamoDB layout check')
    .action(async (algorithm: string | undefined, options: SimulateOptions) => {
      // Outputs first, as train checks its own: not after the whole simulation (issue 20 defect 9).
      if (options.json) await checkWritable(options.json);
      const profile = await loadProfile(options.profile);
      // Nothing here outlives the process (no server, no temp file): SIGINT and SIGTERM keep their
      // default action, which ends it even while the simulator computes without yielding (defect 7).
      releaseSignals();
      if (options.routing) {
        profile.lambda.routing.value = options.routing;
        profile.lambda.routing.source = `--routing ${options.routing}`;
      }
      const local = profile.lambda.sharedHost.value === 1;
      const given = options.calibration ? await readCalibration(options.calibration) : undefined;
      const figures: CalibrationFile['calibration'] = { msPerRow: {}, mergeNsPerByte: given?.mergeNsPerByte ?? { value: profile.lambda.mergeNsPerByte.value, method: profile.lambda.mergeNsPerByte.source } };
      const msPerRow = (shape: Shape) => {
        const known = figures.msPerRow[shapeKey(shape)];
        if (known === undefined) throw new Error(`no calibration for ${shapeKey(shape)}`);
        return known.value;
      };
      const prepare = async (shapes: Shape[], at?: LocalJob) => {
        let callMs: number | undefined;
        for (const shape of shapes) {
          const fixed = given?.msPerRow[shapeKey(shape)];
          if (given && !fixed) throw new BspmlError('E_ARGUMENT', `--calibration ${options.calibration}: no figure for ${shapeKey(shape)}`);
          if (fixed) figures.msPerRow[shapeKey(shape)] = fixed;
          else {
            const { callMs: call, ...figure } = await measured(shape, io, local, local ? at : undefined);
            figures.msPerRow[shapeKey(shape)] = figure;
            callMs ??= call;
          }
        }
        if (local) {
          // The local runtime's fixed cost per call to a thread (post the model, wake, return the
          // partial): measured with the compute, in place of the profile's typical figure.
          if (!given?.threadRoundTripMs && callMs !== undefined) {
            figures.threadRoundTripMs = { value: callMs, method: `calibrated on this machine with the job's threads: intercept of the pool's call time against rows, median rounds (${callMs.toFixed(3)} ms)` };
          } else if (!given?.threadRoundTripMs) {
            const c = await calibrate(shapes[0]!);
            figures.threadRoundTripMs = { value: c.callMs, method: `calibrated on this machine: intercept of the pool's call time against rows (${c.callMs.toFixed(3)} ms)` };
          } else figures.threadRoundTripMs = given.threadRoundTripMs;
          profile.threadRoundTripMs.value = figures.threadRoundTripMs.value;
          profile.threadRoundTripMs.source = figures.threadRoundTripMs.method;
        }
        if (!given) figures.mergeNsPerByte = measuredMerge(shapes, io);
        profile.lambda.mergeNsPerByte.value = figures.mergeNsPerByte.value;
        profile.lambda.mergeNsPerByte.source = figures.mergeNsPerByte.method;
      };

      if (options.experiment === 'table1') {
        if (algorithm) throw new BspmlError('E_ARGUMENT', '--experiment table1 takes no algorithm');
        const algorithms = options.only ? listOf(options.only, '--only', ['kmeans', 'logreg'] as const) : undefined;
        // `none`: no design, only the layout check (what a child process of --parallel runs).
        const designs = options.designs === 'none' ? [] : options.designs ? listOf(options.designs, '--designs', TABLE1_DESIGNS.map(designName)) : undefined;
        const configs = options.configs ? listOf(options.configs, '--configs', TABLE1_CONFIGS.map(([w, t]) => configName(w, t))) : undefined;
        await prepare(Object.values(TABLE1_JOBS).filter((j) => !algorithms || algorithms.includes(j.algorithm)).map((j) => simShape(j)));
        const began = Date.now();
        const result =
          options.parallel > 1
            ? await table1InChildren(options, figures, algorithms, designs, configs, io)
            : await table1(profile, msPerRow, { algorithms, designs, configs, layout: options.layoutCheck, log: (line) => io.stderr.write(`${line}\n`) });
        io.stderr.write(`table1: ${result.rows.length} configurations in ${((Date.now() - began) / 1000).toFixed(0)} s (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})\n`);
        io.stdout.write(`${formatTable1(result.rows, result.layout)}\n`);
        if (options.json) await writeFile(options.json, `${JSON.stringify({ profile, calibration: figures, ...result }, null, 2)}\n`);
        return;
      }

      if (algorithm !== 'kmeans' && algorithm !== 'logreg') throw new BspmlError('E_ARGUMENT', `simulate: the algorithm must be kmeans or logreg, got ${algorithm ?? 'none'}`);
      // The local profile stands for `bspml train`: its defaults are train's (one worker, a thread
      // per core, the memory store), so that the same options predict the same job.
      const workers = options.workers ?? (local ? 1 : undefined);
      const threads = options.threads ?? (local ? availableParallelism() : 1);
      const backend = options.backend ?? (local ? 'memory' : 'dynamodb');
      for (const [name, value] of [['rows', options.rows], ['dims', options.dims], ['workers', workers]] as const) {
        if (value === undefined) throw new BspmlError('E_ARGUMENT', `simulate: --${name} is required`);
      }
      const k = algorithm === 'kmeans' ? (options.k ?? 8) : 1;
      if (options.solver && algorithm !== 'logreg') throw new BspmlError('E_ARGUMENT', '--solver: only logistic regression has solvers');
      if (options.classes !== undefined && (algorithm !== 'logreg' || options.classes < 3)) throw new BspmlError('E_ARGUMENT', `--classes ${options.classes}: multinomial logistic regression has 3 classes or more (logreg only)`);
      if (options.classes !== undefined && options.solver !== undefined && options.solver !== 'lbfgs' && options.solver !== 'giant') throw new BspmlError('E_ARGUMENT', `--solver ${options.solver}: with --classes, lbfgs or giant`);
      const job = { algorithm, rows: options.rows!, k, solver: options.solver, workers: workers!, threads, rounds: options.rounds } as const;
      checkSimulatedJob(job);
      const shape = simShape({ algorithm, dims: options.dims!, k, solver: options.solver, classes: options.classes });
      // As train runs it here: W × I threads on this machine's cores, the job's rows (≤ 64 MB of them).
      await prepare([shape], { threads: Math.min(workers! * threads, availableParallelism()), rows: Math.max(2_000, Math.min(options.rows!, Math.floor(16_000_000 / options.dims!))) });
      checkRoundFitsLambda(job, msPerRow(shape));
      const memoryMb = options.memory ?? Math.min(10_240, Math.ceil(threads * profile.lambda.mbPerVcpu.value));
      if (memoryMb < 128 || memoryMb > 10_240) throw new BspmlError('E_ARGUMENT', `--memory ${memoryMb}: Lambda allows 128 to 10,240 MB`);
      const result = await simulate(
        { algorithm, rows: options.rows!, dims: options.dims!, k, solver: options.solver, classes: options.classes, workers: workers!, threads, memoryMb, rounds: options.rounds, backend, sync: options.sync, lingerMs: options.lingerMs, trigger: options.trigger, layout: options.layout, seed: options.seed, merge: options.merge, backup: options.backup === 'on' },
        profile,
        msPerRow,
      );
      io.stdout.write(`${formatResult(result, vcpusFor(profile, memoryMb))}\n`);
      if (options.json) await writeFile(options.json, `${JSON.stringify({ ...result, profile, calibration: figures }, null, 2)}\n`);
      if (result.status !== 'SUCCEEDED') throw new BspmlError('E_JOB_FAILED', `the simulated job ended ${result.status}: ${result.error ?? ''}`);
    });
}

function listOf<T extends string>(value: string, option: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((v) => v.trim()).filter(Boolean);
  const bad = items.find((v) => !allowed.includes(v as T));
  if (bad !== undefined || !items.length) throw new BspmlError('E_ARGUMENT', `${option} ${value}: expected a comma-separated list of ${allowed.join(', ')}`);
  return items as T[];
}

/**
 * Table 1 spread over child processes, one per algorithm × design × W × I, `--parallel` at a time
 * (the longest first, so that no long one is left alone at the end): each runs this same command
 * on its part with the parent's calibration (so the rows are those of one process), and the parent
 * merges their rows in the table's order.
 */
async function table1InChildren(options: SimulateOptions, figures: CalibrationFile['calibration'], algorithms: string[] | undefined, designs: string[] | undefined, configs: string[] | undefined, io: CliIo): Promise<{ rows: Table1Row[]; layout: LayoutCheck[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'bspml-table1-'));
  try {
    const calibrationFile = join(dir, 'calibration.json');
    await writeFile(calibrationFile, JSON.stringify({ calibration: figures }));
    const parts: { args: string[]; out: string }[] = [];
    for (const algorithm of algorithms ?? ['kmeans', 'logreg']) {
      for (const design of designs ?? TABLE1_DESIGNS.map(designName)) {
        for (const config of configs ?? TABLE1_CONFIGS.map(([w, t]) => configName(w, t))) {
          const out = join(dir, `${algorithm}-${design.replace(/\//g, '-')}-${config}.json`);
          parts.push({ out, args: ['--only', algorithm, '--designs', design, '--configs', config, '--no-layout-check'] });
        }
      }
    }
    if (options.layoutCheck && (!algorithms || algorithms.includes('kmeans'))) parts.push({ out: join(dir, 'layout.json'), args: ['--only', 'kmeans', '--designs', 'none'] });
    const common = ['simulate', '--experiment', 'table1', '--profile', options.profile, '--calibration', calibrationFile, ...(options.routing ? ['--routing', options.routing] : [])];
    // Logistic regression's 90 rounds take far longer than k-means' 20: start them first.
    const queue = [...parts].sort((a, b) => Number(b.args.includes('logreg')) - Number(a.args.includes('logreg')));
    let next = 0;
    const runOne = async (): Promise<void> => {
      while (next < queue.length) {
        const part = queue[next++]!;
        await new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...common, ...part.args, '--json', part.out], { stdio: ['ignore', 'ignore', 'pipe'] });
          child.stderr.on('data', (chunk: Buffer) => io.stderr.write(chunk.toString().split('\n').filter((l) => l && !l.startsWith('table1:')).map((l) => `${l}\n`).join('')));
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`table1 part ${part.args.join(' ')} exited ${code}`))));
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.parallel, parts.length) }, runOne));
    const rows: Table1Row[] = [];
    let layout: LayoutCheck[] = [];
    for (const part of parts) {
      const got = JSON.parse(await readFile(part.out, 'utf8')) as { rows: Table1Row[]; layout: LayoutCheck[] };
      rows.push(...got.rows);
      if (got.layout.length) layout = got.layout;
    }
    return { rows: withImprovements(rows), layout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const s = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3));
const usd = (v: number) => `$${v >= 1 ? v.toFixed(2) : v.toPrecision(3)}`;
const pairs = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${int(v)}`)
    .join(', ');

export function formatResult(r: SimResult, vcpus: number): string {
  const c = r.config;
  const lines = [
    `simulated ${c.algorithm} on ${int(c.rows)} rows × ${c.dims}${c.algorithm === 'kmeans' ? `, k = ${c.k}` : ''}${c.classes !== undefined ? `, ${c.classes} classes (${c.solver})` : ''}: ${c.workers} workers × ${c.threads} threads, ${int(c.memoryMb)} MB (${vcpus.toFixed(2)} vCPUs), backend ${c.backend}${c.backend === 'dynamodb' ? ` (${c.layout ?? 'spread'} layout)` : ''}, sync ${c.sync}, profile ${c.profile}`,
    `status     ${r.status}${r.error ? `: ${r.error}` : ''}`,
    `wall       ${s(r.wallSeconds)} s for ${r.rounds} rounds; per round p50 ${s(r.roundSeconds.p50)} s, p99 ${s(r.roundSeconds.p99)} s`,
    `phases     ${Object.entries(r.phases).map(([name, p]) => `${name} ${s(p.seconds)} s, ${s(p.gbSeconds)} GB-s`).join('; ')}`,
    `billed     ${s(r.billedGbSeconds.total)} GB-s (${Object.entries(r.billedGbSeconds.byFunction).map(([f, v]) => `${f} ${s(v)}`).join(', ')})${r.billedGbSeconds.waiting ? `; waiting at the barrier ${s(r.billedGbSeconds.waiting)}` : ''}`,
    `lambda     invocations ${pairs(r.invocations)}; cold starts ${pairs(r.coldStarts)}; routing ${c.routing}`,
    `shards     cache hit rate ${(100 * r.shardCache.hitRate).toFixed(1)} % (${int(r.shardCache.hits)} warm, ${int(r.shardCache.reloads)} reloaded from S3, ${int(r.shardCache.loads - r.shardCache.reloads)} first loads)`,
    `merged     ${(r.mergeCompute.bytes / 1e6).toFixed(r.mergeCompute.bytes < 1e7 ? 3 : 1)} MB of partials merged, ${r.mergeCompute.ms.toFixed(r.mergeCompute.ms < 10 ? 3 : 0)} ms of CPU`,
    `requests   ${int(r.requests.total)} (${pairs(r.requests.byOperation)})`,
    `throttled  ${int(r.throttled.total)}${r.throttled.total ? ` (${pairs(r.throttled.byOperation)})` : ''}`,
    `aggregator reads ${int(r.aggregatorReadBytesPerRound)} bytes of partials per round (merge ${c.merge ?? 'auto'}, trigger ${c.trigger ?? 'sqs'}, backup tasks ${c.backup ? 'on' : 'off'})`,
    `cost       ${usd(r.costUsd.total)} = Lambda ${usd(r.costUsd.lambda)} + DynamoDB ${usd(r.costUsd.dynamodb)} + S3 ${usd(r.costUsd.s3)} + SNS ${usd(r.costUsd.sns)} + SQS ${usd(r.costUsd.sqs)} + ElastiCache ${usd(r.costUsd.elasticache)}`,
  ];
  return lines.join('\n');
}

const designLabel = (r: Table1Row) => `${r.sync}${r.trigger ? ` ${r.trigger}` : ''}${r.lingerMs !== undefined ? ` ${r.lingerMs / 1000} s` : ''} (${r.backend})${r.routing === 'any' ? '' : `, ${r.routing}`}`;

/**
 * Issue 18's targets, configuration by configuration: lingering workers within 1.15× barrier-wait's
 * wall time at no more than its dollars; the event design for k-means at ≤ 0.8× its dollars.
 */
export function targetChecks(rows: Table1Row[]): string[] {
  const out: string[] = [];
  const paper = (r: Table1Row) => rows.find((x) => x.sync === 'barrier-wait' && x.algorithm === r.algorithm && x.workers === r.workers);
  const check = (label: string, subject: Table1Row[], ok: (r: Table1Row, b: Table1Row) => boolean, what: (r: Table1Row, b: Table1Row) => string) => {
    const judged = subject.filter((r) => paper(r));
    if (!judged.length) return;
    const failing = judged.filter((r) => !ok(r, paper(r)!));
    out.push(`${label}: ${failing.length ? `NOT MET at ${failing.length} of ${judged.length} (${failing.map((r) => `${r.workers} × ${r.threads} ${what(r, paper(r)!)}`).join('; ')})` : `met at all ${judged.length}`}`);
  };
  for (const algorithm of ['kmeans', 'logreg'] as const) {
    for (const [lingerMs, backend] of [...new Set(rows.filter((r) => r.sync === 'linger').map((r) => `${r.lingerMs ?? ''}|${r.backend}`))].map((k) => k.split('|'))) {
      const linger = rows.filter((r) => r.sync === 'linger' && r.routing === 'random' && r.algorithm === algorithm && String(r.lingerMs ?? '') === lingerMs && r.backend === backend);
      check(`linger (${lingerMs ? `${Number(lingerMs) / 1000} s` : 'default budget'}, ${backend}) ${algorithm}: wall ≤ 1.15× and $ ≤ 1.0×`, linger, (r, b) => r.wallSeconds <= 1.15 * b.wallSeconds && r.costUsd <= b.costUsd, (r, b) => `${(r.wallSeconds / b.wallSeconds).toFixed(2)}×, $ ${(r.costUsd / b.costUsd).toFixed(2)}×`);
    }
  }
  for (const [trigger, backend] of [...new Set(rows.filter((r) => r.sync === 'event').map((r) => `${r.trigger}|${r.backend}`))].map((k) => k.split('|'))) {
    const event = rows.filter((r) => r.sync === 'event' && r.routing === 'random' && r.trigger === trigger && r.backend === backend && r.algorithm === 'kmeans');
    check(`event (${trigger}, ${backend}) kmeans: $ ≤ 0.8×`, event, (r, b) => r.costUsd <= 0.8 * b.costUsd, (r, b) => `$ ${(r.costUsd / b.costUsd).toFixed(2)}×`);
  }
  return out;
}

export function formatTable1(rows: Table1Row[], layout: LayoutCheck[]): string {
  const out = [
    '| algorithm | W × I | memory | design (store), routing | wall s | improvement vs 300×1 | billed GB-s | of which waiting | cache hits | $ |',
    '|---|---|--:|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.algorithm} | ${r.workers} × ${r.threads} | ${int(r.memoryMb)} MB | ${designLabel(r)} | ${s(r.wallSeconds)} | ${r.improvementPct.toFixed(1)} % | ${int(r.billedGbSeconds)} | ${int(r.waitingGbSeconds)} | ${r.routing === 'any' && r.sync === 'barrier-wait' ? '–' : `${(100 * r.cacheHitRate).toFixed(0)} %`} | ${usd(r.costUsd)} |`,
    );
  }
  const paper = (r: Table1Row) => rows.find((x) => x.sync === 'barrier-wait' && x.algorithm === r.algorithm && x.workers === r.workers);
  const ours = rows.filter((x) => x.sync !== 'barrier-wait' && paper(x));
  if (ours.length) {
    out.push('', 'Against the paper\'s design (barrier-wait) at the same W × I: wall time ×, dollars ×');
    for (const r of ours) {
      const b = paper(r)!;
      out.push(`  ${r.algorithm} ${r.workers} × ${r.threads} ${designLabel(r)}: wall ${(r.wallSeconds / b.wallSeconds).toFixed(2)}×, $ ${(r.costUsd / b.costUsd).toFixed(2)}×, GB-s ${(r.billedGbSeconds / b.billedGbSeconds).toFixed(2)}×`);
    }
  }
  const targets = targetChecks(rows);
  if (targets.length) out.push('', 'Targets of issue 18 (routing random, against barrier-wait at the same W × I):', ...targets.map((t) => `  ${t}`));
  if (layout.length) {
    out.push('', 'DynamoDB at W = 300 (k-means, event design):');
    for (const l of layout) out.push(`  ${l.layout === 'single' ? 'one partition per round, one barrier item' : 'a partition per partial, two-level barrier'}: ${int(l.throttled)} throttled requests, round p50 ${s(l.roundSeconds.p50)} s, p99 ${s(l.roundSeconds.p99)} s`);
  }
  return out.join('\n');
}

interface TuneOptions {
  data?: string;
  rows?: number;
  dims?: number;
  k?: number;
  rounds: number;
  backend: 'dynamodb' | 's3' | 'redis' | 'memory';
  strategy: Strategy;
  budget?: number;
  deadline?: number;
  maxMemory?: number;
  maxWorkers: number;
  profile: string;
  out: string;
  json?: string;
}

export function addTuneCommand(program: Command, io: CliIo): void {
  program
    .command('tune')
    .description('simulate memory × workers × threads for a job and recommend a configuration')
    .argument('<algorithm>', 'kmeans or logreg, or predict (the predict function: --model)')
    .option('--data <file>', 'a data set to take the shape from (rows, columns)')
    .option('--rows <n>', 'rows (without --data)', positiveInt)
    .option('--dims <n>', 'feature columns (without --data)', positiveInt)
    .option('--k <n>', 'clusters (k-means; default 8)', positiveInt)
    .option('--rounds <n>', 'rounds', positiveInt, 10)
    .addOption(new Option('--backend <name>', 'state store').argParser(oneOf(['dynamodb', 's3', 'redis'] as const)).default('dynamodb'))
    .addOption(new Option('--strategy <s>', 'cost, speed or balanced (AWS Lambda Power Tuning\'s)').argParser(oneOf(STRATEGIES)).default('balanced'))
    .option('--budget <usd>', 'most a job may cost', positiveNumber)
    .option('--deadline <s>', 'most a job may take', positiveNumber)
    .option('--max-memory <mb>', `an account's limit on function memory (default ${DEFAULT_MAX_MEMORY_MB}, a new account's; 10240 once raised)`, positiveInt, DEFAULT_MAX_MEMORY_MB)
    .option('--max-workers <n>', 'most workers to try (powers of two up to it)', positiveInt, 256)
    .option('--profile <name>', 'aws or a JSON file of overrides', 'aws')
    .option('--out <file>', 'the chart (HTML with an SVG)', 'tune.html')
    .option('--json <file>', 'write every configuration as JSON')
    // tune predict: memory × rows per request for the predict function (src/cli/bench-predict.ts).
    .option('--model <file>', 'predict: the model to serve')
    .option('--synthetic <shape>', 'predict: instead of --model, a seeded model DIMSxCLASSES[:kind]')
    .option('--bench <file>', 'predict: a bspml bench predict --json result to calibrate from (default: run the bench)')
    .action(async (algorithm: string, options: TuneOptions & TunePredictCliOptions) => {
      if (algorithm === 'predict') return tunePredictCli(options, io);
      if (algorithm !== 'kmeans' && algorithm !== 'logreg') throw new BspmlError('E_ARGUMENT', `tune: the algorithm must be kmeans, logreg or predict, got ${algorithm}`);
      // Outputs first (issue 20 defect 9), and the sizes before anything is read or simulated (defect 8).
      await checkWritable(options.out);
      if (options.json) await checkWritable(options.json);
      checkMaxWorkers(options.maxWorkers);
      let rows = options.rows;
      let dims = options.dims;
      if (options.data) {
        // The shape only: rows and feature columns, read once through the same source as train.
        const source = new FileDatasetSource();
        const layout = await source.describe({ uri: options.data, ...(algorithm === 'logreg' ? { labelColumn: 'last' } : {}) });
        ({ rows, dims } = await source.loadShard(layout, 0, 1));
        if (rows === 0) throw new DataError(options.data, 'no data rows');
      }
      if (rows === undefined || dims === undefined) throw new BspmlError('E_ARGUMENT', 'tune: give --data FILE, or --rows and --dims');
      const profile = await loadProfile(options.profile);
      releaseSignals();
      const k = algorithm === 'kmeans' ? (options.k ?? 8) : 1;
      // The smallest job tune would try (one worker) must be valid, as train would have it.
      checkSimulatedJob({ algorithm, rows, k, workers: 1, threads: 1, rounds: options.rounds }, 'tune');
      const msPerRow = (await measured(simShape({ algorithm, dims, k }), io)).value;
      const workers: number[] = [];
      for (let w = 1; w <= Math.min(options.maxWorkers, rows); w *= 2) workers.push(w);
      const result = await tune({ algorithm, rows, dims, k, rounds: options.rounds, backend: options.backend }, profile, () => msPerRow, {
        budgetUsd: options.budget,
        deadlineSeconds: options.deadline,
        maxMemoryMb: options.maxMemory,
        workers,
      });
      io.stdout.write(`${formatTune(result, options.strategy, profile.name)}\n`);
      io.stdout.write(`${deployAdvice(result, options.strategy, { maxMemoryMb: options.maxMemory ?? DEFAULT_MAX_MEMORY_MB, ...(options.data ? { data: options.data } : {}) })}\n`);
      await writeFile(options.out, tuneChartHtml(result, options.strategy));
      io.stdout.write(`chart written to ${options.out}\n`);
      if (options.json) await writeFile(options.json, `${JSON.stringify(result, null, 2)}\n`);
    });
}

export function formatTune(result: TuneResult, strategy: Strategy, profileName = 'aws'): string {
  const j = result.job;
  const considered = [...new Set(result.candidates.filter((c) => c.considered).map((c) => c.sync))];
  const shown = [...new Set(result.candidates.filter((c) => !c.considered).map((c) => c.sync))];
  const out = [
    `${j.algorithm} on ${int(j.rows)} rows × ${j.dims}${j.algorithm === 'kmeans' ? `, k = ${j.k}` : ''}, ${j.rounds} rounds, backend ${j.backend} (simulated, profile ${profileName})`,
    `sync modes considered: ${considered.join(', ')}${shown.length ? `; shown beside them, not recommended: ${shown.join(', ')}` : ''}`,
    '',
    '| memory | W × I | sync | wall s | $ per job | GB-s | throttled | |',
    '|--:|---|---|--:|--:|--:|--:|---|',
  ];
  for (const c of result.candidates) {
    const marks = STRATEGIES.filter((s) => result.recommended[s] === c);
    out.push(
      c.unfit
        ? `| ${int(c.memoryMb)} | ${c.workers} × ${c.threads} | ${c.sync} | – | – | – | – | cannot run: ${c.unfit} |`
        : `| ${int(c.memoryMb)} | ${c.workers} × ${c.threads} | ${c.sync}${c.considered ? '' : ' (shown)'} | ${s(c.wallSeconds!)} | ${usd(c.costUsd!)} | ${s(c.billedGbSeconds!)} | ${int(c.throttled!)} | ${marks.length ? `← ${marks.join(', ')}` : ''} |`,
    );
  }
  out.push('');
  for (const st of STRATEGIES) {
    const c = result.recommended[st];
    out.push(`${st === strategy ? '*' : ' '} ${st.padEnd(8)} ${c ? `${c.sync}, ${c.workers} workers × ${c.threads} threads, ${int(c.memoryMb)} MB: ${s(c.wallSeconds!)} s, ${usd(c.costUsd!)}` : `none: ${result.none[st]}`}`);
  }
  return out.join('\n');
}
