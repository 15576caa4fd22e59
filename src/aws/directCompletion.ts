import type { CompletionMessage } from '../domain/job.js';

/**
 * What a direct completion event says it is, so the aggregator tells it from an SQS batch. Kept apart
 * from LambdaCompletion.ts so that the aggregator's bundle does not carry the Lambda client.
 */
export const DIRECT_COMPLETION_SOURCE = 'bspml.completion';

/** The aggregator's event when invoked directly: the completion, tagged with its source. */
export interface DirectCompletionEvent extends CompletionMessage {
  source: typeof DIRECT_COMPLETION_SOURCE;
}
