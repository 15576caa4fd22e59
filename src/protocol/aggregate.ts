import { randomUUID } from 'node:crypto';
import { algorithmFor } from '../algorithms/index.js';
import { BspmlError, DataError, MissingStateError, PartialMissingError } from '../errors.js';
import type { HeldOutFigures } from '../domain/results.js';
import { scoreHeldOut } from './heldOut.js';
import { decodeModel, decodePartial, modelDigest } from './codec.js';
import { encodeView, putRoundModel, roundModel, splitsModel } from './modelView.js';
import { clock, type ProtocolDeps } from './deps.js';
import { afterRound, limitsOf } from './costGuard.js';
import { failJob } from './failJob.js';
import { PREPARE_DIGEST, PREPARE_ROUND } from './constants.js';
import { prepareModel, type PreparedRound } from './prepare.js';
import { publishRound } from './publish.js';
import { gatherPartials, treeMerge, type Gathered } from './groupMerge.js';
import { quorumMs, scheduleBackupCheck } from './stragglers.js';
import type { Algorithm, Shape } from '../algorithms/types.js';
import { endLingering, publishNextRound } from './handOver.js';
import { clearBehind, clearFinished } from './clearRounds.js';
import { finishPredictJob, PREDICT_ROUND } from './predictRound.js';
import type { CompletionMessage, JobPatch, JobRecord, TrainJobRecord, RoundMetrics, WorkerReport } from '../domain/job.js';

export type AggregateOutcome =
  /**
   * `prepared`: the preparation round ended and round 1 was published. `model`: the next round's
   * model as its workers compute from it (its view where the model is stored split, modelView.ts),
   * as stored (prepared, advanced).
   */
  | { status: 'prepared' | 'advanced' | 'finished'; metrics: RoundMetrics; model?: Uint8Array }
  | { status: 'failed'; reason: string }
  /** A duplicate or late completion: nothing changed (or a lost fan-out was re-published). */
  | { status: 'ignored' | 'republished'; reason: string }
  /** A predict job's completion (redelivered by the recovery sweep): the job finished with its parts. */
  | { status: 'predicted'; parts: number; rows: number };

/**
 * The aggregator: merges a round's partials in shard order, updates the model, records the round,
 * then either finishes the job or advances it and publishes the next round. The advance is a
 * conditional write on the job's round, so however often a completion is delivered, a round is
 * aggregated into the job once. The preparation round (round 0) merges summaries instead and
 * initialises the model (see prepare.ts).
 */
/** What an aggregation run inline by a lingering job's filling arrival knows (linger.ts). */
export interface AggregateOptions {
  /**
   * The filling arrival's shard, which its worker computes in the next round with the model this
   * aggregation makes (it stays): it is handed over without a claim and not published.
   */
  stays?: number;
  /**
   * The model of round `round` as the worker read it from the store (a hand-over or the model item)
   * or made it (its own aggregation): the aggregation of that round needs no read of it, where it is
   * the whole model (a job whose model is stored split gave its worker only the view, and the
   * aggregation reads the model). A model that came in a task message is not passed (a forged task
   * must not set the round's model).
   */
  model?: { round: number; bytes: Uint8Array };
  /**
   * Run inline by a worker: a completion for a round the job has already left, whose fan-out is not
   * marked yet, is ignored here rather than re-published. Another aggregation advanced the job and
   * is publishing it (a lingering job's hand-over may take a while); re-publishing from here would
   * publish the shards its claims and its own worker hold, duplicating live workers. Should that
   * aggregation have died, the recovery sweep publishes the round's missing shards, as for any
   * stalled round. The aggregator function's redeliveries still re-publish at once.
   */
  inline?: boolean;
}

