import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { MessagingError } from '../errors.js';
import type { Completion } from '../ports/Completion.js';
import type { CompletionMessage } from '../domain/job.js';
import { awsClientTimeouts, endpointOf } from '../util/clients.js';
import { required, type AwsConfig } from './config.js';
import { DIRECT_COMPLETION_SOURCE, type DirectCompletionEvent } from './directCompletion.js';

export { DIRECT_COMPLETION_SOURCE, type DirectCompletionEvent } from './directCompletion.js';

export interface LambdaLike {
  send(command: InvokeCommand): Promise<Pick<InvokeCommandOutput, 'StatusCode' | 'FunctionError'>>;
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

/**
 * The worker's completion channel when its stack says `BSPML_AGGREGATOR_TRIGGER=invoke`, else
 * undefined (the queue). Only the worker's wiring asks (handlers/worker.ts), so only its bundle
 * carries the Lambda client.
 */
export function invokeCompletionFor(config: AwsConfig, lambda?: LambdaLike): Completion | undefined {
  if (config.aggregatorTrigger !== 'invoke') return undefined;
  return new LambdaCompletion(lambda ?? lambdaClient(config), required(config.aggregatorFunction, 'BSPML_AGGREGATOR_FUNCTION'));
}

function lambdaClient(config: AwsConfig): LambdaClient {
  const local = config.endpoints.lambda !== undefined;
  return new LambdaClient({
    ...awsClientTimeouts(),
    region: config.region ?? (local ? 'us-east-1' : undefined),
    endpoint: config.endpoints.lambda,
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}
