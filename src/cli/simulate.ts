import { writeFile } from 'node:fs/promises';
import { tunePredictCli, type TunePredictCliOptions } from './bench-predict.js';
import { Command, Option } from 'commander';
import type { Shape } from '../algorithms/index.js';
import { BspmlError, DataError } from '../errors.js';
import { calibrate, shapeKey } from '../sim/calibrate.js';
import { loadProfile, vcpusFor } from '../sim/profile.js';
import { simShape, simulate, type SimResult } from '../sim/simulate.js';
import { LOGREG_SOLVERS, type LogregSolver } from '../protocol/spec.js';
import { TABLE1_JOBS, table1, type LayoutCheck, type Table1Row } from '../sim/table1.js';
import { tuneChartHtml } from '../sim/chart.js';
import { STRATEGIES, tune, type Strategy, type TuneResult } from '../sim/tune.js';
import { FileDatasetSource } from '../data/FileDatasetSource.js';
import { int } from './format.js';
import type { CliIo } from './io.js';
import { oneOf, positiveInt, positiveNumber } from './options.js';

interface SimulateOptions {
  rows?: number;
  dims?: number;
  k?: number;
  solver?: LogregSolver;
  workers?: number;
  threads: number;
  memory?: number;
  rounds: number;
  backend: 'dynamodb' | 's3' | 'redis' | 'memory';
  sync: 'event' | 'linger' | 'barrier-wait';
  lingerMs?: number;
  layout: 'spread' | 'single';
  profile: string;
  json?: string;
  experiment?: 'table1';
  seed: number;
  merge: 'auto' | 'tree' | 'flat';
  trigger: 'sqs' | 'invoke';
  backup: 'on' | 'off';
}

/**
 * Per-shape compute cost, measured here once per shape (the simulator's only link to real time):
 * for AWS profiles the CPU time per row (a Lambda vCPU is not shared with this machine's other
 * work), for the local profile the fastest wall time (what this machine gives the local runtime now).
 */
async function measured(shape: Shape, io: CliIo, local = false): Promise<number> {
  const c = await calibrate(shape);
  const used = local ? c.fastestMsPerRow : c.cpuMsPerRow;
  io.stderr.write(
    `calibrated ${shape.algorithm} d = ${shape.dims}${shape.algorithm === 'kmeans' ? `, k = ${shape.k}` : `, ${shape.solver}`}: ${(used * 1e6).toFixed(1)} ns per row on one thread (${local ? 'fastest wall time' : 'CPU time'}; wall median ${(c.msPerRow * 1e6).toFixed(1)} ns; ${c.rows} rows, rounds ${c.roundsMs.map((m) => m.toFixed(1)).join(', ')} ms)\n`,
  );
  return used;
}