export async function aggregate(
  deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now' | 'limits' | 'delayed'> & Partial<Pick<ProtocolDeps, 'datasets' | 'modelFiles' | 'predictMarkers'>>,
  message: CompletionMessage,
  options: AggregateOptions = {},
): Promise<AggregateOutcome> {
  const { store } = deps;
  const job = await store.getJob(message.jobId);
  if (!job) return { status: 'ignored', reason: `job ${message.jobId} does not exist` };
  // A predict job has no model to update: its one round ends with its parts listed.
  if (job.kind === 'predict') return message.round === PREDICT_ROUND ? finishPredictJob(deps, job.jobId) : { status: 'ignored', reason: `completion for round ${message.round} of a predict job` };
  if (job.status !== 'RUNNING') {
    // The last round's completion again: its aggregator may have died between ending the job and
    // clearing its rounds (a redelivery is how that shows). Clearing twice changes nothing.
    if (job.status === 'SUCCEEDED' && message.round === job.round) await clearFinished(store, job);
    return { status: 'ignored', reason: `job is ${job.status}` };
  }
  if (message.round !== job.round) {
    // The round was aggregated before. If the advance landed but its fan-out did not (the
    // aggregator died in between), this redelivery is the moment to publish it, and to clear
    // what that aggregator did not.
    if (message.round === job.round - 1 && job.fanoutRound < job.round) {
      if (options.inline) return { status: 'ignored', reason: `round ${message.round} was aggregated by another aggregation, which is publishing round ${job.round}` };
      await publishNextRound(deps, job, job.round);
      const cleared = await clearBehind(store, job);
      await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { fanoutRound: job.round, ...cleared });
      return { status: 'republished', reason: `round ${job.round} fan-out re-published` };
    }
    return { status: 'ignored', reason: `completion for round ${message.round}, job is at round ${job.round}` };
  }
  const prepare = job.round === PREPARE_ROUND;
  if (!prepare && !job.data) throw new MissingStateError(`job ${job.jobId} is RUNNING without its data summary`);

  const algorithm = algorithmFor(job.spec);
  if (!prepare) {
    const shape = algorithm.shape(job.spec, job.data!);
    const split = splitsModel(algorithm, shape);
    const given = !split && options.model?.round === job.round ? options.model.bytes : undefined;
    const modelBytes = given ?? (await store.getModel(job.jobId, job.round));
    if (!modelBytes) throw new MissingStateError(`job ${job.jobId}: model of round ${job.round} is missing`);
    const model = decodeModel(modelBytes);
    // Partials record the digest of what their workers computed from: the view of this very model
    // where it is stored split (made again here from the model, so a view that is not its model's
    // never matches), else the model's bytes.
    const view = split ? encodeView(algorithm, shape, model) : modelBytes;
    const digest = modelDigest(view);
    const partialLength = algorithm.partialLength(shape);
    const gathered = await gatherPartials(store, algorithm, job, digest, partialLength, treeMerge(job.spec, job.shards, partialLength));
    if (gathered.kind === 'missing') return missingPartial(deps, job, view, gathered.shard);
    if (gathered.kind === 'strays') return rerunStrays(deps, job, view, gathered.shards);
    return aggregateTraining(deps, job, algorithm, shape, model, gathered, options.stays);
  }
  // The preparation round has no model: its partials are summaries, tagged with PREPARE_DIGEST.
  const digest = PREPARE_DIGEST;

  let stored: Uint8Array[];
  try {
    stored = await store.getPartials(job.jobId, job.round, job.shards);
  } catch (error) {
    if (!(error instanceof PartialMissingError) || error.jobId !== job.jobId || error.round !== job.round) throw error;
    return missingPartial(deps, job, undefined, error.shard);
  }

  // Merge only summaries of this round: one from a forged or damaged task is discarded and its
  // shard run again.
  const decoded: { partial: Float64Array; report: WorkerReport }[] = [];
  const strays: number[] = [];
  stored.forEach((bytes, shard) => {
    const one = decodeOrUndefined(bytes);
    if (!one || one.report.modelDigest !== digest || one.report.summary === undefined) strays.push(shard);
    else decoded.push(one);
  });
  if (strays.length > 0) return rerunStrays(deps, job, undefined, strays);
  return aggregatePrepare(deps, job, decoded, stored, options.stays);
}

