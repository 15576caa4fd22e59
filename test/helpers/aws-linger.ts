import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createWorkerHandler, type WorkerContext } from '../../handlers/worker.js';
import type { AwsWiring } from '../../src/aws/wiring.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import type { RoundTask } from '../../src/domain/job.js';
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

/** What a killed invocation's calls throw. */
export class Killed extends Error {}

/**
 * A worker handler for invocations whose store calls `overrides` may replace, and which a call can
 * kill (`kill()` throws): after that, every store call, publish and completion the handler's
 * invocation makes throws too, as a Lambda invocation that was killed makes no more calls (its
 * inline aggregation's fallback send included). Make one per invocation that may die.
 */
export function mortalWorker(wiring: AwsWiring, overrides: (store: StateStore, kill: (why: string) => never) => Partial<StateStore> = () => ({})) {
  let dead = false;
  const kill = (why: string): never => {
    dead = true;
    throw new Killed(why);
  };
  const alive = <T>(call: () => T): T => {
    if (dead) throw new Killed('the invocation was killed');
    return call();
  };
  const store = wiring.deps.store;
  const own = overrides(store, kill) as Record<string | symbol, unknown>;
  const wrapped = new Proxy(store, {
    get: (target, name, receiver) => {
      const mine = own[name];
      if (typeof mine === 'function') return (...args: unknown[]) => alive(() => (mine as (...a: unknown[]) => unknown)(...args));
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? (...args: unknown[]) => alive(() => (value as (...a: unknown[]) => unknown).apply(target, args)) : value;
    },
  });
  const deps = {
    ...wiring.deps,
    store: wrapped,
    fanout: { publish: (tasks: Parameters<AwsWiring['deps']['fanout']['publish']>[0]) => alive(() => wiring.deps.fanout.publish(tasks)) },
    completion: { send: (message: Parameters<AwsWiring['deps']['completion']['send']>[0]) => alive(() => wiring.deps.completion.send(message)) },
  };
  return createWorkerHandler(() => ({ ...wiring, deps }));
}

/** The round task an SNS event carries (the tests' events hold one). */
export function taskOf(event: unknown): RoundTask {
  return JSON.parse((event as { Records: { Sns: { Message: string } }[] }).Records[0]!.Sns.Message) as RoundTask;
}