export function addSimulateCommand(program: Command, io: CliIo): void {
  program
    .command('simulate')
    .description('simulate a deployed job (the real protocol under a virtual clock, with models of Lambda, SNS, SQS and the stores)')
    .argument('[algorithm]', 'kmeans or logreg (not with --experiment)')
    .option('--rows <n>', 'rows of the data set', positiveInt)
    .option('--dims <n>', 'feature columns', positiveInt)
    .option('--k <n>', 'clusters (k-means; default 8)', positiveInt)
    .addOption(new Option('--solver <name>', 'logistic regression: newton (default up to 1,000 columns), lbfgs or gd').argParser(oneOf(LOGREG_SOLVERS)))
    .option('--workers <n>', 'workers (shards)', positiveInt)
    .option('--threads <n>', 'inner threads per worker', positiveInt, 1)
    .option('--memory <mb>', 'worker memory in MB (default: 1,769 per thread, at most 10,240)', positiveInt)
    .option('--rounds <n>', 'rounds', positiveInt, 10)
    .addOption(new Option('--backend <name>', 'state store').argParser(oneOf(['dynamodb', 's3', 'redis', 'memory'] as const)).default('dynamodb'))
    .addOption(new Option('--sync <design>', 'event (ours), linger (ours, workers wait for the next round) or barrier-wait (WoSC\'23)').argParser(oneOf(['event', 'linger', 'barrier-wait'] as const)).default('event'))
    .option('--linger-ms <ms>', 'with --sync linger: the workers\' budget (default: priced per job, docs/protocol.md)', positiveInt)
    .addOption(new Option('--layout <layout>', 'DynamoDB layout: spread (today) or single (one partition per round, one barrier item)').argParser(oneOf(['spread', 'single'] as const)).default('spread'))
    .option('--profile <name>', 'aws, local (this machine\'s local runtime) or a JSON file of overrides', 'aws')
    .addOption(new Option('--merge <how>', 'partials merged per barrier group first (tree), read one by one (flat), or auto').argParser(oneOf(['auto', 'tree', 'flat'] as const)).default('auto'))
    .addOption(new Option('--trigger <how>', 'the aggregator reached through SQS FIFO or a direct Lambda Invoke').argParser(oneOf(['sqs', 'invoke'] as const)).default('sqs'))
    .addOption(new Option('--backup <on|off>', 'backup tasks for a round\'s stragglers').argParser(oneOf(['on', 'off'] as const)).default('off'))
    .option('--seed <n>', 'seed of the latency draws', positiveInt, 1)
    .option('--json <file>', 'write the full result as JSON')
    .addOption(new Option('--experiment <name>', 'run a preset experiment').argParser(oneOf(['table1'] as const)))
    .action(async (algorithm: string | undefined, options: SimulateOptions) => {
      const profile = await loadProfile(options.profile);
      const cache = new Map<string, number>();
      const msPerRow = (shape: Shape) => {
        const known = cache.get(shapeKey(shape));
        if (known === undefined) throw new Error(`no calibration for ${shapeKey(shape)}`);
        return known;
      };
      const prepare = async (shape: Shape) => cache.set(shapeKey(shape), await measured(shape, io, profile.lambda.sharedHost.value === 1));

      if (options.experiment === 'table1') {
        if (algorithm) throw new BspmlError('E_ARGUMENT', '--experiment table1 takes no algorithm');
        for (const job of Object.values(TABLE1_JOBS)) await prepare(simShape(job));
        const result = await table1(profile, msPerRow, (line) => io.stderr.write(`${line}\n`));
        io.stdout.write(`${formatTable1(result.rows, result.layout)}\n`);
        if (options.json) await writeFile(options.json, `${JSON.stringify({ profile: profile.name, ...result }, null, 2)}\n`);
        return;
      }

      if (algorithm !== 'kmeans' && algorithm !== 'logreg') throw new BspmlError('E_ARGUMENT', `simulate: the algorithm must be kmeans or logreg, got ${algorithm ?? 'none'}`);
      for (const name of ['rows', 'dims', 'workers'] as const) {
        if (options[name] === undefined) throw new BspmlError('E_ARGUMENT', `simulate: --${name} is required`);
      }
      const k = algorithm === 'kmeans' ? (options.k ?? 8) : 1;
      if (options.solver && algorithm !== 'logreg') throw new BspmlError('E_ARGUMENT', '--solver: only logistic regression has solvers');
      await prepare(simShape({ algorithm, dims: options.dims!, k, solver: options.solver }));
      const memoryMb = options.memory ?? Math.min(10_240, Math.ceil(options.threads * profile.lambda.mbPerVcpu.value));
      if (memoryMb < 128 || memoryMb > 10_240) throw new BspmlError('E_ARGUMENT', `--memory ${memoryMb}: Lambda allows 128 to 10,240 MB`);
      const result = await simulate(
        { algorithm, rows: options.rows!, dims: options.dims!, k, solver: options.solver, workers: options.workers!, threads: options.threads, memoryMb, rounds: options.rounds, backend: options.backend, sync: options.sync, lingerMs: options.lingerMs, layout: options.layout, seed: options.seed, merge: options.merge, trigger: options.trigger, backup: options.backup === 'on' },
        profile,
        msPerRow,
      );
      io.stdout.write(`${formatResult(result, vcpusFor(profile, memoryMb))}\n`);
      if (options.json) await writeFile(options.json, `${JSON.stringify(result, null, 2)}\n`);
      if (result.status !== 'SUCCEEDED') throw new BspmlError('E_JOB_FAILED', `the simulated job ended ${result.status}: ${result.error ?? ''}`);
    });
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
    `simulated ${c.algorithm} on ${int(c.rows)} rows × ${c.dims}${c.algorithm === 'kmeans' ? `, k = ${c.k}` : ''}: ${c.workers} workers × ${c.threads} threads, ${int(c.memoryMb)} MB (${vcpus.toFixed(2)} vCPUs), backend ${c.backend}${c.backend === 'dynamodb' ? ` (${c.layout ?? 'spread'} layout)` : ''}, sync ${c.sync}, profile ${c.profile}`,
    `status     ${r.status}${r.error ? `: ${r.error}` : ''}`,
    `wall       ${s(r.wallSeconds)} s for ${r.rounds} rounds; per round p50 ${s(r.roundSeconds.p50)} s, p99 ${s(r.roundSeconds.p99)} s`,
    `billed     ${s(r.billedGbSeconds.total)} GB-s (${Object.entries(r.billedGbSeconds.byFunction).map(([f, v]) => `${f} ${s(v)}`).join(', ')})${r.billedGbSeconds.waiting ? `; waiting at the barrier ${s(r.billedGbSeconds.waiting)}` : ''}`,
    `lambda     invocations ${pairs(r.invocations)}; cold starts ${pairs(r.coldStarts)}`,
    `requests   ${int(r.requests.total)} (${pairs(r.requests.byOperation)})`,
    `throttled  ${int(r.throttled.total)}${r.throttled.total ? ` (${pairs(r.throttled.byOperation)})` : ''}`,
    `aggregator reads ${int(r.aggregatorReadBytesPerRound)} bytes of partials per round (merge ${c.merge ?? 'auto'}, trigger ${c.trigger ?? 'sqs'}, backup tasks ${c.backup ? 'on' : 'off'})`,
    `cost       ${usd(r.costUsd.total)} = Lambda ${usd(r.costUsd.lambda)} + DynamoDB ${usd(r.costUsd.dynamodb)} + S3 ${usd(r.costUsd.s3)} + SNS ${usd(r.costUsd.sns)} + SQS ${usd(r.costUsd.sqs)} + ElastiCache ${usd(r.costUsd.elasticache)}`,
  ];
  return lines.join('\n');
}