/**
 * A shard without a partial. Not arrived: this completion came before the barrier filled (it was
 * not sent by the filling arrival), and that arrival will send one. Arrived: its partial was
 * discarded as a stray and its re-run has not written yet, or the re-run's task was lost: run it again.
 */
async function missingPartial(deps: Pick<ProtocolDeps, 'store' | 'fanout'>, job: TrainJobRecord, view: Uint8Array | undefined, shard: number): Promise<AggregateOutcome> {
  if (!(await deps.store.arrivals(job.jobId, job.round, job.shards)).includes(shard)) {
    return { status: 'ignored', reason: `completion for round ${job.round} before shard ${shard} arrived` };
  }
  await publishRound(deps.fanout, deps.store, job, job.round, view, [shard]);
  return { status: 'republished', reason: `round ${job.round}: partial of shard ${shard} missing, shard re-published` };
}

/**
 * Merge only partials computed from this round's model: one from a forged, stale or damaged task
 * is discarded and its shard computed again from the stored model. `view`: what the round's workers
 * compute from (none in the preparation round).
 */
async function rerunStrays(deps: Pick<ProtocolDeps, 'store' | 'fanout'>, job: TrainJobRecord, view: Uint8Array | undefined, strays: number[]): Promise<AggregateOutcome> {
  for (const shard of strays) await deps.store.discardPartial(job.jobId, job.round, shard);
  await publishRound(deps.fanout, deps.store, job, job.round, view, strays);
  return {
    status: 'republished',
    reason: `round ${job.round}: partial(s) of shard(s) ${strays.join(', ')} not computed from the round's model; discarded and re-published`,
  };
}

