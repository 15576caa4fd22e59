import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { aggregate } from '../src/protocol/aggregate.js';
import { failJob } from '../src/protocol/failJob.js';
import { errorText, log, parseCompletion } from '../src/aws/messages.js';
import { publishModel } from '../src/aws/models.js';
import { required } from '../src/aws/config.js';
import { wiringFromEnv, type AwsWiring } from '../src/aws/wiring.js';

/**
 * Completions from the SQS FIFO queue: aggregate the round, publish the next or finish. A failed
 * record is reported back (partial batch response) with every later record of its job, which FIFO
 * order must keep behind it; records of other jobs in the batch are unaffected.
 */
export function createAggregatorHandler(wiring: () => AwsWiring) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const w = wiring();
    const batchItemFailures: SQSBatchItemFailure[] = [];
    const blocked = new Set<string>();
    for (const record of event.Records) {
      const group = record.attributes.MessageGroupId ?? '';
      if (blocked.has(group)) {
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      let message;
      try {
        message = parseCompletion(record.body);
      } catch (error) {
        log('error', 'malformed-completion', { messageId: record.messageId, error: errorText(error) });
        continue;
      }
      try {
        const outcome = await aggregate(w.deps, message);
        log(outcome.status === 'failed' ? 'error' : 'info', 'aggregated', { jobId: message.jobId, round: message.round, ...outcome });
        if (outcome.status === 'failed') log('error', 'job-failed', { jobId: message.jobId, reason: outcome.reason });
        // 'ignored' covers a redelivery after a finish whose model write failed: finish() checks.
        if (outcome.status === 'finished' || outcome.status === 'ignored') await finish(w, message.jobId, message.round);
      } catch (error) {
        const receives = Number(record.attributes.ApproximateReceiveCount);
        // The last receive before the dead-letter queue: end the job with the reason, as the
        // local runtime does after its retries, rather than leave it RUNNING with no message.
        if (receives >= w.config.maxReceives) {
          await failJob(w.store, message.jobId, `aggregator for round ${message.round} failed after ${receives} attempts: ${errorText(error)}`);
        }
        log('error', 'aggregate-failed', { jobId: message.jobId, round: message.round, receives, error: errorText(error) });
        blocked.add(group);
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}

/**
 * Writes the model once the job has SUCCEEDED on this round. Checked on every completion of the
 * last round, not only the one that finished it: if the S3 write failed, the redelivered message
 * finds the job finished and writes the model then.
 */
async function finish(w: AwsWiring, jobId: string, round: number): Promise<void> {
  const job = await w.store.getJob(jobId);
  if (job?.status !== 'SUCCEEDED' || job.round !== round) return;
  const bucket = required(w.config.bucket, 'BSPML_BUCKET');
  const { key, latest } = await publishModel(w.s3, bucket, job, { dataPrefix: w.config.dataPrefix, modelPrefix: w.config.modelPrefix });
  log('info', 'model-written', { jobId, model: `s3://${bucket}/${key}`, latest: `s3://${bucket}/${latest}`, rounds: job.result?.rounds });
}

export const handler = createAggregatorHandler(wiringFromEnv);
