import { BspmlError, DataError, JobExistsError, SpecError } from '../errors.js';
import type { DatasetLayout } from '../data/layout.js';
import { checkJobId } from '../domain/jobId.js';
import { newJobFields, type PredictPart, type PredictState, type RoundTask } from '../domain/job.js';
import { asPredictJob, decodePredictPart, encodePredictPart, predictOutFolder, type PredictJobRecord } from '../domain/predictJob.js';
import type { PredictSpec } from '../domain/predictSpec.js';
import { successMarker } from '../domain/predictMarker.js';
import { estimatePredictCost } from '../costs/predictEstimate.js';
import { clearFinished } from './clearRounds.js';
import { limitsOf } from './costGuard.js';
import { clock, type ProtocolDeps } from './deps.js';
import { failJob } from './failJob.js';
import { publishRound } from './publish.js';
import { taskMisfit } from './runWorker.js';

/*
 * A predict job (issue 24, docs/serving.md): one fan-out round of the training machinery. The start
 * resolves the model's version once and describes the data set with the model's features; each
 * shard's task predicts its rows and writes its part (the caller's `compute`: src/serve/predictJob.ts),
 * stores the part's name and rows as its partial and arrives at the round's barrier; the arrival that
 * fills it writes the `_SUCCESS` marker beside the parts (src/domain/predictMarker.ts), then marks the
 * job SUCCEEDED with the parts in shard order, its rows and its estimated cost. A redelivered completion
 * (the recovery sweep's, when that arrival died first) reaches the aggregator, which finishes it the same way.
 */

/** What finishing a predict job needs: the store, and where its marker goes (absent: none written). */
export type FinishDeps = Pick<ProtocolDeps, 'store'> & Partial<Pick<ProtocolDeps, 'predictMarkers'>>;

/** The predict round: the only one. */
export const PREDICT_ROUND = 0;

/** What the start learns once, before any task runs. */
export interface PredictPlan {
  model: { name: string; version: string };
  layout: DatasetLayout;
  shards: number;
}

/**
 * Starts a predict job: the record first (STARTING), so a model or data set that cannot be used
 * leaves the job FAILED with the reason; then `plan` (resolve the model, describe the data), then
 * RUNNING and the fan-out. Throws the error after recording it.
 */
export async function startPredictJob(
  deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now' | 'limits'>,
  request: { jobId: string; spec: PredictSpec },
  plan: () => Promise<PredictPlan>,
): Promise<PredictJobRecord> {
  const { jobId, spec } = request;
  checkJobId(jobId);
  const now = clock(deps);
  const job: PredictJobRecord = { ...newJobFields(jobId, now), kind: 'predict', spec, status: 'STARTING', round: PREDICT_ROUND, shards: 0 };
  await deps.store.createJob(job);
  let planned: PredictPlan;
  try {
    planned = await plan();
    if (planned.shards < 1) throw new DataError(spec.data.uri, 'no parts to predict on');
    const limit = limitsOf(deps.limits).maxWorkerRounds;
    if (planned.shards > limit) throw new SpecError(`invalid predict spec: workers: ${planned.shards} shards is more than the ${limit} worker invocations this stack allows one job (maxWorkerRounds)`, 'workers');
  } catch (error) {
    if (error instanceof BspmlError && !(error instanceof JobExistsError)) await failJob(deps.store, jobId, error.message, error.code);
    throw error;
  }
  const predict: PredictState = { model: planned.model, out: predictOutFolder(spec.out, jobId) };
  const startedAt = clock(deps);
  if (!(await deps.store.updateJob(jobId, { round: PREDICT_ROUND, status: 'STARTING' }, { status: 'RUNNING', shards: planned.shards, layout: planned.layout, predict, roundStartedAt: startedAt }))) {
    throw new BspmlError('E_CONFLICT', `job ${jobId} changed while it was starting`);
  }
  const running: PredictJobRecord = { ...job, status: 'RUNNING', shards: planned.shards, layout: planned.layout, predict, roundStartedAt: startedAt };
  await publishRound(deps.fanout, deps.store, running, PREDICT_ROUND);
  await deps.store.updateJob(jobId, { round: PREDICT_ROUND, status: 'RUNNING' }, { fanoutRound: PREDICT_ROUND });
  return { ...running, fanoutRound: PREDICT_ROUND };
}

/** A running predict job with everything its tasks need. */
export type RunningPredictJob = PredictJobRecord & { predict: PredictState; layout: DatasetLayout };

export type PredictShardOutcome =
  | { status: 'done'; part: PredictPart; written: boolean; arrived: boolean; count: number; finished: boolean }
  /** Bad data or a model that cannot serve: the job is FAILED with the reason (once), nothing retried. */
  | { status: 'failed'; reason: string; /** False when the job had already ended (another shard failed it first). */ changed: boolean }
  /** A task that cannot belong to a running predict job: logged and dropped, the job untouched. */
  | { status: 'rejected'; reason: string };

/**
 * One predict task: `compute` writes the shard's part; its name and rows are stored as the shard's
 * partial, and the shard arrives at the barrier; the filling arrival finishes the job. Safe to
 * repeat: a duplicate writes the same bytes to the same part, finds its partial and arrival stored,
 * and a task delivered after the job ended computes nothing.
 */
