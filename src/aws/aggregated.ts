import type { AggregateOutcome } from '../protocol/aggregate.js';
import type { CompletionMessage } from '../domain/job.js';
import { log } from './messages.js';
import { countFailedJob, recordRound } from './telemetry.js';

/**
 * What a function does with an aggregation's outcome on AWS, whichever function aggregated: the
 * aggregator (a completion from the queue or an Invoke) or a lingering worker whose arrival filled
 * the round (inline, handlers/worker.ts). Logs and counts it. A finished job's model file is not
 * written here but by the aggregation itself, before it marks the job SUCCEEDED (the wiring's
 * `modelFiles`, src/aws/S3ModelFiles.ts): a job is never SUCCEEDED without its file.
 */
export function reportAggregation(message: CompletionMessage, outcome: AggregateOutcome, by: 'aggregator' | 'worker' = 'aggregator'): void {
  log(outcome.status === 'failed' ? 'error' : 'info', 'aggregated', { jobId: message.jobId, round: message.round, by, ...outcome });
  if (outcome.status === 'advanced' || outcome.status === 'finished') recordRound(outcome.metrics);
  if (outcome.status === 'failed') {
    log('error', 'job-failed', { jobId: message.jobId, reason: outcome.reason });
    countFailedJob();
  }
}
