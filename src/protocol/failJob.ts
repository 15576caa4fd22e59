import type { StateStore } from '../ports/StateStore.js';

/**
 * Ends a job FAILED with a reason a person can read, unless it already ended. Used when input is
 * bad, when an invocation exhausted its retries (the on-failure destination) and when a round stalls.
 * Returns false when the job was already finished or does not exist.
 */
export async function failJob(store: StateStore, jobId: string, reason: string, code?: string): Promise<boolean> {
  // Two tries: the job may advance between our read and the conditional write.
  for (let attempt = 0; attempt < 2; attempt++) {
    const job = await store.getJob(jobId);
    if (!job || job.status === 'SUCCEEDED' || job.status === 'FAILED') return false;
    if (await store.updateJob(jobId, { round: job.round, status: job.status }, { status: 'FAILED', error: reason, ...(code !== undefined ? { errorCode: code } : {}) })) return true;
  }
  return false;
}
