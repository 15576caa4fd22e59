import { runWorker } from '../src/protocol/runWorker.js';
import { issueText, recordsEventSchema } from '../src/aws/events.js';
import { log, roundTasksOf } from '../src/aws/messages.js';
import { instrument } from '../src/aws/telemetry.js';
import { loadConfig } from '../src/aws/config.js';
import { invokeCompletionFor } from '../src/aws/LambdaCompletion.js';
import { createWiring, type AwsWiring } from '../src/aws/wiring.js';

/**
 * One round task from the SNS topic: compute the shard's partial, store it, arrive at the barrier.
 * An error is thrown to Lambda, which retries the asynchronous invocation twice and then hands the
 * event to the on-failure destination (handlers/workerFailed.ts), which fails the job. A malformed
 * event is logged and dropped.
 */
export function createWorkerHandler(wiring: () => AwsWiring) {
  return async (event: unknown): Promise<void> => {
    const w = wiring();
    const batch = recordsEventSchema.safeParse(event);
    if (!batch.success) {
      log('error', 'malformed-event', { source: 'sns', error: issueText(batch.error) });
      return;
    }
    for (const task of roundTasksOf(batch.data.Records)) {
      const container = w.container();
      const started = performance.now();
      const outcome = await runWorker(w.deps, container, task);
      if (outcome.status === 'rejected') {
        log('error', 'task-rejected', { jobId: task.jobId, round: task.round, shard: task.shard, reason: outcome.reason });
        continue;
      }
      const loads = container.cacheHits + container.cacheMisses;
      log('info', 'worker-done', {
        jobId: task.jobId,
        round: task.round,
        shard: task.shard,
        written: outcome.written,
        arrived: outcome.arrived,
        count: outcome.count,
        completionSent: outcome.completionSent,
        computeMs: round1(outcome.report.computeMs),
        loadMs: round1(outcome.report.loadMs),
        threads: outcome.report.threads,
        cacheHit: outcome.report.cacheHit,
        cacheHitRate: loads ? container.cacheHits / loads : 0,
        s3Requests: w.datasets.reads.requests,
        s3Bytes: w.datasets.reads.bytes,
        ms: round1(performance.now() - started),
      });
    }
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

let fromEnv: AwsWiring | undefined;

/** The worker's wiring: as every function's, with the completion channel its stack chose (BSPML_AGGREGATOR_TRIGGER). */
function workerWiring(): AwsWiring {
  return (fromEnv ??= createWiring(loadConfig(process.env), { completion: (config) => invokeCompletionFor(config) }));
}

export const handler = instrument(createWorkerHandler(workerWiring));
