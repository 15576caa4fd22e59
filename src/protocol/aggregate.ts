import { algorithmFor } from '../algorithms/index.js';
import { BspmlError, MissingStateError } from '../errors.js';
import { decodeModel, decodePartial, encodeModel } from './codec.js';
import { clock, type ProtocolDeps } from './deps.js';
import { failJob } from './failJob.js';
import { publishRound } from './publish.js';
import type { CompletionMessage, RoundMetrics } from './types.js';

export type AggregateOutcome =
  | { status: 'advanced' | 'finished'; metrics: RoundMetrics }
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

  const rounds = job.round + 1;
  if (update.converged || rounds >= job.spec.maxRounds) {
    const result = algorithm.result(job.spec, job.data, update.model, update, merged, rounds);
    const done = await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { status: 'SUCCEEDED', result });
    return done ? { status: 'finished', metrics } : { status: 'ignored', reason: 'another aggregation finished the job first' };
  }

  const advanced = await store.updateJob(
    job.jobId,
    { round: job.round, status: 'RUNNING' },
    { round: rounds, recoveries: 0, roundStartedAt: clock(deps) },
  );
  if (!advanced) return { status: 'ignored', reason: `another aggregation advanced round ${job.round} first` };
  await publishRound(deps.fanout, store, job, rounds, update.model);
  await store.updateJob(job.jobId, { round: rounds, status: 'RUNNING' }, { fanoutRound: rounds });
  return { status: 'advanced', metrics };
}
