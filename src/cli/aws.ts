import { Option, type Command } from 'commander';
import { DEFAULT_DEPLOYMENT, estimateCost, LAMBDA_ARCHITECTURES, type LambdaArchitecture } from '../costs/estimate.js';
import { BspmlError, JobFailedError, JobNotFoundError, SpecError } from '../errors.js';
import { PRICES } from '../costs/prices.js';
import { DEFAULT_PREDICT_WORKER_MEMORY_MB, estimatePredictCost, type PredictCostEstimate } from '../costs/predictEstimate.js';
import { parsePredictSpec } from '../domain/predictSpec.js';
import { markerUri } from '../domain/predictMarker.js';
import { DEFAULT_STACK_BACKEND, LOGREG_SOLVERS, parseJobSpec, SPEC_SYNC_MODES, STACK_BACKENDS, SVM_SOLVERS, stackBackendOf, type ClassWeightSpec, type LogregSolver, type SpecSync, type StackBackend } from '../domain/spec.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { listJobs } from '../aws/jobs.js';
import { unreadableReason } from '../aws/dataSources.js';
import { buildReport, roundTimes } from '../report/build.js';
import { checkReportPath, reportJson, writeReport } from '../report/write.js';
import type { JobStatus, PredictJobRecord, RoundMetrics, TrainJobRecord } from '../domain/job.js';
import type { DynamoDbStore } from '../stores/DynamoDbStore.js';
import { int, ms, num } from '../util/format.js';
import type { CliIo } from './io.js';
import { stackNames } from './stack.js';
import { addReportOptions, classWeight, fraction, httpUrl, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber } from './options.js';
import { formatValidation, type ValidationReport } from './validation.js';

/*
 * The commands that drive a deployment from a laptop: `submit` invokes the start function,
 * `status` and `watch` read a job and its rounds from the state table, `jobs` lists jobs. Each
 * takes `--stage` and `--region` and reads the stack's names from its outputs (src/cli/stack.ts).
 */

export interface SubmitOptions {
  stage: string;
  function?: string;
  data: string;
  /** Training: required (the command line checks it, as `submit predict` takes none). */
  algorithm?: 'kmeans' | 'logreg' | 'svm';
  /** `submit predict`: the model by name, or by version (a job id, NAME-YYYYMMDDTHHMMSSZ-xxxxxx). */
  model?: string;
  modelVersion?: string;
  /** `submit predict`: the S3 prefix the job's parts go under (in a folder named by the job id). */
  out?: string;
  k?: number;
  workers?: number;
  threads?: number;
  maxRounds?: number;
  tol?: number;
  seed?: number;
  labelColumn?: string;
  lr?: number;
  l2?: number;
  /** Logistic regression's or the SVM's solver (absent: the start function's default for the data). */
  solver?: LogregSolver;
  /** Local SGD: steps per thread per round, rows per mini-batch. */
  localSteps?: number;
  batchSize?: number;
  /** scikit-learn's (LIBLINEAR's) C for logreg and svm, instead of l2. */
  C?: number;
  /** logreg, svm: class weights (balanced or label → weight). */
  classWeight?: ClassWeightSpec;
  /** Held-out rows scored by the job's last aggregation: a share of the data, or an s3:// validation set. */
  holdout?: number;
  validation?: string;
  jobId?: string;
  /** Where the stack keeps the job's data plane; absent: the spec leaves it out and the stack uses DynamoDB. */
  backend?: StackBackend;
  /** event (default) or linger: workers wait for the next round (docs/protocol.md). */
  sync?: SpecSync;
  lingerMs?: number;
  region?: string;
  endpoint?: string;
}

export interface JobQueryOptions {
  stage: string;
  table?: string;
  region?: string;
  endpoint?: string;
  workerMemory: number;
  /** The functions' architecture (serverless.yml's), which sets the GB-second price. */
  architecture: LambdaArchitecture;
  /** The predict workers' memory, for a predict job's cost estimate (serverless.yml's predictWorkerMemory). */
  predictWorkerMemory: number;
  /** Write the run report to this file (.json or .html). */
  report?: string;
  /** Print the run report as JSON on standard output, and nothing else there. */
  json?: boolean;
  /** Print nothing but errors. */
  quiet?: boolean;
}

