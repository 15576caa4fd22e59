import type { BackupCheck } from '../ports/DelayedChannel.js';
import type { ProtocolDeps } from './deps.js';
import { publishRound } from './publish.js';
import type { JobRecord } from '../domain/job.js';

/*
 * Backup tasks for stragglers (issue 18, item 5), after MapReduce's (Dean and Ghemawat, "MapReduce:
 * Simplified Data Processing on Large Clusters", OSDI 2004, §3.6): when most of a round has arrived
 * and the rest are late, run the late shards again elsewhere; whichever partial is written first
 * counts (putPartial is first-write-wins, and partials are deterministic, so either is the same).
 *
 * Nothing waits for this: the aggregation that publishes a round schedules one delayed check of it,
 * `BACKUP_FACTOR` × the time the round before took to see `BACKUP_THRESHOLD` of its shards arrive
 * (the round's typical time, measured from the workers' own arrival times). When the check comes and
 * the round is still open with at least that share arrived, the missing shards are published again,
 * once per round (the job record's `backupRound`). A check that finds less arrived (the whole round
 * is slow, not a few stragglers) looks again after the same delay, at most MAX_BACKUP_CHECKS times.
 */

/** Share of a round's shards that must have arrived before the rest count as stragglers. */
export const BACKUP_THRESHOLD = 0.9;
/** How much later than the round's typical time a shard must be to get a backup (assumption). */
export const BACKUP_FACTOR = 2;
/** Checks of one round at most. */
export const MAX_BACKUP_CHECKS = 3;

/** Shards a round needs arrived before its missing ones get backups (at least one, below W where W > 1). */
export function backupQuorum(shards: number): number {
  return Math.max(1, Math.floor(BACKUP_THRESHOLD * shards));
}

/** Time (ms from the round's start) by which the quorum had arrived, from the workers' arrival times; undefined if unknown. */
export function quorumMs(arrivedAt: (number | undefined)[], startedAt: number, shards: number): number | undefined {
  const known = arrivedAt.filter((t): t is number => typeof t === 'number' && Number.isFinite(t)).sort((a, b) => a - b);
  const at = known[backupQuorum(shards) - 1];
  return at === undefined ? undefined : Math.max(0, at - startedAt);
}

/** Schedules the first check of `round`, when the job has a delayed channel and a typical time. */
export async function scheduleBackupCheck(deps: Pick<ProtocolDeps, 'delayed'>, job: Pick<JobRecord, 'jobId'>, round: number, typicalMs: number | undefined): Promise<void> {
  if (!deps.delayed || typicalMs === undefined) return;
  // At least a millisecond: a round whose quorum arrived at once still gets a check after it.
  const delayMs = Math.max(1, BACKUP_FACTOR * typicalMs);
  await deps.delayed.send({ jobId: job.jobId, round, check: 1, delayMs }, delayMs);
}

export type BackupOutcome = { action: 'none'; reason: string } | { action: 'backups'; shards: number[] } | { action: 'rescheduled' };

/** Handles a backup check: re-publishes the round's missing shards once, when most have arrived. */
export async function checkStragglers(deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'delayed'>, check: BackupCheck): Promise<BackupOutcome> {
  const { store } = deps;
  const job = await store.getJob(check.jobId);
  if (job?.status !== 'RUNNING' || job.round !== check.round) return { action: 'none', reason: 'the round is over' };
  if (job.backupRound === check.round) return { action: 'none', reason: `round ${check.round} had its backups` };
  const arrived = new Set(await store.arrivals(job.jobId, job.round, job.shards));
  const missing = Array.from({ length: job.shards }, (_, i) => i).filter((shard) => !arrived.has(shard));
  if (missing.length === 0) return { action: 'none', reason: 'every shard arrived' };
  if (arrived.size < backupQuorum(job.shards)) {
    if (check.check >= MAX_BACKUP_CHECKS || !deps.delayed) return { action: 'none', reason: `only ${arrived.size} of ${job.shards} shards arrived` };
    await deps.delayed.send({ ...check, check: check.check + 1 }, check.delayMs);
    return { action: 'rescheduled' };
  }
  // Once per round: the conditional write fails if the round moved on meanwhile.
  if (!(await store.updateJob(job.jobId, { round: job.round, status: 'RUNNING' }, { backupRound: job.round }))) {
    return { action: 'none', reason: 'the job moved while checking' };
  }
  await publishRound(deps.fanout, store, job, job.round, undefined, missing);
  return { action: 'backups', shards: missing };
}
