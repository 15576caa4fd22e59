import { InvokeCommand, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { MessagingError } from '../errors.js';
import type { Completion } from '../ports/Completion.js';
import type { CompletionMessage } from '../protocol/types.js';
import { endpointOf } from '../util/clients.js';

export interface LambdaLike {
  send(command: InvokeCommand): Promise<Pick<InvokeCommandOutput, 'StatusCode' | 'FunctionError'>>;
}

/** What a direct completion event says it is, so the aggregator tells it from an SQS batch. */
export const DIRECT_COMPLETION_SOURCE = 'bspml.completion';

/** The aggregator's event when invoked directly: the completion, tagged with its source. */
export interface DirectCompletionEvent extends CompletionMessage {
  source: typeof DIRECT_COMPLETION_SOURCE;
}

/**
 * Completions as a direct asynchronous invocation of the aggregator (issue 18, item 3): one hop
 * (Lambda's own event queue) instead of SQS FIFO's send, poll and receive. Lambda accepts the event
 * (202) and runs it at least once, retrying a failed run twice; unlike the FIFO queue it does not
 * run one job's aggregations one at a time, so duplicates of a round's completion may aggregate
 * concurrently (aggregate.ts keeps that exactly-once: see docs/protocol.md). A refused invoke throws,
 * so the worker's invocation is retried and its repeat arrival sends again; a completion lost after
 * Lambda accepted it (every retry failed) is re-sent by the recovery sweep through the SQS queue.
 */
export class LambdaCompletion implements Completion {
  sent = 0;

  constructor(
    private readonly lambda: LambdaLike,
    private readonly functionName: string,
  ) {}

  async send(message: CompletionMessage): Promise<void> {
    const event: DirectCompletionEvent = { source: DIRECT_COMPLETION_SOURCE, jobId: message.jobId, round: message.round };
    let out: Pick<InvokeCommandOutput, 'StatusCode' | 'FunctionError'>;
    try {
      out = await this.lambda.send(new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }));
    } catch (err) {
      throw new MessagingError(`Lambda Invoke of ${this.functionName} at ${await endpointOf(this.lambda)}`, { cause: err });
    }
    // An asynchronous invoke that Lambda queued answers 202 Accepted.
    if (out.StatusCode !== 202) {
      throw new MessagingError(`Lambda Invoke of ${this.functionName}`, { cause: new Error(`status ${out.StatusCode ?? 'none'}${out.FunctionError ? `, ${out.FunctionError}` : ''}, expected 202`) });
    }
    this.sent++;
  }
}