export async function predictShard(
  deps: FinishDeps,
  task: RoundTask,
  compute: (job: RunningPredictJob) => Promise<Omit<PredictPart, 'shard' | 'ms'>>,
): Promise<PredictShardOutcome> {
  const { store } = deps;
  const record = await store.getJob(task.jobId);
  if (!record) return { status: 'rejected', reason: `task for job ${task.jobId}, which does not exist` };
  const job = asPredictJob(record);
  if (!job) return { status: 'rejected', reason: `predict task for job ${task.jobId}, which is a training job` };
  if (job.status !== 'RUNNING') return { status: 'rejected', reason: `predict task for job ${job.jobId}, which is ${job.status}` };
  if (task.phase !== 'predict' || task.round !== PREDICT_ROUND) return { status: 'rejected', reason: `task for round ${task.round} (phase ${task.phase ?? 'train'}) of predict job ${job.jobId}: its one round is ${PREDICT_ROUND}, phase predict` };
  const misfit = taskMisfit(task, job);
  if (misfit) return { status: 'rejected', reason: misfit };
  if (!job.predict || !job.layout) return { status: 'rejected', reason: `predict job ${job.jobId} is RUNNING without its model and data layout` };
  const running: RunningPredictJob = { ...job, predict: job.predict, layout: job.layout };

  let written: Omit<PredictPart, 'shard' | 'ms'>;
  const started = performance.now();
  try {
    written = await compute(running);
  } catch (error) {
    // Bad data or a model that does not fit: the same on every try. Anything else is thrown, to be retried.
    if (!(error instanceof DataError) && !(error instanceof SpecError)) throw error;
    const changed = await failJob(store, job.jobId, error.message, error.code);
    return { status: 'failed', reason: error.message, changed };
  }
  // The task's time, for the cost estimate: to the microsecond is more than Lambda bills (1 ms).
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  const part: PredictPart = { shard: task.shard, uri: written.uri, rows: written.rows, bytes: written.bytes, ms, modelReads: written.modelReads };
  const stored = await store.putPartial(job.jobId, PREDICT_ROUND, task.shard, encodePredictPart(part));
  const { added, count } = await store.arrive(job.jobId, PREDICT_ROUND, task.shard, job.shards);
  let finished = false;
  // A repeat of the filling arrival (its first run may have died before finishing) finishes while the job still runs.
  if (count === job.shards && (added || (await store.getJob(job.jobId))?.status === 'RUNNING')) {
    finished = (await finishPredictJob(deps, job.jobId)).status === 'predicted';
  }
  return { status: 'done', part, written: stored, arrived: added, count, finished };
}

export type FinishOutcome = { status: 'predicted'; parts: number; rows: number } | { status: 'ignored'; reason: string };

/**
 * Finishes a predict job once every shard has arrived: its `_SUCCESS` marker, then the record
 * SUCCEEDED with the parts in shard order, rows, bytes and estimated cost, in a conditional write,
 * so however often it runs (the filling arrival, a redelivered completion) the job finishes once.
 * The marker goes first, so no job is SUCCEEDED without it; a marker write that fails leaves the job
 * RUNNING (the error is thrown, to be retried); a finish that then finds the job ended otherwise
 * (FAILED meanwhile) takes its marker back. Its partials and barrier are cleared after.
 */
export async function finishPredictJob(deps: FinishDeps, jobId: string): Promise<FinishOutcome> {
  const { store } = deps;
  const record = await store.getJob(jobId);
  const job = record && asPredictJob(record);
  if (!job) return { status: 'ignored', reason: `job ${jobId} is not a predict job` };
  if (job.status === 'SUCCEEDED') {
    // A repeat after the finish: clearing twice changes nothing.
    await clearFinished(store, job);
    return { status: 'ignored', reason: 'job is SUCCEEDED' };
  }
  if (job.status !== 'RUNNING' || !job.predict) return { status: 'ignored', reason: `job is ${job.status}` };
  const arrived = await store.arrivals(jobId, PREDICT_ROUND, job.shards);
  if (arrived.length < job.shards) return { status: 'ignored', reason: `${arrived.length} of ${job.shards} shards have arrived` };
  const parts = (await store.getPartials(jobId, PREDICT_ROUND, job.shards)).map(decodePredictPart).sort((a, b) => a.shard - b.shard);
  const marker = successMarker({ jobId, data: job.spec.data.uri, predict: job.predict }, parts);
  await deps.predictMarkers?.write(marker);
  const finished: PredictState = { ...job.predict, parts, rows: marker.rows, bytes: marker.bytes };
  const cost = estimatePredictCost({ ...job, status: 'SUCCEEDED', predict: finished });
  if (cost.usdPerMillionRows !== undefined) finished.usdPerMillionRows = cost.usdPerMillionRows;
  const done = await store.updateJob(jobId, { round: PREDICT_ROUND, status: 'RUNNING' }, { status: 'SUCCEEDED', predict: finished, costUsd: cost.total });
  const now = done ? undefined : await store.getJob(jobId);
  if (!done && now?.status !== 'SUCCEEDED') {
    // Ended otherwise while this finish ran (a shard failed it): no marker for a job that did not succeed.
    await deps.predictMarkers?.remove(job.predict.out);
    return { status: 'ignored', reason: `the job changed while it was finished (now ${now?.status ?? 'gone'})` };
  }
  await clearFinished(store, job);
  return { status: 'predicted', parts: parts.length, rows: marker.rows };
}
