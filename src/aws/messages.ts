import { z } from 'zod';
import type { CompletionMessage, RoundTask } from '../protocol/types.js';
import { issueText, snsRecordSchema } from './events.js';
import { log } from './telemetry.js';

/*
 * Messages off the wire are checked before the protocol sees them: a malformed one (a manual
 * publish to the topic, a truncated body) is logged and dropped rather than retried forever.
 */

const round = z.number().int().min(0);

const roundTaskSchema = z.object({
  jobId: z.string().min(1),
  round,
  shard: z.number().int().min(0),
  shards: z.number().int().min(1),
  model: z.string().optional(),
});

const completionSchema = z.object({ jobId: z.string().min(1), round });

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
