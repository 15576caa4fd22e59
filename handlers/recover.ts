import { failJob } from '../src/protocol/failJob.js';
import { recoverJob } from '../src/protocol/recover.js';
import { errorText, log } from '../src/aws/messages.js';
import { findStaleJobs } from '../src/aws/staleJobs.js';
import { countFailedJob, instrument } from '../src/aws/telemetry.js';
import { wiringFromEnv, type AwsWiring } from '../src/aws/wiring.js';

export interface SweepResult {
  jobId: string;
  action: string;
  detail?: string;
}

/**
 * The scheduled recovery sweep (what the local runtime does when nothing is in flight): every job
 * whose record has not moved for BSPML_STALE_MINUTES (found through the state table's live-jobs index,
 * never a scan) gets recoverJob, which re-publishes the shards
 * missing from its round or re-sends its completion, and after three sweeps of one round fails it
 * naming the shards that never arrived. A job stuck STARTING had its start function die; it is failed.
 */
export function createRecoverHandler(wiring: () => AwsWiring, now: () => number = Date.now) {
  return async (): Promise<SweepResult[]> => {
    const w = wiring();
    const stale = await findStaleJobs(w.dynamodb, w.config.table, now() - w.config.staleMs);
    const results: SweepResult[] = [];
    for (const job of stale) {
      try {
        if (job.status === 'STARTING') {
          const reason = `the start did not finish within ${Math.round(w.config.staleMs / 60_000)} minutes; upload the data set again`;
          if (await failJob(w.store, job.jobId, reason)) countFailedJob();
          results.push({ jobId: job.jobId, action: 'failed', detail: reason });
          continue;
        }
        const outcome = await recoverJob(w.deps, job.jobId);
        if (outcome.action === 'failed') countFailedJob();
        results.push({
          jobId: job.jobId,
          action: outcome.action,
          ...(outcome.action === 'republished' ? { detail: `shards ${outcome.shards.join(', ')}` } : 'reason' in outcome ? { detail: outcome.reason } : {}),
        });
      } catch (error) {
        // One job's trouble must not keep the sweep from the others.
        results.push({ jobId: job.jobId, action: 'error', detail: errorText(error) });
      }
    }
    for (const r of results) log(r.action === 'error' || r.action === 'failed' ? 'error' : 'info', 'recovery', { ...r });
    return results;
  };
}

export const handler = instrument(createRecoverHandler(wiringFromEnv));