export function formatTable1(rows: Table1Row[], layout: LayoutCheck[]): string {
  const out = ['| algorithm | W × I | memory | design (store) | wall s | improvement vs 300×1 | billed GB-s | of which waiting | $ |', '|---|---|--:|---|--:|--:|--:|--:|--:|'];
  for (const r of rows) {
    out.push(`| ${r.algorithm} | ${r.workers} × ${r.threads} | ${int(r.memoryMb)} MB | ${r.sync} (${r.backend}) | ${s(r.wallSeconds)} | ${r.improvementPct.toFixed(1)} % | ${int(r.billedGbSeconds)} | ${int(r.waitingGbSeconds)} | ${usd(r.costUsd)} |`);
  }
  out.push('', 'GB-s of the event-driven design / barrier-wait, per configuration:');
  for (const r of rows.filter((x) => x.sync === 'event')) {
    const other = rows.find((x) => x.sync === 'barrier-wait' && x.algorithm === r.algorithm && x.workers === r.workers)!;
    out.push(`  ${r.algorithm} ${r.workers} × ${r.threads}: ${(r.billedGbSeconds / other.billedGbSeconds).toFixed(2)}`);
  }
  out.push('', 'DynamoDB at W = 300 (k-means, event design):');
  for (const l of layout) out.push(`  ${l.layout === 'single' ? 'one partition per round, one barrier item' : 'a partition per partial, two-level barrier'}: ${int(l.throttled)} throttled requests, round p50 ${s(l.roundSeconds.p50)} s, p99 ${s(l.roundSeconds.p99)} s`);
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
    .option('--max-memory <mb>', 'an account limit on function memory, e.g. 3008', positiveInt)
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
      const k = algorithm === 'kmeans' ? (options.k ?? 8) : 1;
      const msPerRow = await measured(simShape({ algorithm, dims, k }), io);
      const workers: number[] = [];
      for (let w = 1; w <= Math.min(options.maxWorkers, rows); w *= 2) workers.push(w);
      const result = await tune({ algorithm, rows, dims, k, rounds: options.rounds, backend: options.backend }, profile, () => msPerRow, {
        budgetUsd: options.budget,
        deadlineSeconds: options.deadline,
        maxMemoryMb: options.maxMemory,
        workers,
      });
      io.stdout.write(`${formatTune(result, options.strategy)}\n`);
      await writeFile(options.out, tuneChartHtml(result, options.strategy));
      io.stdout.write(`chart written to ${options.out}\n`);
      if (options.json) await writeFile(options.json, `${JSON.stringify(result, null, 2)}\n`);
    });
}

export function formatTune(result: TuneResult, strategy: Strategy): string {
  const j = result.job;
  const out = [`${j.algorithm} on ${int(j.rows)} rows × ${j.dims}${j.algorithm === 'kmeans' ? `, k = ${j.k}` : ''}, ${j.rounds} rounds, backend ${j.backend} (simulated, profile aws)`, '', '| memory | W × I | wall s | $ per job | GB-s | throttled | |', '|--:|---|--:|--:|--:|--:|---|'];
  for (const c of result.candidates) {
    const marks = STRATEGIES.filter((s) => result.recommended[s] === c);
    out.push(
      c.unfit
        ? `| ${int(c.memoryMb)} | ${c.workers} × ${c.threads} | – | – | – | – | cannot run: ${c.unfit} |`
        : `| ${int(c.memoryMb)} | ${c.workers} × ${c.threads} | ${s(c.wallSeconds!)} | ${usd(c.costUsd!)} | ${s(c.billedGbSeconds!)} | ${int(c.throttled!)} | ${marks.length ? `← ${marks.join(', ')}` : ''} |`,
    );
  }
  out.push('');
  for (const st of STRATEGIES) {
    const c = result.recommended[st];
    out.push(`${st === strategy ? '*' : ' '} ${st.padEnd(8)} ${c ? `${c.workers} workers × ${c.threads} threads, ${int(c.memoryMb)} MB: ${s(c.wallSeconds!)} s, ${usd(c.costUsd!)}` : `none: ${result.none[st]}`}`);
  }
  return out.join('\n');
}