export interface WatchOptions extends JobQueryOptions {
  /** Seconds between polls. */
  interval: number;
  /** Follow the newest job of this data set instead of a named one. */
  latest?: string;
}

export interface JobsOptions extends JobQueryOptions {
  status?: JobStatus;
  data?: string;
  limit: number;
}

/** The state table: the one given, else the stack's. */
async function tableOf(options: JobQueryOptions): Promise<string> {
  return options.table ?? (await stackNames(options)).table;
}

/** `bspml submit`: the start function validates and starts the job; its answer is printed. */
export async function submit(options: SubmitOptions, io: CliIo): Promise<void> {
  if (!options.data.startsWith('s3://')) throw new SpecError(`--data must be an s3://bucket/key URI, got ${options.data}`, 'data');
  if (options.algorithm === undefined) throw new SpecError('--algorithm is required to train (kmeans, logreg or svm); `bspml submit predict` starts predictions', 'algorithm');
  for (const [option, value] of [['--model', options.model], ['--model-version', options.modelVersion], ['--out', options.out]] as const) {
    if (value !== undefined) throw new SpecError(`${option} is for bspml submit predict`, option.slice(2));
  }
  if (options.algorithm === 'kmeans' && options.k === undefined) throw new SpecError('--k is required for kmeans', 'k');
  if (options.solver !== undefined && options.algorithm === 'kmeans') throw new SpecError('--solver is for logreg and svm, not kmeans', 'solver');
  if (options.algorithm === 'svm' && options.solver !== undefined && !(SVM_SOLVERS as readonly string[]).includes(options.solver)) {
    throw new SpecError(`--solver for svm is one of ${SVM_SOLVERS.join(', ')}, not ${options.solver}`, 'solver');
  }
  if (options.lr !== undefined && options.algorithm === 'kmeans') throw new SpecError('--lr is for logreg and svm, not kmeans', 'lr');
  for (const [option, value] of [['--local-steps', options.localSteps], ['--batch-size', options.batchSize]] as const) {
    if (value !== undefined && options.solver !== 'local-sgd') throw new SpecError(`${option} is for --solver local-sgd`, option.slice(2));
  }
  if (options.C !== undefined && options.algorithm === 'kmeans') throw new SpecError('--C is for logreg and svm, not kmeans', 'C');
  if (options.C !== undefined && options.l2 !== undefined) throw new SpecError('--C: give --l2 or --C (= 1 / (l2 × rows)), not both', 'C');
  if (options.validation !== undefined && !options.validation.startsWith('s3://')) throw new SpecError(`--validation must be an s3:// URI the stack can read, got ${options.validation}`, 'validation');
  if (options.classWeight !== undefined && options.algorithm === 'kmeans') throw new SpecError('--class-weight is for logreg and svm, not kmeans', 'classWeight');
  const optional = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
  const spec = {
    algorithm: options.algorithm,
    data: { uri: options.data, ...optional({ labelColumn: options.labelColumn }) },
    ...optional({ backend: options.backend, k: options.k, workers: options.workers, threads: options.threads, maxRounds: options.maxRounds, tol: options.tol, seed: options.seed, sync: options.sync, lingerMs: options.lingerMs, solver: options.solver, lr: options.lr, l2: options.l2, C: options.C, localSteps: options.localSteps, batchSize: options.batchSize, classWeight: options.classWeight, holdout: options.holdout, validation: options.validation }),
  };
  // What the start function would refuse (--C with --l2, --local-steps without local-sgd, …), refused here before calling AWS.
  parseJobSpec(spec);
  await invokeStart(options, spec, io);
}

/**
 * `bspml submit predict --model M --data s3://… --out s3://…/`: a predict job (docs/serving.md), one
 * fan-out round of the stack's workers, each shard's predictions written as a part under
 * `OUT/JOBID/`. `--model` takes a name (its latest version, resolved when the job starts) or a
 * version (a job id, `NAME-YYYYMMDDTHHMMSSZ-xxxxxx`); `--model-version` pins one beside a name.
 */
