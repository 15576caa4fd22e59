import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { MessagingError } from '../errors.js';
import type { BackupCheck, DelayedChannel } from '../ports/DelayedChannel.js';
import { endpointOf } from '../util/clients.js';
import type { SqsLike } from './SqsCompletion.js';

/** What a backup check's message body says it is (the aggregator takes it from its own queue). */
export const BACKUP_CHECK_SOURCE = 'bspml.backup-check';

/** SQS's longest per-message delay: 15 minutes. */
const MAX_DELAY_SECONDS = 900;

/**
 * Backup checks (src/protocol/stragglers.ts) on a standard SQS queue with a per-message
 * `DelaySeconds` (FIFO queues take no per-message delay). SQS counts delays in whole seconds: a
 * check is never early, up to a second late; one due after more than 15 minutes comes at 15.
 */
export class SqsDelayed implements DelayedChannel {
  constructor(
    private readonly sqs: SqsLike,
    private readonly queueUrl: string,
  ) {}

  async send(check: BackupCheck, delayMs: number): Promise<void> {
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
    try {
      await this.sqs.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify({ source: BACKUP_CHECK_SOURCE, ...check }), DelaySeconds: delaySeconds }),
      );
    } catch (err) {
      throw new MessagingError(`SQS SendMessage (a backup check) to ${this.queueUrl} at ${await endpointOf(this.sqs)}`, { cause: err });
    }
  }
}
