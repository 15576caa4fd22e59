import { issueText, recordsEventSchema } from '../src/aws/events.js';
import { log, roundTasksOf } from '../src/aws/messages.js';
import { countFailedJob, instrument } from '../src/aws/telemetry.js';
import { wiringFromEnv, type AwsWiring } from '../src/aws/wiring.js';
import { runPredictJobTask } from '../src/serve/predictJob.js';
import { predictJobDeps } from '../src/serve/predictWiring.js';

/**
 * One task of a predict job (docs/serving.md), from the predict topic: the shard predicted with the
 * job's model version (read once per environment, src/serve/modelStore.ts) and written as its part
 * under the job's folder, then the barrier, whose filling arrival marks the job SUCCEEDED with its
 * parts. Bad data fails the job with its one line and is not retried; any other error is thrown to
 * Lambda, which retries twice and then hands the event to the on-failure destination
 * (handlers/workerFailed.ts), which fails the job. A malformed event is logged and dropped.
 */
export function createPredictWorkerHandler(wiring: () => AwsWiring) {
  return async (event: unknown): Promise<void> => {
    const w = wiring();
    const batch = recordsEventSchema.safeParse(event);
    if (!batch.success) {
      log('error', 'malformed-event', { source: 'sns', error: issueText(batch.error) });
      return;
    }
    const deps = predictJobDeps(w);
    for (const task of roundTasksOf(batch.data.Records)) {
      const started = performance.now();
      const outcome = await runPredictJobTask(deps, task);
      const ms = Math.round((performance.now() - started) * 10) / 10;
      if (outcome.status === 'rejected') log('error', 'task-rejected', { jobId: task.jobId, round: task.round, shard: task.shard, reason: outcome.reason });
      else if (outcome.status === 'failed') {
        if (outcome.changed) countFailedJob();
        log('error', 'job-failed', { jobId: task.jobId, shard: task.shard, reason: outcome.reason, changed: outcome.changed });
      } else {
        log('info', 'predict-done', { jobId: task.jobId, shard: task.shard, part: outcome.part.uri, rows: outcome.part.rows, written: outcome.written, arrived: outcome.arrived, count: outcome.count, finished: outcome.finished, modelReads: deps.models.gets, ms });
      }
    }
  };
}

export const handler = instrument(createPredictWorkerHandler(wiringFromEnv));