export async function submitPredict(options: SubmitOptions, io: CliIo): Promise<void> {
  if (options.algorithm !== undefined) throw new SpecError('--algorithm is for training: a predict job uses a trained model (--model)', 'algorithm');
  if (options.model === undefined) throw new SpecError('--model is required: a model name (models/NAME/ in the stack\'s bucket) or a version', 'model');
  if (options.out === undefined) throw new SpecError('--out is required: the S3 prefix the parts go under, s3://BUCKET/predictions/…/', 'out');
  if (!options.data.startsWith('s3://')) throw new SpecError(`--data must be an s3://bucket/key URI or s3://bucket/prefix/, got ${options.data}`, 'data');
  const model = modelRef(options.model, options.modelVersion);
  const spec = { kind: 'predict', model, data: { uri: options.data }, out: options.out, ...(options.workers !== undefined ? { workers: options.workers } : {}) };
  try {
    parsePredictSpec(spec);
  } catch (error) {
    // The spec's field as the option that set it.
    if (error instanceof SpecError) throw new SpecError(error.message.replace(/^invalid predict spec: (model\.name|model\.version|out|workers|data\.uri):/, (_, field: string) => `--${PREDICT_OPTIONS[field] ?? field}:`), error.field, { cause: error });
    throw error;
  }
  await invokeStart(options, spec, io);
}

const PREDICT_OPTIONS: Record<string, string> = { 'model.name': 'model', 'model.version': 'model-version', out: 'out', workers: 'workers', 'data.uri': 'data' };

/** A model given by name, by name and version, or by version alone (a job id names its model: NAME-STAMP-xxxxxx). */
export function modelRef(model: string, version: string | undefined): { name: string; version?: string } {
  if (version !== undefined) return { name: model, version };
  const byVersion = /^(.+)-\d{8}T\d{6}Z-[0-9a-f]{6}$/.exec(model);
  return byVersion ? { name: byVersion[1]!, version: model } : { name: model };
}

