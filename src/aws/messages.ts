import { z } from 'zod';
import { jobIdSchema } from '../domain/jobId.js';
import { MAX_WORKERS } from '../domain/spec.js';
import type { CompletionMessage, RoundTask } from '../domain/job.js';
import { issueText, snsRecordSchema } from './events.js';
import { log } from './telemetry.js';

/*
 * Messages off the wire are checked before the protocol sees them: a malformed one (a manual
 * publish to the topic, a truncated body) is logged and dropped rather than retried forever.
 */

const round = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Standard base64 with padding, as `modelToBase64` writes it, of whole float64 values. */
const base64Model = z
  .string()
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'model is not base64')
  .refine((text) => Buffer.byteLength(text, 'base64') % 8 === 0, 'model is not a whole number of float64 values');

const roundTaskSchema = z
  .object({
    jobId: jobIdSchema,
    round,
    phase: z.enum(['prepare', 'predict']).optional(),
    shard: z.number().int().min(0),
    shards: z.number().int().min(1).max(MAX_WORKERS),
    model: base64Model.optional(),
  })
  .refine((task) => task.shard < task.shards, { message: 'shard must be below shards', path: ['shard'] });

const completionSchema = z.object({ jobId: jobIdSchema, round });

export function parseRoundTask(body: string): RoundTask {
  return roundTaskSchema.parse(JSON.parse(body));
}

/**
 * The round tasks in SNS records, in order. A record that is not a task of ours is logged and
 * skipped: retrying cannot fix it, and no job can be named to fail.
 */
export function* roundTasksOf(records: readonly unknown[]): Generator<RoundTask> {
  for (const raw of records) {
    const parsed = snsRecordSchema.safeParse(raw);
    if (!parsed.success) {
      log('error', 'malformed-event', { source: 'sns', error: issueText(parsed.error) });
      continue;
    }
    const record = parsed.data;
    try {
      yield parseRoundTask(record.Sns.Message);
    } catch (error) {
      log('error', 'malformed-task', { messageId: record.Sns.MessageId, error: errorText(error) });
    }
  }
}

export function parseCompletion(body: string): CompletionMessage {
  return completionSchema.parse(JSON.parse(body));
}

/** Log lines go through Powertools' Logger (src/aws/telemetry.ts); re-exported for the handlers. */
export { log };

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
