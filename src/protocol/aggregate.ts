import { algorithmFor } from '../algorithms/index.js';
import { BspmlError, MissingStateError } from '../errors.js';
import { decodeModel, decodePartial, encodeModel } from './codec.js';
import { clock, type ProtocolDeps } from './deps.js';
import { failJob } from './failJob.js';
import { PREPARE_ROUND } from './constants.js';
import { prepareModel, type PreparedRound } from './prepare.js';
import { publishRound } from './publish.js';
import type { CompletionMessage, JobPatch, JobRecord, RoundMetrics } from './types.js';

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
 * aggregated into the job once.
 */
export async function aggregate(deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now'>, message: CompletionMessage): Promise<AggregateOutcome> {
  const { store } = deps;
  const job = await store.getJob(message.jobId);
  if (!job) return { status: 'ignored', reason: `job ${message.jobId} does not exist` };
  if (job.status !== 'RUNNING') return { status: 'ignored', reason: `job is ${job.status}` };
  if (message.round !== job.round) {
    // The round was aggregated before. If the advance landed but its fan-out did not (the
    // aggregator died in between), this redelivery is the moment to publish it.
    if (message.round === job.round - 1 && job.fanoutRound < job.round) {
      await publishRound(deps.fanout, store, job, job.round);
      await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { fanoutRound: job.round });
      return { status: 'republished', reason: `round ${job.round} fan-out re-published` };
    }
    return { status: 'ignored', reason: `completion for round ${message.round}, job is at round ${job.round}` };
  }
  if (job.round === PREPARE_ROUND) return aggregatePrepare(deps, job);
  if (!job.data) throw new MissingStateError(`job ${job.jobId} is RUNNING without its data summary`);

  const algorithm = algorithmFor(job.spec);
  const shape = algorithm.shape(job.spec, job.data);
  const stored = await store.getPartials(job.jobId, job.round, job.shards);
  const modelBytes = await store.getModel(job.jobId, job.round);
  if (!modelBytes) throw new MissingStateError(`job ${job.jobId}: model of round ${job.round} is missing`);
  const model = decodeModel(modelBytes);

  const merged = new Float64Array(algorithm.partialLength(shape));
  let computeMs = 0;
  let loadMs = 0;
  let cacheHits = 0;
  let partialBytes = 0;
  for (const bytes of stored) {
    const { partial, report } = decodePartial(bytes);
    algorithm.merge(merged, partial);
    computeMs = Math.max(computeMs, report.computeMs);
    loadMs = Math.max(loadMs, report.loadMs);
    if (report.cacheHit) cacheHits++;
    partialBytes += bytes.byteLength;
  }

  let update;
  try {
    update = algorithm.update(job.spec, shape, model, merged);
  } catch (error) {
    if (!(error instanceof BspmlError)) throw error;
    const reason = `round ${job.round}: ${error.message}`;
    await failJob(store, job.jobId, reason);
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
  if (update.converged || rounds >= job.spec.maxRounds) {
    const result = algorithm.result(job.spec, job.data, update.model, update, merged, rounds);
    const done = await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { status: 'SUCCEEDED', result });
    return done ? { status: 'finished', metrics } : { status: 'ignored', reason: 'another aggregation finished the job first' };
  }

  if (!(await advance(deps, job, update.model))) return { status: 'ignored', reason: `another aggregation advanced round ${job.round} first` };
  return { status: 'advanced', metrics };
}

/**
 * Moves the job from its round to the next (conditionally: once, however often the completion
 * comes) and publishes the next round with `model`, which the caller has stored.
 */
async function advance(deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now'>, job: JobRecord, model: Float64Array, patch: JobPatch = {}): Promise<boolean> {
  const next = job.round + 1;
  const advanced = await deps.store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { ...patch, round: next, recoveries: 0, roundStartedAt: clock(deps) });
  if (!advanced) return false;
  await publishRound(deps.fanout, deps.store, job, next, model);
  await deps.store.updateJob(job.jobId, { round: next, status: 'RUNNING' }, { fanoutRound: next });
  return true;
}

/**
 * The preparation round's aggregation: merge the shards' summaries, check the data set, initialise
 * the model and publish round 1; or end the job FAILED with the reason, publishing nothing.
 */
async function aggregatePrepare(deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now'>, job: JobRecord): Promise<AggregateOutcome> {
  const { store } = deps;
  if (!job.layout) throw new MissingStateError(`job ${job.jobId} is RUNNING without its data layout`);
  const stored = await store.getPartials(job.jobId, job.round, job.shards);
  const partials = stored.map((bytes) => decodePartial(bytes));
  let prepared: PreparedRound;
  try {
    prepared = prepareModel({ ...job, layout: job.layout }, partials);
  } catch (error) {
    if (!(error instanceof BspmlError)) throw error;
    await failJob(store, job.jobId, error.message, error.code);
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
  if (!(await advance(deps, job, prepared.model, { data: prepared.data }))) {
    return { status: 'ignored', reason: `another aggregation advanced round ${job.round} first` };
  }
  return { status: 'prepared', metrics };
}