/** A training round whose partials are all in: update the model, record the round, then finish or advance. */
async function aggregateTraining(
  deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now' | 'limits' | 'delayed'> & Partial<Pick<ProtocolDeps, 'datasets' | 'modelFiles'>>,
  job: TrainJobRecord,
  algorithm: Algorithm,
  shape: Shape,
  model: Float64Array,
  gathered: Extract<Gathered, { kind: 'merged' }>,
  stays?: number,
): Promise<AggregateOutcome> {
  const { store } = deps;
  const { merged, computeMs, loadMs, cacheHits, partialBytes, readBytes } = gathered;
  const quorum = quorumMs(gathered.arrivals, job.roundStartedAt, job.shards);
  let update;
  try {
    update = algorithm.update(job.spec, shape, model, merged);
  } catch (error) {
    if (!(error instanceof BspmlError)) throw error;
    const reason = `round ${job.round}: ${error.message}`;
    await failJob(store, job.jobId, reason);
    await endLingering(store, job);
    return { status: 'failed', reason };
  }

  const next = roundModel(algorithm, shape, update.model);
  const metrics: RoundMetrics = {
    round: job.round,
    objective: update.objective,
    stats: update.stats,
    converged: update.converged,
    computeMs,
    loadMs,
    cacheHits,
    workers: job.shards,
    partialBytes,
    readBytes,
    ...(quorum !== undefined ? { quorumMs: quorum } : {}),
    modelBytes: next.state.byteLength,
    ...(next.split ? { viewBytes: next.view.byteLength } : {}),
    publishedAt: job.roundStartedAt,
    aggregatedAt: clock(deps),
  };
  // All before the advance, in one round trip's time: a round is published only once its model and
  // view are stored (a crash in between leaves the job at this round, aggregated again on redelivery).
  await Promise.all([store.putRoundMetrics(job.jobId, metrics), ...putRoundModel(store, job.jobId, job.round + 1, next)]);

  // Training rounds are numbered from 1, so the round just aggregated is the count of training rounds.
  const rounds = job.round;
  const guard = afterRound(job, metrics, limitsOf(deps.limits));
  if (update.converged || rounds >= job.spec.maxRounds) {
    let result = algorithm.result(job.spec, job.data!, update.model, update, merged, rounds);
    // Held-out figures in this same step (no extra round): the spec's validation set or holdout share.
    if (deps.datasets) {
      let validation;
      try {
        validation = await scoreHeldOut(deps.datasets, job, result);
      } catch (error) {
        // A held-out set that cannot be read or does not fit the model fails the job with the reason; anything else (a transient read) is retried.
        if (!(error instanceof DataError)) throw error;
        const reason = error.message;
        await failJob(store, job.jobId, reason, error.code);
        await endLingering(store, job);
        return { status: 'failed', reason };
      }
      if (validation) result = { ...result, validation: validation as HeldOutFigures };
    }
    // The model file first: a job is never SUCCEEDED without it. If the write fails, this throws and
    // the job stays RUNNING at this round, all its shards arrived: the completion's redelivery (or
    // the inline aggregation's fallback send, or the recovery sweep's re-send) aggregates it again.
    await deps.modelFiles?.write({ ...job, status: 'SUCCEEDED', result, costUsd: guard.costUsd });
    if (await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { status: 'SUCCEEDED', result, costUsd: guard.costUsd })) {
      await endLingering(store, job);
      await clearFinished(store, job);
      return { status: 'finished', metrics };
    }
    // The condition failed: maybe our own write landed and only its reply was lost (the SDK then
    // retried it against the changed record). The job as stored says what happened.
    const now = await store.getJob(job.jobId);
    if (now?.status === 'SUCCEEDED' && now.round === job.round) {
      await endLingering(store, job);
      await clearFinished(store, job);
      return { status: 'finished', metrics };
    }
    return { status: 'ignored', reason: `the job changed while round ${job.round} was aggregated (${describe(now)})` };
  }

  if (guard.stop) return stopForCost(store, job, guard);
  const ignored = await advance(deps, job, next.view, { costUsd: guard.costUsd }, quorum, stays);
  return ignored ? { status: 'ignored', reason: ignored } : { status: 'advanced', metrics, model: next.view };
}

/** The cost guard: the next round would pass a limit. The round's metrics and model stay stored. */
async function stopForCost(store: ProtocolDeps['store'], job: TrainJobRecord, guard: { costUsd: number; stop?: string }): Promise<AggregateOutcome> {
  if (await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { status: 'FAILED', error: guard.stop!, costUsd: guard.costUsd })) {
    await endLingering(store, job);
    return { status: 'failed', reason: guard.stop! };
  }
  return { status: 'ignored', reason: `the job changed while round ${job.round} was aggregated` };
}

/**
 * Moves the job from its round to the next (conditionally: once, however often the completion
 * comes) and publishes the next round with `view` (what its workers compute from), which the caller
 * has stored with the model. Returns why nothing was done, or undefined when the next round is published.
 */
async function advance(
  deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now' | 'delayed'>,
  job: TrainJobRecord,
  view: Uint8Array,
  patch: JobPatch = {},
  typicalMs?: number,
  stays?: number,
): Promise<string | undefined> {
  const { store } = deps;
  const next = job.round + 1;
  const token = randomUUID();
  const advanced = await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { ...patch, round: next, recoveries: 0, sweepArrivals: 0, roundStartedAt: clock(deps), advancedBy: token });
  if (!advanced) {
    // Our advance may have landed with its reply lost (the client's retry then failed the
    // condition): the token says so, and the fan-out is ours to publish. Otherwise a concurrent
    // aggregation of the same round (same partials, same model; the invoke trigger allows it)
    // advanced it and publishes the fan-out itself; should it die first, a redelivered completion
    // or the recovery sweep publishes it.
    const now = await store.getJob(job.jobId);
    if (now?.status !== 'RUNNING' || now.round !== next) return `the job changed while round ${job.round} was aggregated (${describe(now)})`;
    if (now.fanoutRound >= next || now.advancedBy !== token) return `another aggregation advanced round ${job.round} first`;
  }
  await publishNextRound(deps, job, next, view, stays);
  // The rounds before the one just aggregated are behind the job for good: their partials and
  // barriers would only cost storage (and, on DynamoDB, reads of anything that walks the table)
  // until they expire. The round just aggregated is kept one round longer, so that a late
  // duplicate of one of its tasks still finds its partial and arrival and changes nothing. Cleared
  // before the fan-out is marked, and marked with it: a step that dies in between leaves the mark
  // unset, and the redelivery (or the next step) clears them.
  const cleared = await clearBehind(store, { ...job, round: next });
  await store.updateJob(job.jobId, { round: next, status: 'RUNNING' }, { fanoutRound: next, ...cleared });
  // Backup tasks: a delayed look at the new round's stragglers, after this round's typical time.
  await scheduleBackupCheck(deps, job, next, typicalMs);
  return undefined;
}

