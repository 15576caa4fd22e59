import type { AggregateOutcome } from '../protocol/aggregate.js';
import type { CompletionMessage } from '../domain/job.js';
import { required } from './config.js';
import { log } from './messages.js';
import { publishModel } from './models.js';
import { countFailedJob, recordRound } from './telemetry.js';
import type { AwsWiring } from './wiring.js';

/**
 * What a function does with an aggregation's outcome on AWS, whichever function aggregated: the
 * aggregator (a completion from the queue or an Invoke) or a lingering worker whose arrival filled
 * the round (inline, handlers/worker.ts). Logs and counts it, and writes the model file of a
 * finished job. Throws if the model file could not be written: the aggregator's caller redelivers
 * the completion, the worker sends it to the aggregator (src/protocol/linger.ts), and the
 * redelivery finds the job finished and writes the file.
 */
export async function reportAggregation(w: AwsWiring, message: CompletionMessage, outcome: AggregateOutcome, by: 'aggregator' | 'worker' = 'aggregator'): Promise<void> {
  log(outcome.status === 'failed' ? 'error' : 'info', 'aggregated', { jobId: message.jobId, round: message.round, by, ...outcome });
  if (outcome.status === 'advanced' || outcome.status === 'finished') recordRound(outcome.metrics);
  if (outcome.status === 'failed') {
    log('error', 'job-failed', { jobId: message.jobId, reason: outcome.reason });
    countFailedJob();
  }
  // 'ignored' covers a redelivery after a finish whose model write failed: writeModelFile checks.
  if (outcome.status === 'finished' || outcome.status === 'ignored') await writeModelFile(w, message.jobId, message.round);
}

/**
 * Writes the model once the job has SUCCEEDED on this round. Checked on every completion of the
 * last round, not only the one that finished it: if the S3 write failed, the redelivered message
 * finds the job finished and writes the model then.
 */
async function writeModelFile(w: AwsWiring, jobId: string, round: number): Promise<void> {
  const job = await w.store.getJob(jobId);
  // A predict job writes no model: its parts are its output.
  if (job?.status !== 'SUCCEEDED' || job.round !== round || job.kind === 'predict') return;
  const bucket = required(w.config.bucket, 'BSPML_BUCKET');
  const { key, latest } = await publishModel(w.s3, bucket, job, { dataPrefix: w.config.dataPrefix, modelPrefix: w.config.modelPrefix });
  log('info', 'model-written', { jobId, model: `s3://${bucket}/${key}`, latest: `s3://${bucket}/${latest}`, rounds: job.result?.rounds });
}
