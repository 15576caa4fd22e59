import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { createAggregatorHandler } from '../../handlers/aggregator.js';
import { createStartHandler } from '../../handlers/start.js';
import { createWorkerHandler } from '../../handlers/worker.js';
import { createWorkerFailedHandler } from '../../handlers/workerFailed.js';
import { createPredictWorkerHandler } from '../../handlers/predictWorker.js';
import { loadConfig } from '../../src/aws/config.js';
import { createWiring, type AwsWiring } from '../../src/aws/wiring.js';
import { invokeCompletionFor } from '../../src/aws/LambdaCompletion.js';
import { CapturingLambda, CapturingSns, localSqsClient, type AwsEmulators } from './aws-emulators.js';
import { snsEvent, sqsEvent } from './aws-events.js';

/**
 * The deployed functions, wired from an environment as on Lambda (endpoints point at the
 * emulators; SNS is the capturing stub), and a driver that plays the part of the AWS services
 * between them: SNS invoking the worker once per message, the SQS event source mapping receiving
 * batches for the aggregator and deleting what it did not report as failed.
 */
export interface Pipeline {
  wiring: AwsWiring;
  sns: CapturingSns;
  /** The invoke trigger's Lambda, when the pipeline was made with one (else the SDK client, which a test may mock). */
  lambda?: CapturingLambda;
  sqs: SQSClient;
  start: ReturnType<typeof createStartHandler>;
  worker: ReturnType<typeof createWorkerHandler>;
  /** The predict workers, subscribed to the predict topic (BSPML_PREDICT_TOPIC_ARN). */
  predictWorker: ReturnType<typeof createPredictWorkerHandler>;
  aggregator: ReturnType<typeof createAggregatorHandler>;
  workerFailed: ReturnType<typeof createWorkerFailedHandler>;
  close(): Promise<void>;
}

export function pipeline(emulators: AwsEmulators, env: Record<string, string> = {}, options: { lambda?: CapturingLambda } = {}): Pipeline {
  const sns = new CapturingSns();
  const lambda = options.lambda;
  // As the worker's own wiring (handlers/worker.ts): the invoke trigger when the environment asks.
  const wiring = createWiring(loadConfig({ ...emulators.env, ...env }), { sns, completion: (config) => invokeCompletionFor(config, lambda) });
  const sqs = localSqsClient(emulators.sqsEndpoint);
  return {
    wiring,
    sns,
    ...(lambda ? { lambda } : {}),
    sqs,
    start: createStartHandler(() => wiring),
    worker: createWorkerHandler(() => wiring),
    predictWorker: createPredictWorkerHandler(() => wiring),
    aggregator: createAggregatorHandler(() => wiring),
    workerFailed: createWorkerFailedHandler(() => wiring),
    close: async () => {
      sqs.destroy();
      await wiring.close();
    },
  };
}

export interface DeliveryLog {
  workerInvocations: number;
  aggregatorBatches: number;
  responses: SQSBatchResponse[];
}

/** Delivers published tasks and queued completions until neither is left. */
export async function deliverAll(p: Pipeline, queueUrl: string, maxSteps = 500): Promise<DeliveryLog> {
  const log: DeliveryLog = { workerInvocations: 0, aggregatorBatches: 0, responses: [] };
  for (let step = 0; step < maxSteps; step++) {
    const tasks = p.sns.take();
    for (const task of tasks) {
      // Each topic invokes its own subscriber: predict tasks go to the predict workers.
      if (task.topicArn === p.wiring.config.predictTopicArn) await p.predictWorker(snsEvent(task));
      else await p.worker(snsEvent(task));
      log.workerInvocations++;
    }
    // Lambda's event queue for the invoke trigger: each event is one aggregator invocation.
    const invoked = p.lambda?.take() ?? [];
    for (const { event } of invoked) {
      await p.aggregator(event);
      log.aggregatorBatches++;
    }
    const received = await p.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    const messages = received.Messages ?? [];
    if (tasks.length === 0 && invoked.length === 0 && messages.length === 0) return log;
    if (messages.length === 0) continue;
    const response = await p.aggregator(sqsEvent(messages));
    log.aggregatorBatches++;
    log.responses.push(response);
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const m of messages) {
      // Failed records come back at once instead of after the visibility timeout.
      if (failed.has(m.MessageId!)) await p.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 }));
      else await p.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
  throw new Error(`deliverAll: still delivering after ${maxSteps} steps`);
}
