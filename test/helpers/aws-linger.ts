import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { WorkerContext } from '../../handlers/worker.js';
import { sleep } from '../../src/util/async.js';
import { snsEvent, sqsEvent } from './aws-events.js';
import type { Pipeline } from './aws-pipeline.js';

/**
 * Plays SNS and the SQS event source mapping as they run on AWS: each published task invokes the
 * worker at once, without waiting for earlier invocations to return (a lingering worker returns
 * only after the rounds it waits for), and received completions invoke the aggregator one batch at
 * a time. Returns when nothing is published, queued or running.
 */
export interface ConcurrentDelivery {
  workerInvocations: number;
  aggregatorBatches: number;
  /** Errors thrown by worker invocations (Lambda would retry them). */
  workerErrors: unknown[];
}

export async function deliverConcurrently(
  p: Pipeline,
  queueUrl: string,
  options: {
    /** The worker handler to invoke (default: the pipeline's). */
    worker?: (event: unknown, context?: WorkerContext) => Promise<void>;
    context?: () => WorkerContext;
    /** Waits this long before handing received completions to the aggregator. */
    holdCompletionsMs?: number;
    maxMs?: number;
  } = {},
): Promise<ConcurrentDelivery> {
  const worker = options.worker ?? p.worker;
  const log: ConcurrentDelivery = { workerInvocations: 0, aggregatorBatches: 0, workerErrors: [] };
  const running = new Set<Promise<void>>();
  const deadline = Date.now() + (options.maxMs ?? 60_000);
  while (Date.now() < deadline) {
    const tasks = p.sns.take();
    for (const task of tasks) {
      const invocation: Promise<void> = worker(snsEvent(task), options.context?.())
        .catch((error: unknown) => void log.workerErrors.push(error))
        .finally(() => running.delete(invocation));
      running.add(invocation);
      log.workerInvocations++;
    }
    // Idle before the receive: a completion sent by the last worker to return is in this receive.
    const idle = running.size === 0;
    const received = await p.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = received.Messages ?? [];
    if (messages.length > 0) {
      if (options.holdCompletionsMs) await sleep(options.holdCompletionsMs);
      const response = await p.aggregator(sqsEvent(messages));
      log.aggregatorBatches++;
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      for (const m of messages) {
        // Failed records come back at once instead of after the visibility timeout.
        if (failed.has(m.MessageId!)) await p.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 }));
        else await p.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      }
      continue;
    }
    if (tasks.length === 0) {
      if (idle && p.sns.pending.length === 0) return log;
      await sleep(5);
    }
  }
  throw new Error(`deliverConcurrently: still delivering after ${options.maxMs ?? 60_000} ms (${running.size} workers running)`);
}
