import type { CompletionMessage } from '../domain/job.js';

/** Tells the aggregator that a round's barrier is full (SQS FIFO on AWS, in-process locally). */
export interface Completion {
  send(message: CompletionMessage): Promise<void>;
}
