import type { SNSEvent } from 'aws-lambda';
import { failJob } from '../src/protocol/failJob.js';
import { log, roundTasksOf } from '../src/aws/messages.js';
import { wiringFromEnv, type AwsWiring } from '../src/aws/wiring.js';

/** What Lambda sends an on-failure destination once an asynchronous invocation has used its retries. */
export interface AsyncFailure {
  requestContext: { requestId?: string; functionArn?: string; condition: string; approximateInvokeCount: number };
  requestPayload: SNSEvent;
  responsePayload?: { errorType?: string; errorMessage?: string } | null;
}

/**
 * The worker's on-failure destination: a round task that failed every attempt (or aged out) fails
 * its job with the reason, as the local runtime does after its retries, instead of leaving the
 * round waiting for a shard that will never arrive.
 */
export function createWorkerFailedHandler(wiring: () => AwsWiring) {
  return async (event: AsyncFailure): Promise<void> => {
    const w = wiring();
    const attempts = event.requestContext.approximateInvokeCount;
    const why =
      event.requestContext.condition === 'EventAgeExceeded'
        ? 'the message expired before a worker could take it'
        : (event.responsePayload?.errorMessage ?? event.requestContext.condition);
    for (const task of roundTasksOf(event.requestPayload?.Records ?? [])) {
      const reason = `worker for shard ${task.shard} of round ${task.round} failed after ${attempts} attempts: ${why}`;
      const failed = await failJob(w.store, task.jobId, reason);
      log('error', 'job-failed', { jobId: task.jobId, reason, changed: failed });
    }
  };
}

export const handler = createWorkerFailedHandler(wiringFromEnv);
