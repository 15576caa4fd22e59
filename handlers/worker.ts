import { containerMemoryMb } from '../src/inner/WorkerContainer.js';
import { runLingering } from '../src/protocol/linger.js';
import { issueText, recordsEventSchema } from '../src/aws/events.js';
import { log, roundTasksOf } from '../src/aws/messages.js';
import { instrument } from '../src/aws/telemetry.js';
import { loadConfig } from '../src/aws/config.js';
import { invokeCompletionFor } from '../src/aws/LambdaCompletion.js';
import { createWiring, type AwsWiring } from '../src/aws/wiring.js';
import { reportAggregation } from '../src/aws/aggregated.js';

/** What the worker reads of Lambda's context: the time its invocation has left. */
export interface WorkerContext {
  getRemainingTimeInMillis(): number;
}

/**
 * One round task from the SNS topic: compute the shard's partial, store it, arrive at the barrier;
 * in a job with `sync: 'linger'`, then wait for the next round and compute it here, as long as the
 * budget and the function's remaining time allow (src/protocol/linger.ts). In such a job the
 * arrival that fills a round aggregates it here (inline), as the local runtime does: it stores the
 * next model, hands the round over to the waiting workers and publishes only the shards without a
 * live claim, with no queue or Invoke hop to the aggregator function; if that fails, the completion
 * goes to the aggregator as in the event-driven mode (and the recovery sweep re-sends a completion
 * whose worker died). An error is thrown to
 * Lambda, which retries the asynchronous invocation twice and then hands the event to the
 * on-failure destination (handlers/workerFailed.ts), which fails the job. A malformed event is
 * logged and dropped.
 */
export function createWorkerHandler(wiring: () => AwsWiring) {
  return async (event: unknown, context?: WorkerContext): Promise<void> => {
    const w = wiring();
    const batch = recordsEventSchema.safeParse(event);
    if (!batch.success) {
      log('error', 'malformed-event', { source: 'sns', error: issueText(batch.error) });
      return;
    }
    for (const task of roundTasksOf(batch.data.Records)) {
      const container = w.container();
      let started = performance.now();
      const run = await runLingering(w.deps, container, task, {
        memoryMb: containerMemoryMb(),
        remainingMs: context ? () => context.getRemainingTimeInMillis() : undefined,
        inline: true,
        onAggregated: (message, outcome) => reportAggregation(w, message, outcome, 'worker'),
        onRound: (done, outcome) => {
          if (outcome.status === 'rejected') {
            log('error', 'task-rejected', { jobId: done.jobId, round: done.round, shard: done.shard, reason: outcome.reason });
            return;
          }
          const loads = container.cacheHits + container.cacheMisses;
          log('info', 'worker-done', {
            jobId: done.jobId,
            round: done.round,
            shard: done.shard,
            lingered: done !== task,
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
          started = performance.now();
        },
      });
      // A worker that lingered: it claimed a round, or filled one and computed the next (no claim).
      if (run.claims > 0 || run.rounds > 1) {
        log('info', 'worker-lingered', { jobId: task.jobId, shard: task.shard, rounds: run.rounds, claims: run.claims, handed: run.handed, released: run.released, waitedMs: round1(run.waitedMs) });
      }
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
