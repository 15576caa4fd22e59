import type { SNSEvent } from 'aws-lambda';
import { failJob } from '../src/protocol/failJob.js';
import { asyncFailureSchema, issueText } from '../src/aws/events.js';
import { log, roundTasksOf } from '../src/aws/messages.js';
import { countFailedJob, instrument } from '../src/aws/telemetry.js';
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
 * round waiting for a shard that will never arrive. A malformed record is logged and dropped.
 */
export function createWorkerFailedHandler(wiring: () => AwsWiring) {
  return async (event: unknown): Promise<void> => {
    const w = wiring();
    const parsed = asyncFailureSchema.safeParse(event);
    if (!parsed.success) {
      log('error', 'malformed-event', { source: 'on-failure', error: issueText(parsed.error) });
      return;
    }
    const { requestContext, requestPayload, responsePayload } = parsed.data;
    const attempts = requestContext.approximateInvokeCount;
    const why =
      requestContext.condition === 'EventAgeExceeded'
        ? 'the message expired before a worker could take it'
        : (responsePayload?.errorMessage ?? requestContext.condition);
    for (const task of roundTasksOf(requestPayload?.Records ?? [])) {
      const reason = `worker for shard ${task.shard} of round ${task.round} failed after ${attempts} attempts: ${why}`;
      const failed = await failJob(w.store, task.jobId, reason);
      if (failed) countFailedJob();
      log('error', 'job-failed', { jobId: task.jobId, reason, changed: failed });
    }
  };
}

export const handler = instrument(createWorkerFailedHandler(wiringFromEnv));
