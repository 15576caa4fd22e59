import type { StateStore } from '../ports/StateStore.js';
import type { JobPatch, JobRecord } from '../domain/job.js';

/*
 * A round's partials, barrier and claims are cleared once the job is two rounds past it (a late
 * duplicate of the round just aggregated still finds its partial and arrival, and changes nothing).
 * A step that dies between advancing the job and clearing would leave that round until the store's
 * TTL (issue 20): so the job records how far clearing got (`clearedBelow`), in the write that marks
 * the next round's fan-out published, and whichever step comes next clears from there.
 */

/**
 * Clears every round of `job` (as it stands at its current round) below the round before it that is
 * not yet known cleared; returns the patch recording it, for the caller's next write of the job.
 */
export async function clearBehind(store: Pick<StateStore, 'clearRound'>, job: Pick<JobRecord, 'jobId' | 'round' | 'shards' | 'clearedBelow'>): Promise<Pick<JobPatch, 'clearedBelow'>> {
  const below = Math.max(0, job.round - 1);
  // Absent (a job stored before the field): only the round before, as it always was.
  const from = job.clearedBelow ?? Math.max(0, below - 1);
  for (let round = from; round < below; round++) await store.clearRound(job.jobId, round, job.shards);
  return { clearedBelow: Math.max(below, job.clearedBelow ?? 0) };
}

/** A finished job keeps its record, metrics and models; every round's partials, barrier and claims not yet cleared go. */
export async function clearFinished(store: Pick<StateStore, 'clearRound'>, job: Pick<JobRecord, 'jobId' | 'round' | 'shards' | 'clearedBelow'>): Promise<void> {
  const from = job.clearedBelow ?? Math.max(0, job.round - 1);
  for (let round = from; round <= job.round; round++) await store.clearRound(job.jobId, round, job.shards);
}
