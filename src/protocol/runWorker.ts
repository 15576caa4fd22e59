import { algorithmFor } from '../algorithms/index.js';
import { JobNotFoundError, MissingStateError } from '../errors.js';
import type { WorkerContainer } from '../inner/WorkerContainer.js';
import { decodeModel, encodePartial, modelFromBase64 } from './codec.js';
import type { ProtocolDeps } from './deps.js';
import { PREPARE_ROUND } from './constants.js';
import { prepareShard } from './prepare.js';
import type { JobRecord, RoundTask, WorkerReport } from './types.js';

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
 * One worker invocation: compute the partial of one shard for one round (in the preparation round:
 * load the shard and summarise it), store it, arrive at the round's barrier and, if this arrival
 * filled it, tell the aggregator. Never waits for other workers. Safe to repeat: a duplicate finds
 * its partial and its arrival already recorded and changes nothing.
 */
export async function runWorker(deps: Pick<ProtocolDeps, 'store' | 'datasets' | 'completion'>, container: WorkerContainer, task: RoundTask): Promise<WorkerOutcome> {
  const { store } = deps;
  const read = () => store.getJob(task.jobId);
  let job = await container.job(task.jobId, read);
  if (!job || !job.layout) throw new JobNotFoundError(task.jobId);
  const prepare = task.phase === 'prepare';
  if (prepare !== (task.round === PREPARE_ROUND)) {
    throw new RangeError(`task for round ${task.round} says phase ${task.phase ?? 'train'}; round ${PREPARE_ROUND} and only it prepares`);
  }
  if (!Number.isInteger(task.shard) || task.shard < 0 || task.shard >= job.shards || task.shards !== job.shards) {
    throw new RangeError(`task for shard ${task.shard} of ${task.shards} does not fit job ${job.jobId} with ${job.shards} shards`);
  }
  // A container that served the preparation round holds the record from before its rows were counted.
  if (!prepare && !job.data) job = await container.job(task.jobId, read, { refresh: true });
  if (!job?.layout) throw new JobNotFoundError(task.jobId);

  const { partial, report } = prepare ? await prepareShard(deps, container, { ...job, layout: job.layout }, task) : await trainShard(deps, container, job, task);

  const written = await store.putPartial(job.jobId, task.round, task.shard, encodePartial(partial, report));
  const { added, count } = await store.arrive(job.jobId, task.round, task.shard);

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

/** A training round's partial: the inner threads over the cached shard, with the round's model. */
async function trainShard(
  deps: Pick<ProtocolDeps, 'store' | 'datasets'>,
  container: WorkerContainer,
  job: JobRecord,
  task: RoundTask,
): Promise<{ partial: Float64Array; report: WorkerReport }> {
  if (!job.data || !job.layout) throw new MissingStateError(`job ${job.jobId} is training without its data summary`);
  const algorithm = algorithmFor(job.spec);
  const shape = algorithm.shape(job.spec, job.data);

  let model: Float64Array;
  if (task.model !== undefined) {
    model = modelFromBase64(task.model);
  } else {
    const bytes = await deps.store.getModel(job.jobId, task.round);
    if (!bytes) throw new MissingStateError(`job ${job.jobId}: model of round ${task.round} is missing`);
    model = decodeModel(bytes);
  }

  const layout = job.layout;
  const shard = await container.shard(job.jobId, task.shard, () => deps.datasets.loadShard(layout, task.shard, job.shards));
  // Row identities serve only the preparation round's sample, and every shard's summary is stored
  // by now (this round started after all of them): free their memory.
  shard.data.positions = undefined;
  const { partial, computeMs } = await container.pool.partial(shard.key, shard.data.rows, shape, model);
  const report: WorkerReport = {
    shard: task.shard,
    rows: shard.data.rows,
    computeMs,
    loadMs: shard.loadMs,
    cacheHit: shard.cacheHit,
    threads: container.threads,
  };
  return { partial, report };
}
