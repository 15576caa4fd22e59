import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { aggregate } from '../src/protocol/aggregate.js';
import { failJob } from '../src/protocol/failJob.js';
import { issueText, recordsEventSchema, sqsRecordSchema } from '../src/aws/events.js';
import { errorText, log, parseCompletion } from '../src/aws/messages.js';
import { reportAggregation } from '../src/aws/aggregated.js';
import { countFailedJob, instrument } from '../src/aws/telemetry.js';
import { wiringFromEnv, type AwsWiring } from '../src/aws/wiring.js';
import { DIRECT_COMPLETION_SOURCE } from '../src/aws/directCompletion.js';
import { BACKUP_CHECK_SOURCE } from '../src/aws/SqsDelayed.js';
import { checkStragglers } from '../src/protocol/stragglers.js';
import { z } from 'zod';
import type { CompletionMessage } from '../src/domain/job.js';

/**
 * Completions from the SQS FIFO queue, or invoked directly by the filling arrival (the invoke
 * trigger, src/aws/LambdaCompletion.ts): aggregate the round, publish the next or finish. Powertools'
 * SqsFifoPartialProcessor reports a failed record back (partial batch response) with every later
 * record of its message group (its job), which FIFO order must keep behind it; records of other
 * jobs in the batch are processed whatever happens to this one. A record that is not a completion
 * is logged and dropped.
 */
export function createAggregatorHandler(wiring: () => AwsWiring) {
  return async (event: unknown): Promise<SQSBatchResponse> => {
    const w = wiring();
    if (isDirectCompletion(event)) return direct(w, event);
    const batch = recordsEventSchema.safeParse(event);
    if (!batch.success) {
      log('error', 'malformed-event', { source: 'sqs', error: issueText(batch.error) });
      return { batchItemFailures: [] };
    }
    // The batch processor reads every record's attributes (its message group) before our code sees
    // it: a record that is not an SQS record at all is logged and dropped here, not thrown on there.
    const records = batch.data.Records.filter((raw) => {
      const parsed = sqsRecordSchema.safeParse(raw);
      if (!parsed.success) log('error', 'malformed-event', { source: 'sqs', error: issueText(parsed.error) });
      return parsed.success;
    });
    // Backup checks come from a standard queue of their own (a batch holds one queue's records).
    const checks = records.filter(isBackupCheck);
    if (checks.length > 0) {
      for (const record of checks) await backupCheck(w, record);
      return { batchItemFailures: [] };
    }
    if (records.length === 0) return { batchItemFailures: [] };
    const processor = new SqsFifoPartialProcessorAsync();
    return processPartialResponse({ Records: records } as unknown as SQSEvent, (record: SQSRecord) => completion(w, record), processor, {
      skipGroupOnError: true,
      // All records failing is an answer too: each is retried, none is lost.
      throwOnFullBatchFailure: false,
    });
  };
}

function isBackupCheck(raw: unknown): boolean {
  const body = (raw as { body?: unknown }).body;
  if (typeof body !== 'string' || !body.includes(BACKUP_CHECK_SOURCE)) return false;
  try {
    return (JSON.parse(body) as { source?: unknown }).source === BACKUP_CHECK_SOURCE;
  } catch {
    return false;
  }
}

/**
 * A delayed look at a round's stragglers (src/protocol/stragglers.ts). Best effort: a malformed or
 * failing check is logged and dropped (the recovery sweep still repairs a round that stalls).
 */
async function backupCheck(w: AwsWiring, raw: unknown): Promise<void> {
  const parsed = backupCheckSchema.safeParse(JSON.parse((raw as { body: string }).body));
  if (!parsed.success) {
    log('error', 'malformed-backup-check', { error: issueText(parsed.error) });
    return;
  }
  const { source: _source, ...check } = parsed.data;
  try {
    const outcome = await checkStragglers(w.deps, check);
    log('info', 'backup-check', { jobId: check.jobId, round: check.round, check: check.check, ...outcome });
  } catch (error) {
    log('error', 'backup-check-failed', { jobId: check.jobId, round: check.round, error: errorText(error) });
  }
}

const backupCheckSchema = z.object({
  source: z.literal(BACKUP_CHECK_SOURCE),
  jobId: z.string().min(1).max(512),
  round: z.number().int().min(0),
  check: z.number().int().min(1),
  delayMs: z.number().min(0).max(86_400_000),
});

/** An event sent by LambdaCompletion (the invoke trigger), rather than an SQS batch. */
function isDirectCompletion(event: unknown): event is { source: string } {
  return typeof event === 'object' && event !== null && (event as { source?: unknown }).source === DIRECT_COMPLETION_SOURCE;
}

/**
 * A completion invoked directly (asynchronously) by the filling arrival. A malformed one is logged
 * and dropped; an error is thrown to Lambda, which retries the event twice; a completion whose
 * retries all failed is re-sent by the recovery sweep (through the queue), which fails the job
 * after its sweeps find no progress.
 */
async function direct(w: AwsWiring, event: { source: string }): Promise<SQSBatchResponse> {
  // Lambda ignores what an asynchronous invocation returns; the batch shape keeps one handler type.
  const none: SQSBatchResponse = { batchItemFailures: [] };
  let message;
  try {
    const { source: _source, ...body } = event as Record<string, unknown>;
    message = parseCompletion(JSON.stringify(body));
  } catch (error) {
    log('error', 'malformed-completion', { source: 'invoke', error: errorText(error) });
    return none;
  }
  try {
    await aggregateOne(w, message);
  } catch (error) {
    log('error', 'aggregate-failed', { jobId: message.jobId, round: message.round, source: 'invoke', error: errorText(error) });
    throw error;
  }
  return none;
}

/** Aggregates one completion (which writes a finishing job's model file first), logs and counts its outcome. */
async function aggregateOne(w: AwsWiring, message: CompletionMessage): Promise<void> {
  reportAggregation(message, await aggregate(w.deps, message));
}

async function completion(w: AwsWiring, raw: unknown): Promise<void> {
  const parsed = sqsRecordSchema.safeParse(raw);
  if (!parsed.success) {
    log('error', 'malformed-event', { source: 'sqs', error: issueText(parsed.error) });
    return;
  }
  const record = parsed.data;
  let message;
  try {
    message = parseCompletion(record.body);
  } catch (error) {
    log('error', 'malformed-completion', { messageId: record.messageId, error: errorText(error) });
    return;
  }
  try {
    await aggregateOne(w, message);
  } catch (error) {
    const receives = record.attributes.ApproximateReceiveCount;
    log('error', 'aggregate-failed', { jobId: message.jobId, round: message.round, receives, error: errorText(error) });
    // The last receive before the dead-letter queue: end the job with the reason, as the
    // local runtime does after its retries, rather than leave it RUNNING with no message.
    if (receives >= w.config.maxReceives) {
      const reason = `aggregator for round ${message.round} failed after ${receives} attempts: ${errorText(error)}`;
      if (await failJob(w.store, message.jobId, reason)) countFailedJob();
    }
    throw error;
  }
}

export const handler = instrument(createAggregatorHandler(wiringFromEnv));
