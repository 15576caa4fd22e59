import { algorithmFor } from '../algorithms/index.js';
import { BspmlError, MissingStateError, PartialMissingError } from '../errors.js';
import { decodeModel, decodePartial, encodeModel, modelDigest } from './codec.js';
import { clock, type ProtocolDeps } from './deps.js';
import { afterRound, limitsOf } from './costGuard.js';
import { failJob } from './failJob.js';
import { PREPARE_DIGEST, PREPARE_ROUND } from './constants.js';
import { prepareModel, type PreparedRound } from './prepare.js';
import { publishRound } from './publish.js';
import { endLingering, publishNextRound } from './linger.js';
import type { CompletionMessage, JobPatch, JobRecord, RoundMetrics, WorkerReport } from './types.js';

export type AggregateOutcome =
  /** `prepared`: the preparation round ended and round 1 was published. */
  | { status: 'prepared' | 'advanced' | 'finished'; metrics: RoundMetrics }
  | { status: 'failed'; reason: string }
  /** A duplicate or late completion: nothing changed (or a lost fan-out was re-published). */
  | { status: 'ignored' | 'republished'; reason: string };

/**
 * The aggregator: merges a round's partials in shard order, updates the model, records the round,
 * then either finishes the job or advances it and publishes the next round. The advance is a
 * conditional write on the job's round, so however often a completion is delivered, a round is
 * aggregated into the job once. The preparation round (round 0) merges summaries instead and
 * initialises the model (see prepare.ts).
 */
export async function aggregate(deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now' | 'limits'>, message: CompletionMessage): Promise<AggregateOutcome> {
  const { store } = deps;
  const job = await store.getJob(message.jobId);
  if (!job) return { status: 'ignored', reason: `job ${message.jobId} does not exist` };
  if (job.status !== 'RUNNING') return { status: 'ignored', reason: `job is ${job.status}` };
  if (message.round !== job.round) {
    // The round was aggregated before. If the advance landed but its fan-out did not (the
    // aggregator died in between), this redelivery is the moment to publish it.
    if (message.round === job.round - 1 && job.fanoutRound < job.round) {
      await publishNextRound(deps, job, job.round);
      await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { fanoutRound: job.round });
      return { status: 'republished', reason: `round ${job.round} fan-out re-published` };
    }
    return { status: 'ignored', reason: `completion for round ${message.round}, job is at round ${job.round}` };
  }
  const prepare = job.round === PREPARE_ROUND;
  if (!prepare && !job.data) throw new MissingStateError(`job ${job.jobId} is RUNNING without its data summary`);

  const algorithm = algorithmFor(job.spec);
  // The preparation round has no model: its partials are summaries, tagged with PREPARE_DIGEST.
  let model: Float64Array | undefined;
  let digest = PREPARE_DIGEST;
  if (!prepare) {
    const modelBytes = await store.getModel(job.jobId, job.round);
    if (!modelBytes) throw new MissingStateError(`job ${job.jobId}: model of round ${job.round} is missing`);
    model = decodeModel(modelBytes);
    digest = modelDigest(modelBytes);
  }

  let stored: Uint8Array[];
  try {
    stored = await store.getPartials(job.jobId, job.round, job.shards);
  } catch (error) {
    if (!(error instanceof PartialMissingError) || error.jobId !== job.jobId || error.round !== job.round) throw error;
    // A shard that has not arrived: this completion came before the barrier filled (it was not
    // sent by the filling arrival), and that arrival will send one.
    if (!(await store.arrivals(job.jobId, job.round, job.shards)).includes(error.shard)) {
      return { status: 'ignored', reason: `completion for round ${job.round} before shard ${error.shard} arrived` };
    }
    // An arrived shard without a partial: one discarded as a stray whose re-run has not written
    // yet, or whose re-run task was lost. Run the shard again.
    await publishRound(deps.fanout, store, job, job.round, model, [error.shard]);
    return { status: 'republished', reason: `round ${job.round}: partial of shard ${error.shard} missing, shard re-published` };
  }

  // Merge only partials computed from this round's model: one from a forged, stale or damaged
  // task is discarded and its shard computed again from the stored model.
  const shape = prepare ? undefined : algorithm.shape(job.spec, job.data!);
  const partialLength = shape ? algorithm.partialLength(shape) : undefined;
  const decoded: { partial: Float64Array; report: WorkerReport }[] = [];
  const strays: number[] = [];
  stored.forEach((bytes, shard) => {
    const one = decodeOrUndefined(bytes);
    const fits = prepare ? one?.report.summary !== undefined : one?.partial.length === partialLength;
    if (!one || one.report.modelDigest !== digest || !fits) strays.push(shard);
    else decoded.push(one);
  });
  if (strays.length > 0) {
    for (const shard of strays) await store.discardPartial(job.jobId, job.round, shard);
    await publishRound(deps.fanout, store, job, job.round, model, strays);
    return {
      status: 'republished',
      reason: `round ${job.round}: partial(s) of shard(s) ${strays.join(', ')} not computed from the round's model; discarded and re-published`,
    };
  }

  if (prepare) return aggregatePrepare(deps, job, decoded, stored);

  const merged = new Float64Array(partialLength!);
  let computeMs = 0;
  let loadMs = 0;
  let cacheHits = 0;
  let partialBytes = 0;
  for (const [i, { partial, report }] of decoded.entries()) {
    const bytes = stored[i]!;
    algorithm.merge(merged, partial);
    computeMs = Math.max(computeMs, report.computeMs);
    loadMs = Math.max(loadMs, report.loadMs);
    if (report.cacheHit) cacheHits++;
    partialBytes += bytes.byteLength;
  }

  let update;
  try {
    update = algorithm.update(job.spec, shape!, model!, merged);
  } catch (error) {
    if (!(error instanceof BspmlError)) throw error;
    const reason = `round ${job.round}: ${error.message}`;
    await failJob(store, job.jobId, reason);
    await endLingering(store, job);
    return { status: 'failed', reason };
  }

  const nextBytes = encodeModel(update.model);
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
    modelBytes: nextBytes.byteLength,
    publishedAt: job.roundStartedAt,
    aggregatedAt: clock(deps),
  };
  await store.putRoundMetrics(job.jobId, metrics);
  await store.putModel(job.jobId, job.round + 1, nextBytes);

  // Training rounds are numbered from 1, so the round just aggregated is the count of training rounds.
  const rounds = job.round;
  const guard = afterRound(job, metrics, limitsOf(deps.limits));
  if (update.converged || rounds >= job.spec.maxRounds) {
    const result = algorithm.result(job.spec, job.data!, update.model, update, merged, rounds);
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
  const ignored = await advance(deps, job, update.model, { costUsd: guard.costUsd });
  return ignored ? { status: 'ignored', reason: ignored } : { status: 'advanced', metrics };
}