/** Invokes the start function with `spec` and prints its answer: the job id, or why it was refused. */
async function invokeStart(options: SubmitOptions, spec: object, io: CliIo): Promise<void> {
  const optional = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
  // SDK clients load on use: every other command starts without them.
  const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
  // An emulator or test endpoint on this machine ignores credentials: dummy ones stand in if none are set.
  const local = options.endpoint !== undefined && /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:|\/|$)/.test(options.endpoint);
  const configured = process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined;
  const { awsClientTimeouts } = await import('../util/clients.js');
  // A function named with --function is invoked as it is (the start function checks the data itself).
  const names = options.function === undefined ? await stackNames(options) : undefined;
  const functionName = options.function ?? names!.startFunction;
  // Data the stack's roles cannot read is refused here, naming the deploy parameter, before invoking.
  const unreadable = names?.dataSources ? unreadableReason(options.data, names.dataSources) : undefined;
  if (unreadable) throw new SpecError(`--data ${unreadable}`, 'data');
  const lambda = new LambdaClient({
    // The start function may validate a large data set for minutes before it answers.
    ...awsClientTimeouts(15 * 60_000),
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(local && !configured ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  let out;
  try {
    out = await lambda.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify({ spec, ...optional({ jobId: options.jobId }) })) }),
    );
  } catch (error) {
    throw new BspmlError('E_AWS', `invoking ${functionName} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error });
  } finally {
    lambda.destroy();
  }
  const payload = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  if (out.FunctionError) {
    const message = (JSON.parse(payload || '{}') as { errorMessage?: string }).errorMessage ?? payload;
    throw new BspmlError('E_AWS', `${functionName} failed: ${message}`);
  }
  const [result] = JSON.parse(payload) as { jobId: string; status: string; error?: string }[];
  if (!result) throw new BspmlError('E_AWS', `${functionName} answered without a job: ${payload}`);
  if (result.status === 'FAILED') throw new JobFailedError(result.jobId, result.error ?? 'refused by the start function');
  const stage = options.stage === 'dev' ? '' : ` --stage ${options.stage}`;
  io.stdout.write(`job ${result.jobId}: ${result.status}\nfollow it with: bspml watch ${result.jobId}${stage}\n`);
}

/** `bspml status JOBID`: where the job stands, its rounds so far and their estimated cost. */
export async function status(jobId: string, options: JobQueryOptions, io: CliIo): Promise<void> {
  if (options.report) checkReportPath(options.report);
  const table = await tableOf(options);
  const { store } = await openStore(options, table);
  try {
    const job = await store.getJob(jobId);
    if (!job) throw new JobNotFoundError(`${jobId} (table ${table})`);
    if (job.kind === 'predict') {
      emitPredict(job, options, io);
      if (!options.json && !options.quiet) io.stdout.write(`${[...predictTitle(job), ...predictFooter(job, options)].join('\n')}\n`);
      return;
    }
    const rounds = await store.listRoundMetrics(jobId);
    await emitReport(job, rounds, options, io);
    if (!options.json && !options.quiet) io.stdout.write(`${describeJob(job, rounds, options)}\n`);
  } finally {
    await store.close();
  }
}

/**
 * `bspml watch JOBID`: prints each round as it is recorded, until the job ends; exits 1 when it
 * FAILED. Reads the table every `interval` seconds (two strongly consistent reads per poll).
 */
export async function watch(given: string | undefined, options: WatchOptions, io: CliIo): Promise<void> {
  if ((given === undefined) === (options.latest === undefined)) throw new SpecError('watch needs a job id or --latest NAME (one of them)', 'latest');
  if (options.report) checkReportPath(options.report);
  const table = await tableOf(options);
  const { store, client } = await openStore(options, table);
  // --json and --quiet keep standard output for the report (or nothing) and follow the job silently.
  const out = options.json || options.quiet ? { write: () => true } : io.stdout;
  try {
    let jobId = given ?? '';
    if (options.latest !== undefined) {
      const [newest] = await listJobs(client, table, { data: options.latest, limit: 1 });
      if (!newest) throw new JobNotFoundError(`any job of data set ${options.latest} (table ${table}; its jobs start when datasets/${options.latest}.… or datasets/${options.latest}/_SUCCESS is uploaded)`);
      jobId = newest.jobId;
    }
    let printed = 0;
    let header = false;
    for (;;) {
      const job = await store.getJob(jobId);
      if (!job) throw new JobNotFoundError(`${jobId} (table ${table})`);
      // A predict job has one round and no model: its title, then its parts (or why it failed) when it ends.
      if (job.kind === 'predict') {
        const predict = job;
        if (!header) {
          out.write(`${predictTitle(predict).join('\n')}\n`);
          header = true;
        }
        if (predict.status === 'SUCCEEDED' || predict.status === 'FAILED') {
          emitPredict(predict, options, io);
          out.write(`${predictFooter(predict, options).join('\n')}\n`);
          if (predict.status === 'FAILED') throw new JobFailedError(jobId, predict.error ?? 'no reason recorded');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
        continue;
      }
      const rounds = await store.listRoundMetrics(jobId);
      if (!header) {
        out.write(`${titleLines(job).join('\n')}\n${ROUND_HEADER}\n`);
        header = true;
      }
      for (const r of rounds.slice(printed)) out.write(`${roundLine(r)}\n`);
      printed = Math.max(printed, rounds.length);
      if (job.status === 'SUCCEEDED' || job.status === 'FAILED') {
        await emitReport(job, rounds, options, io);
        out.write(`${footerLines(job, rounds, options).join('\n')}\n`);
        if (job.status === 'FAILED') throw new JobFailedError(jobId, job.error ?? 'no reason recorded');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
    }
  } finally {
    await store.close();
  }
}

/**
 * `bspml jobs`: the stage's jobs newest first (from the state table's jobs index), optionally only
 * one status or one data set's.
 */
export async function jobs(options: JobsOptions, io: CliIo): Promise<void> {
  const table = await tableOf(options);
  const { store, client } = await openStore(options, table);
  try {
    const found = await listJobs(client, table, { limit: options.limit, ...(options.status ? { status: options.status } : {}), ...(options.data !== undefined ? { data: options.data } : {}) });
    const width = Math.max(6, ...found.map((j) => j.jobId.length));
    io.stdout.write(`${'job'.padEnd(width)}  ${'status'.padEnd(9)}  round  created               error\n`);
    for (const j of found) {
      const created = new Date(j.createdAt).toISOString().replace(/\.\d+Z$/, 'Z');
      const error = j.error ? (j.error.length > 80 ? `${j.error.slice(0, 79)}…` : j.error) : '';
      io.stdout.write(`${j.jobId.padEnd(width)}  ${j.status.padEnd(9)}  ${String(j.round).padStart(5)}  ${created}  ${error}`.trimEnd() + '\n');
    }
    if (found.length === 0) io.stdout.write('(no jobs)\n');
  } finally {
    await store.close();
  }
}

/** The stack data plane a job's spec names (DynamoDB when it names none, or one this version does not know). */
function backendOf(job: TrainJobRecord): StackBackend {
  return stackBackendOf(job.spec) ?? DEFAULT_STACK_BACKEND;
}

/** --report FILE and --json for a stack job: the run report of what the records hold now. */
async function emitReport(job: TrainJobRecord, rounds: RoundMetrics[], options: JobQueryOptions, io: CliIo): Promise<void> {
  if (!options.report && !options.json) return;
  const report = buildReport({ source: 'stack', job, rounds, backend: backendOf(job), workerMemoryMb: options.workerMemory, architecture: options.architecture });
  // The held-out figures the job's last aggregation scored (spec validation or holdout).
  if (job.result?.validation) report.validation = job.result.validation as ValidationReport;
  if (options.report) await writeReport(options.report, report);
  if (options.json) io.stdout.write(reportJson(report));
}

/** A predict job's first lines: what it runs, on what, and where its parts go. */
function predictTitle(job: PredictJobRecord): string[] {
  const spec = (job.spec ?? {}) as Partial<PredictJobRecord['spec']>;
  const model = job.predict?.model ?? spec.model;
  const what = `predictions with model ${model?.name ?? '?'}${model?.version ? ` version ${model.version}` : ''}`;
  const lines = [`job        ${job.jobId}: ${job.status} (${what}, ${job.shards} ${job.shards === 1 ? 'shard' : 'shards'})`];
  if (spec.data?.uri) lines.push(`data       ${spec.data.uri}`);
  if (job.predict?.out) lines.push(`out        ${job.predict.out}`);
  return lines;
}

/** A predict job's last lines: its parts in order with their rows (or why it failed), and its estimated cost. */
function predictFooter(job: PredictJobRecord, options: JobQueryOptions): string[] {
  const lines: string[] = [];
  if (job.status === 'FAILED') lines.push(`error      ${job.error ?? 'no reason recorded'}`);
  if (job.status === 'SUCCEEDED') {
    const parts = job.predict?.parts ?? [];
    const rows = parts.reduce((sum, p) => sum + p.rows, 0);
    lines.push(`parts      ${parts.length} ${parts.length === 1 ? 'part' : 'parts'}, ${int(rows)} rows, in order:`, ...parts.map((p) => `           ${p.uri}  ${int(p.rows)} rows`));
    if (job.predict?.out) lines.push(`marker     ${markerUri(job.predict.out)}`);
  }
  const cost = estimatePredictCost(job, options.predictWorkerMemory, options.architecture);
  const usd = (v: number) => `$${v.toFixed(6)}`;
  lines.push(`cost       ≈ ${usd(cost.total)}${job.status === 'SUCCEEDED' ? '' : ' so far'}: Lambda ${usd(cost.lambda)}, DynamoDB ${usd(cost.dynamodb)}, SNS ${usd(cost.sns)}, S3 ${usd(cost.s3)}`);
  if (cost.usdPerMillionRows !== undefined) lines.push(`           ${int(cost.rows)} rows predicted: ≈ $${cost.usdPerMillionRows.toFixed(4)} per million rows`);
  lines.push(`           (estimated from the parts' task times at ${options.predictWorkerMemory} MB ${options.architecture} predict workers, with the prices in src/costs/prices.ts)`);
  return lines;
}

/** A predict job's estimate as --json prints it. */
function costJson(cost: PredictCostEstimate): Record<string, number> {
  return { lambda: cost.lambda, dynamodb: cost.dynamodb, sns: cost.sns, s3: cost.s3, total: cost.total };
}

/** --json for a predict job: its record's summary and estimated cost; --report is a training run's. */
function emitPredict(job: PredictJobRecord, options: JobQueryOptions, io: CliIo): void {
  if (options.report) throw new SpecError(`--report: job ${job.jobId} is a predict job, which has no rounds to report; bspml status --json prints its parts`, 'report');
  if (!options.json) return;
  const cost = estimatePredictCost(job, options.predictWorkerMemory, options.architecture);
  const summary = {
    jobId: job.jobId,
    kind: job.kind,
    status: job.status,
    model: job.predict?.model ?? job.spec?.model,
    data: job.spec?.data?.uri,
    out: job.predict?.out,
    shards: job.shards,
    parts: job.predict?.parts ?? [],
    ...(job.status === 'SUCCEEDED' && job.predict ? { marker: markerUri(job.predict.out), rows: cost.rows, bytes: job.predict.bytes ?? (job.predict.parts ?? []).reduce((sum, p) => sum + p.bytes, 0) } : {}),
    costUsd: costJson(cost),
    ...(cost.usdPerMillionRows !== undefined ? { usdPerMillionRows: cost.usdPerMillionRows } : {}),
    predictWorkerMemoryMb: options.predictWorkerMemory,
    ...(job.error ? { error: job.error } : {}),
  };
  io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

/** The state table as a store, and its client for the index queries the StateStore port has none of. */
async function openStore(options: JobQueryOptions, table: string): Promise<{ store: DynamoDbStore; client: DynamoDBClient }> {
  const { DynamoDbStore } = await import('../stores/DynamoDbStore.js');
  const { createDynamoDbClient } = await import('../aws/dynamodb.js');
  const client = createDynamoDbClient({ endpoint: options.endpoint, region: options.region });
  return { store: new DynamoDbStore({ client, tableName: table, ownsClient: true }), client };
}

const ROUND_HEADER = 'round  objective        wall       compute    load       sync       cache  figures';

function roundLine(r: RoundMetrics): string {
  const figures = Object.entries(r.stats)
    .map(([name, value]) => `${name} ${num(value)}`)
    .join(', ');
  const t = roundTimes(r);
  // Round 0 prepares the data: no model entered it, so it has no objective.
  const objective = r.phase === 'prepare' ? 'prepare' : num(r.objective);
  return `${String(r.round).padStart(5)}  ${objective.padEnd(15)}  ${ms(t.wallMs).padEnd(9)}  ${ms(t.computeMs).padEnd(9)}  ${ms(t.loadMs).padEnd(9)}  ${ms(t.syncMs).padEnd(9)}  ${`${r.cacheHits}/${r.workers}`.padEnd(5)}  ${figures}`;
}

/** A FAILED job may hold a spec that never parsed (it was refused for it): read it defensively. */
function titleLines(job: TrainJobRecord): string[] {
  const spec = (job.spec ?? {}) as Partial<TrainJobRecord['spec']> & { k?: number };
  const solver = (spec as { solver?: unknown }).solver;
  const what =
    spec.algorithm === 'kmeans'
      ? `k-means, k = ${spec.k}`
      : spec.algorithm === 'logreg'
        ? `logistic regression${typeof solver === 'string' ? ` (${solver})` : ''}`
        : spec.algorithm === 'svm'
          ? 'linear SVM'
          : 'unknown algorithm';
  const progress = job.status === 'RUNNING' ? `round ${job.round} of at most ${spec.maxRounds ?? '?'}` : `${job.status}`;
  const lines = [`job        ${job.jobId}: ${progress} (${what}, ${job.shards} workers)`];
  const data = spec.data?.uri;
  if (data) lines.push(`data       ${data}${job.data ? ` (${int(job.data.rows)} rows × ${job.data.dims} features)` : ''}`);
  // Named only when the spec chose one: a job without it ran where every job did before, in the table.
  if (typeof (spec as { backend?: unknown }).backend === 'string') lines.push(`backend    ${(spec as { backend: string }).backend} (models, partials, barrier)`);
  return lines;
}

function footerLines(job: TrainJobRecord, rounds: RoundMetrics[], options: JobQueryOptions): string[] {
  const lines: string[] = [];
  if (job.status === 'SUCCEEDED' && job.result) {
    const r = job.result;
    lines.push(`result     ${r.rounds} rounds, ${r.converged ? 'converged' : 'stopped at max rounds'}; ${r.algorithm === 'kmeans' ? `inertia ${num(r.inertia)}` : `loss ${num(r.loss)}, accuracy ${(r.accuracy * 100).toFixed(2)}%`}`);
    // Held-out figures, scored by the job's last aggregation (spec validation or holdout).
    if (r.validation) lines.push(...formatValidation(r.validation as ValidationReport));
  }
  if (job.status === 'FAILED') lines.push(`error      ${job.error ?? 'no reason recorded'}`);
  const backend = backendOf(job);
  const cost = estimateCost(job, rounds, { ...DEFAULT_DEPLOYMENT, workerMemoryMb: options.workerMemory, architecture: options.architecture }, backend);
  const usd = (v: number) => `$${v.toFixed(6)}`;
  lines.push(
    `cost       ≈ ${usd(cost.total)} so far: Lambda ${usd(cost.lambda)}, DynamoDB ${usd(cost.dynamodb)}, SNS ${usd(cost.sns)}, SQS ${usd(cost.sqs)}, S3 ${usd(cost.s3)}${backend === 'redis' ? `, ElastiCache ${usd(cost.elasticache)}` : ''}`,
    `           (estimated from the round records with the ${backend} data plane at ${options.workerMemory} MB ${options.architecture} workers; prices of ${PRICES.lambdaGbSecond.asOf} in src/costs/prices.ts)`,
  );
  return lines;
}

export function describeJob(job: TrainJobRecord, rounds: RoundMetrics[], options: JobQueryOptions): string {
  return [...titleLines(job), ROUND_HEADER, ...rounds.map(roundLine), ...footerLines(job, rounds, options)].join('\n');
}

/** Registers `submit`, `status` and `watch` on the program. */
export function addAwsCommands(program: Command, io: CliIo): void {
  const table = (command: Command) =>
    command
      .option('--stage <name>', 'the deployed stage (serverless deploy --stage)', 'dev')
      .option('--region <region>', 'AWS region (default: AWS_REGION)')
      .option('--table <name>', 'the state table (default: the stack\'s output)')
      .option('--endpoint <url>', 'DynamoDB endpoint (an emulator; default AWS)', httpUrl)
      .option('--worker-memory <mb>', 'worker memory the deployment uses, for the cost estimate', positiveInt, DEFAULT_DEPLOYMENT.workerMemoryMb)
      .option('--predict-worker-memory <mb>', 'predict worker memory the deployment uses, for a predict job\'s cost estimate', positiveInt, DEFAULT_PREDICT_WORKER_MEMORY_MB)
      .addOption(
        new Option('--architecture <arch>', 'the functions\' architecture the deployment uses (serverless.yml\'s), for the cost estimate')
          .argParser(oneOf(LAMBDA_ARCHITECTURES))
          .default(DEFAULT_DEPLOYMENT.architecture),
      );

  program
    .command('submit')
    .description('start a job on the deployed functions (invokes the start function): training, or with `predict`, batch predictions with a trained model')
    .argument('[kind]', 'train (the default) or predict')
    .requiredOption('--data <uri>', 'training data, or the data to predict on: s3://bucket/key or s3://bucket/prefix/')
    .addOption(new Option('--algorithm <name>', 'training: kmeans, logreg or svm').argParser(oneOf(['kmeans', 'logreg', 'svm'] as const)))
    .option('--model <name|version>', 'predict: the model, by name (its latest version) or by version (a job id, NAME-YYYYMMDDTHHMMSSZ-xxxxxx)')
    .option('--model-version <version>', 'predict: the version of the model named by --model')
    .option('--out <s3prefix>', 'predict: where the parts go, s3://BUCKET/predictions/…/ (in a folder named by the job id)')
    .option('--stage <name>', 'the deployed stage (serverless deploy --stage)', 'dev')
    .option('--function <name>', 'the start function (default: the stack\'s output)')
    .option('--k <n>', 'k-means: number of clusters', positiveInt)
    .option('--workers <n>', 'shards, one worker invocation each per round', positiveInt)
    .option('--threads <n>', 'inner threads per worker (default: the vCPUs of its memory)', positiveInt)
    .option('--max-rounds <n>', 'stop after this many rounds', positiveInt)
    .option('--tol <x>', 'convergence tolerance', nonNegativeNumber)
    .option('--seed <n>', 'random seed', nonNegativeInt)
    .option('--label-column <name>', 'logreg, svm: label column (classes 0, 1, …): header name, 0-based index or "last"')
    .addOption(
      new Option('--solver <name>', `logreg: ${LOGREG_SOLVERS.join(', ')} (default: newton for two classes up to 1,000 features, else lbfgs); svm: ${SVM_SOLVERS.join(', ')}`).argParser(oneOf(LOGREG_SOLVERS)),
    )
    .option('--lr <x>', 'logreg, svm: learning rate (gd, local-sgd)', positiveNumber)
    .option('--local-steps <n>', 'local-sgd: mini-batch steps per thread per round (default: one pass)', positiveInt)
    .option('--batch-size <n>', 'local-sgd: rows per mini-batch (default 64)', positiveInt)
    .option('--l2 <x>', 'logreg, svm: L2 penalty on standardised weights', nonNegativeNumber)
    .option('--C <x>', "logreg, svm: scikit-learn's C, instead of --l2: l2 = 1 / (C × rows)", positiveNumber)
    .option('--class-weight <w>', `logreg, svm: each class's weight in the loss: balanced or JSON of label → weight, e.g. '{"spam": 5}'`, classWeight)
    .option('--holdout <fraction>', 'leave this share of the rows out of training; the last aggregation scores the model on them', fraction)
    .option('--validation <uri>', 's3:// held-out rows the last aggregation scores the model on (not with --holdout)')
    .addOption(new Option('--backend <name>', 'where the stack keeps the job\'s models, partials and barrier: dynamodb (default), s3 (the data bucket) or redis (needs a stack deployed with a Redis endpoint)').argParser(oneOf(STACK_BACKENDS)))
    .addOption(new Option('--sync <mode>', 'event: a fresh invocation per shard each round (default); linger: workers wait for the next round within a budget').argParser(oneOf(SPEC_SYNC_MODES)))
    .option('--linger-ms <ms>', 'with --sync linger: how long a worker waits for the next round (default: priced per job, docs/protocol.md)', nonNegativeInt)
    .option('--job-id <id>', 'job id (default: the data set\'s name and a time stamp)')
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .option('--endpoint <url>', 'Lambda endpoint (default AWS)', httpUrl)
    .action((kind: string | undefined, options: SubmitOptions) => {
      if (kind === 'predict') return submitPredict(options, io);
      if (kind === undefined || kind === 'train') return submit(options, io);
      throw new SpecError(`submit ${kind}: the kind is train (the default) or predict`, 'kind');
    });

  table(addReportOptions(program.command('status').description('a job on AWS: status, rounds so far, estimated cost').argument('<jobId>'))).action(
    (jobId: string, options: JobQueryOptions) => status(jobId, options, io),
  );
  table(addReportOptions(program.command('watch').description('follow a job on AWS round by round until it ends').argument('[jobId]')))
    .option('--latest <name>', 'follow the newest job of data set NAME (datasets/NAME.csv, datasets/NAME/…)')
    .option('--interval <seconds>', 'seconds between reads', positiveNumber, 2)
    .action((jobId: string | undefined, options: WatchOptions) => watch(jobId, options, io));
  table(program.command('jobs').description('list a stage\'s jobs, newest first'))
    .addOption(new Option('--status <status>', 'only jobs in this state').argParser(oneOf(['STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const)))
    .option('--data <name>', 'only jobs of data set NAME')
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .action((options: JobsOptions) => jobs(options, io));
}
