import { algorithmFor } from '../algorithms/index.js';
import { JobNotFoundError, MissingStateError } from '../errors.js';
import type { WorkerContainer } from '../inner/WorkerContainer.js';
import { decodeModel, encodePartial, modelFromBase64 } from './codec.js';
import type { ProtocolDeps } from './deps.js';
import type { RoundTask, WorkerReport } from './types.js';

export interface WorkerOutcome {
  /** False when this shard's partial was already stored (a duplicate or retried message). */
  written: boolean;
  /** False when this shard had already arrived at the barrier. */
  arrived: boolean;
  /** Distinct shards at the barrier after this arrival. */
  count: number;
  completionSent: boolean;
  report: WorkerReport;
}

/**
 * One worker invocation: compute the partial of one shard for one round, store it, arrive at the
 * round's barrier and, if this arrival filled it, tell the aggregator. Never waits for other workers.
 * Safe to repeat: a duplicate finds its partial and its arrival already recorded and changes nothing.
 */
export async function runWorker(deps: Pick<ProtocolDeps, 'store' | 'datasets' | 'completion'>, container: WorkerContainer, task: RoundTask): Promise<WorkerOutcome> {
  const { store } = deps;
  const job = await container.job(task.jobId, () => store.getJob(task.jobId));
  if (!job || !job.data) throw new JobNotFoundError(task.jobId);
  if (!Number.isInteger(task.shard) || task.shard < 0 || task.shard >= job.shards || task.shards !== job.shards) {
    throw new RangeError(`task for shard ${task.shard} of ${task.shards} does not fit job ${job.jobId} with ${job.shards} shards`);
  }
  const algorithm = algorithmFor(job.spec);
  const shape = algorithm.shape(job.spec, job.data);

  let model: Float64Array;
  if (task.model !== undefined) {
    model = modelFromBase64(task.model);
  } else {
    const bytes = await store.getModel(job.jobId, task.round);
    if (!bytes) throw new MissingStateError(`job ${job.jobId}: model of round ${task.round} is missing`);
    model = decodeModel(bytes);
  }

  const shard = await container.shard(job.jobId, task.shard, () => deps.datasets.loadShard(job.spec.data, task.shard, job.shards));
  const { partial, computeMs } = await container.pool.partial(shard.key, shard.data.rows, shape, model);
  const report: WorkerReport = {
    shard: task.shard,
    rows: shard.data.rows,
    computeMs,
    loadMs: shard.loadMs,
    cacheHit: shard.cacheHit,
    threads: container.threads,
  };

  const written = await store.putPartial(job.jobId, task.round, task.shard, encodePartial(partial, report));
  const { added, count } = await store.arrive(job.jobId, task.round, task.shard, job.shards);

  let completionSent = false;
  if (count === job.shards) {
    // The filling arrival sends the completion. A repeat of it (its first run may have died before
    // sending) re-sends only while the job still waits on this round; the aggregator drops extras.
    let send = added;
    if (!send) {
      const now = await store.getJob(job.jobId);
      send = now?.status === 'RUNNING' && now.round === task.round;
    }
    if (send) {
      await deps.completion.send({ jobId: job.jobId, round: task.round });
      completionSent = true;
    }
  }
  return { written, arrived: added, count, completionSent, report };
}