/** The cost guard: the next round would pass a limit. The round's metrics and model stay stored. */
async function stopForCost(store: ProtocolDeps['store'], job: JobRecord, guard: { costUsd: number; stop?: string }): Promise<AggregateOutcome> {
  if (await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { status: 'FAILED', error: guard.stop!, costUsd: guard.costUsd })) {
    await endLingering(store, job);
    return { status: 'failed', reason: guard.stop! };
  }
  return { status: 'ignored', reason: `the job changed while round ${job.round} was aggregated` };
}

/**
 * Moves the job from its round to the next (conditionally: once, however often the completion
 * comes) and publishes the next round with `model`, which the caller has stored. Returns why
 * nothing was done, or undefined when the next round is published.
 */
async function advance(deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now'>, job: JobRecord, model: Float64Array, patch: JobPatch = {}): Promise<string | undefined> {
  const { store } = deps;
  const next = job.round + 1;
  const advanced = await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { ...patch, round: next, recoveries: 0, sweepArrivals: 0, roundStartedAt: clock(deps) });
  if (!advanced) {
    // Our advance may have landed with its reply lost, or another aggregation of the same round
    // (same partials, same model) advanced it: either way, the next round's fan-out may be missing.
    const now = await store.getJob(job.jobId);
    if (now?.status !== 'RUNNING' || now.round !== next) return `the job changed while round ${job.round} was aggregated (${describe(now)})`;
    if (now.fanoutRound >= next) return `another aggregation advanced round ${job.round} first`;
  }
  await publishNextRound(deps, job, next, model);
  await store.updateJob(job.jobId, { round: next, status: 'RUNNING' }, { fanoutRound: next });
  // The round before the one just aggregated is behind the job for good: its partials and barrier
  // would only cost storage (and, on DynamoDB, reads of anything that walks the table) until they
  // expire. The round just aggregated is kept one round longer, so that a late duplicate of one of
  // its tasks still finds its partial and arrival and changes nothing.
  if (job.round > 0) await store.clearRound(job.jobId, job.round - 1, job.shards);
  return undefined;
}

/** A finished job keeps its record, metrics and models: its last two rounds' partials and barriers go. */
async function clearFinished(store: ProtocolDeps['store'], job: JobRecord): Promise<void> {
  await store.clearRound(job.jobId, job.round, job.shards);
  if (job.round > 0) await store.clearRound(job.jobId, job.round - 1, job.shards);
}

/**
 * The preparation round's aggregation: merge the shards' summaries, check the data set, initialise
 * the model and publish round 1; or end the job FAILED with the reason, publishing nothing.
 */
async function aggregatePrepare(
  deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now' | 'limits'>,
  job: JobRecord,
  partials: { partial: Float64Array; report: WorkerReport }[],
  stored: Uint8Array[],
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

  const modelBytes = encodeModel(prepared.model);
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
    modelBytes: modelBytes.byteLength,
    publishedAt: job.roundStartedAt,
    aggregatedAt: clock(deps),
  };
  await store.putRoundMetrics(job.jobId, metrics);
  await store.putModel(job.jobId, job.round + 1, modelBytes);
  const guard = afterRound(job, metrics, limitsOf(deps.limits));
  if (guard.stop) return stopForCost(store, job, guard);
  const ignored = await advance(deps, job, prepared.model, { data: prepared.data, costUsd: guard.costUsd });
  return ignored ? { status: 'ignored', reason: ignored } : { status: 'prepared', metrics };
}

function decodeOrUndefined(bytes: Uint8Array): ReturnType<typeof decodePartial> | undefined {
  try {
    return decodePartial(bytes);
  } catch (error) {
    if (error instanceof BspmlError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function describe(job: JobRecord | undefined): string {
  return job ? `now ${job.status} at round ${job.round}` : 'it no longer exists';
}
