import { SendMessageCommand, type SendMessageCommandOutput } from '@aws-sdk/client-sqs';
import { MessagingError } from '../errors.js';
import type { Completion } from '../ports/Completion.js';
import { endpointOf } from '../util/clients.js';
import type { CompletionMessage } from '../domain/job.js';

export interface SqsLike {
  send(command: SendMessageCommand): Promise<Pick<SendMessageCommandOutput, 'MessageId'>>;
}

/**
 * Completions on an SQS FIFO queue. The message group is the job, so one job's aggregations run
 * one at a time and in order while different jobs proceed in parallel; the deduplication id is the
 * job and round, so the duplicate sends at-least-once delivery produces within SQS's 5-minute window
 * never reach the aggregator (the aggregator's conditional advance covers the rest).
 */
export class SqsCompletion implements Completion {
  sent = 0;

  constructor(
    private readonly sqs: SqsLike,
    private readonly queueUrl: string,
  ) {}

  async send(message: CompletionMessage): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: JSON.stringify(message),
          MessageGroupId: message.jobId,
          MessageDeduplicationId: deduplicationId(message),
        }),
      );
    } catch (err) {
      throw new MessagingError(`SQS SendMessage to ${this.queueUrl} at ${await endpointOf(this.sqs)}`, { cause: err });
    }
    this.sent++;
  }
}

export function deduplicationId(message: CompletionMessage): string {
  return `${message.jobId}-${message.round}`;
}
