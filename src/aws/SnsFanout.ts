import { PublishBatchCommand, type PublishBatchCommandOutput, type PublishBatchRequestEntry } from '@aws-sdk/client-sns';
import type { Fanout } from '../ports/Fanout.js';
import { MessagingError } from '../errors.js';
import { endpointOf } from '../util/clients.js';
import type { RoundTask } from '../domain/job.js';

/** SNS PublishBatch limits: 10 entries and 256 KiB of messages (all entries together) per call. */
export const SNS_BATCH_ENTRIES = 10;
export const SNS_BATCH_BYTES = 256 * 1024;
/** Entry ids, message attributes and framing are not part of a message's size; keep a margin for them. */
const ENTRY_OVERHEAD_BYTES = 512;
/** Tries for entries SNS reports as failed (throttling, internal errors) before giving up. */
const MAX_ATTEMPTS = 3;

/** The one SNS call the fan-out makes; a test stub at the SNS boundary implements just this. */
export interface SnsLike {
  send(command: PublishBatchCommand): Promise<Pick<PublishBatchCommandOutput, 'Successful' | 'Failed'>>;
}

/**
 * The round fan-out on SNS: one message per shard, batched under both PublishBatch limits. A round
 * whose model is inlined near the 200,000-character cap fits one message per call; small ones ten.
 */
export class SnsFanout implements Fanout {
  published = 0;
  calls = 0;

  constructor(
    private readonly sns: SnsLike,
    private readonly topicArn: string,
  ) {}

  async publish(tasks: RoundTask[]): Promise<void> {
    for (const batch of batches(tasks)) await this.publishBatch(batch);
  }

  private async publishBatch(entries: PublishBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 1; pending.length > 0; attempt++) {
      this.calls++;
      let out;
      try {
        out = await this.sns.send(new PublishBatchCommand({ TopicArn: this.topicArn, PublishBatchRequestEntries: pending }));
      } catch (err) {
        throw new MessagingError(`SNS PublishBatch to ${this.topicArn} at ${await endpointOf(this.sns)}`, { cause: err });
      }
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
      this.published += pending.length - failed.size;
      // Sender faults (a malformed entry) will not pass on a retry; only SNS-side faults are retried.
      const senderFault = [...failed.values()].find((f) => f.SenderFault);
      if (senderFault) throw new Error(`SNS rejected task ${senderFault.Id}: ${senderFault.Code}: ${senderFault.Message}`);
      pending = pending.filter((entry) => failed.has(entry.Id));
      if (pending.length > 0 && attempt >= MAX_ATTEMPTS) {
        const first = failed.get(pending[0]!.Id)!;
        throw new Error(`SNS failed ${pending.length} task(s) after ${attempt} attempts: ${first.Code}: ${first.Message}`);
      }
    }
  }
}

/** Groups tasks into PublishBatch entry lists under the entry and byte limits, in order. */
export function batches(tasks: RoundTask[]): PublishBatchRequestEntry[][] {
  const out: PublishBatchRequestEntry[][] = [];
  let current: PublishBatchRequestEntry[] = [];
  let bytes = 0;
  for (const task of tasks) {
    const message = JSON.stringify(task);
    const size = Buffer.byteLength(message) + ENTRY_OVERHEAD_BYTES;
    if (current.length > 0 && (current.length === SNS_BATCH_ENTRIES || bytes + size > SNS_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    // Ids are unique within a call; shard numbers are, within a round.
    current.push({ Id: `r${task.round}-s${task.shard}`, Message: message });
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