/**
 * The preparation round's aggregation: merge the shards' summaries, check the data set, initialise
 * the model and publish round 1; or end the job FAILED with the reason, publishing nothing.
 */
async function aggregatePrepare(
  deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now' | 'limits' | 'delayed'>,
  job: TrainJobRecord,
  partials: { partial: Float64Array; report: WorkerReport }[],
  stored: Uint8Array[],
  stays?: number,
): Promise<AggregateOutcome> {
  const { store } = deps;
  if (!job.layout) throw new MissingStateError(`job ${job.jobId} is RUNNING without its data layout`);
  let prepared: PreparedRound;
  try {
    prepared = prepareModel({ ...job, layout: job.layout }, partials);
  } catch (error) {
    if (!(error instanceof BspmlError)) throw error;
    await failJob(store, job.jobId, error.message, error.code);
    await endLingering(store, job);
    return { status: 'failed', reason: error.message };
  }

  const algorithm = algorithmFor(job.spec);
  const first = roundModel(algorithm, algorithm.shape(job.spec, prepared.data), prepared.model);
  const prepareQuorum = quorumMs(partials.map((p) => p.report.arrivedAt), job.roundStartedAt, job.shards);
  const metrics: RoundMetrics = {
    round: job.round,
    phase: 'prepare',
    // No model entered this round: there is no objective yet.
    objective: 0,
    stats: prepared.stats,
    converged: false,
    computeMs: 0,
    loadMs: Math.max(...partials.map((p) => p.report.loadMs)),
    cacheHits: partials.filter((p) => p.report.cacheHit).length,
    workers: job.shards,
    partialBytes: stored.reduce((n, b) => n + b.byteLength, 0),
    ...(prepareQuorum !== undefined ? { quorumMs: prepareQuorum } : {}),
    modelBytes: first.state.byteLength,
    ...(first.split ? { viewBytes: first.view.byteLength } : {}),
    publishedAt: job.roundStartedAt,
    aggregatedAt: clock(deps),
  };
  await Promise.all([store.putRoundMetrics(job.jobId, metrics), ...putRoundModel(store, job.jobId, job.round + 1, first)]);
  const guard = afterRound(job, metrics, limitsOf(deps.limits));
  if (guard.stop) return stopForCost(store, job, guard);
  const ignored = await advance(deps, job, first.view, { data: prepared.data, costUsd: guard.costUsd }, metrics.quorumMs, stays);
  return ignored ? { status: 'ignored', reason: ignored } : { status: 'prepared', metrics, model: first.view };
}

function decodeOrUndefined(bytes: Uint8Array): { partial: Float64Array; report: WorkerReport } | undefined {
  try {
    return decodePartial(bytes);
  } catch (error) {
    if (error instanceof BspmlError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function describe(job: Pick<JobRecord, 'status' | 'round'> | undefined): string {
  return job ? `now ${job.status} at round ${job.round}` : 'it no longer exists';
}
