import type { ProtocolDeps } from './deps.js';
import { MAX_RECOVERIES } from './constants.js';
import { failJob } from './failJob.js';
import { publishRound } from './publish.js';
import { clearBehind } from './clearRounds.js';

export type RecoveryOutcome =
  | { action: 'none'; reason: string }
  | { action: 'republished'; shards: number[] }
  | { action: 'completion-resent' }
  | { action: 'failed'; reason: string };

/**
 * Repairs a job whose current round has stopped moving (a lost message, a worker or aggregator that
 * died): re-publishes the shards that have not arrived, or re-sends the completion when all have.
 * Partials are deterministic and writes idempotent, so repeating work is safe. After
 * `maxRecoveries` sweeps in a row that found no new arrival at the round's barrier, the job is
 * FAILED with the shards that never arrived.
 * The caller decides when a round is stale (the local runtime: nothing in flight; AWS: a schedule).
 */
export async function recoverJob(
  deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'completion'>,
  jobId: string,
  maxRecoveries = MAX_RECOVERIES,
): Promise<RecoveryOutcome> {
  const { store } = deps;
  const job = await store.getJob(jobId);
  if (!job) return { action: 'none', reason: `job ${jobId} does not exist` };
  if (job.status !== 'RUNNING') return { action: 'none', reason: `job is ${job.status}` };

  const arrived = new Set(await store.arrivals(jobId, job.round, job.shards));
  const missing = Array.from({ length: job.shards }, (_, i) => i).filter((shard) => !arrived.has(shard));
  // Progress, not the number of sweeps, decides: a slow round whose shards keep arriving is never
  // failed; the count restarts whenever a sweep finds more arrivals than the sweep before it.
  const progressed = arrived.size > (job.sweepArrivals ?? 0);
  const stalledSweeps = progressed ? 0 : job.recoveries;
  if (stalledSweeps >= maxRecoveries) {
    const reason =
      missing.length > 0
        ? `round ${job.round} stalled: shard(s) ${missing.join(', ')} never arrived after ${maxRecoveries} recovery attempts without progress`
        : `round ${job.round} stalled: aggregation did not complete after ${maxRecoveries} recovery attempts`;
    await failJob(store, jobId, reason);
    return { action: 'failed', reason };
  }
  // The attempt is counted once it went out: a sweep whose re-send or re-publish failed (the queue
  // or the topic refusing it) made none, and three of them in a row would otherwise fail a job that
  // was never retried (issue 18's fault suite: two lost messages, then two refused re-sends). The
  // count is written with the round as its condition, so a job that moved on meanwhile (the re-sent
  // completion already aggregated) keeps its fresh count.
  const counted = { recoveries: stalledSweeps + 1, sweepArrivals: arrived.size };
  if (missing.length === 0) {
    await deps.completion.send({ jobId, round: job.round });
    await store.updateJob(jobId, { round: job.round, status: 'RUNNING' }, counted);
    return { action: 'completion-resent' };
  }
  await publishRound(deps.fanout, store, job, job.round, undefined, missing);
  // The fan-out was not marked: the aggregator that advanced the job died first, maybe before clearing.
  const marked = job.fanoutRound < job.round ? { fanoutRound: job.round, ...(await clearBehind(store, job)) } : {};
  await store.updateJob(jobId, { round: job.round, status: 'RUNNING' }, { ...counted, ...marked });
  return { action: 'republished', shards: missing };
}
