import { algorithmFor } from '../algorithms/index.js';
import { BspmlError, MissingStateError } from '../errors.js';
import type { Container } from '../ports/Container.js';
import { encodePartial, modelDigest } from './codec.js';
import { readWorkerBytes, splitsModel, workerModel } from './modelView.js';
import { applyClasses } from './classes.js';
import { PREPARE_ROUND } from './constants.js';
import { mergeGroup, treeMerge, type GroupMergeOutcome } from './groupMerge.js';
import { groupOf } from '../domain/groups.js';
import { clock, type ProtocolDeps } from './deps.js';
import { loadOptions, prepareShard } from './prepare.js';
import type { TrainJobRecord, RoundTask, WorkerReport } from '../domain/job.js';

export type WorkerOutcome = WorkerDone | WorkerRejected;

export interface WorkerDone {
  status: 'done';
  /** False when this shard's partial was already stored (a duplicate or retried message). */
  written: boolean;
  /** False when this shard had already arrived at the barrier. */
  arrived: boolean;
  /** Distinct shards at the barrier after this arrival. */
  count: number;
  completionSent: boolean;
  report: WorkerReport;
  /** The tree merge of this shard's barrier group, when this arrival completed it (groupMerge.ts). */
  groupMerge?: GroupMergeOutcome;
  /**
   * The bytes it computed from (the model, or its view where the model is stored split:
   * modelView.ts), when they came from the store (read, or handed over), not from the task's message.
   */
  model?: Uint8Array;
}

/** What the caller knows of a task it runs (a lingering worker's, handed over by the store). */
export interface GivenTask {
  /**
   * The store handed this round over just now, so the job is at the task's round: the worker needs
   * no fresh read of the job record (its container's copy serves).
   */
  current?: boolean;
  /** What the round's workers compute from (its model or view), as the store handed it over: no read of it. */
  model?: Uint8Array;
}

/**
 * A task that can never be computed (no such job, a shard outside the job, a model that is not
 * the job's shape): the caller logs and drops it. Retrying cannot fix it, and it must not fail the job
 * it names, which may be healthy (anyone able to publish to the topic can send one).
 */
export interface WorkerRejected {
  status: 'rejected';
  reason: string;
}

/**
 * One worker invocation: compute the partial of one shard for one round (in the preparation round:
 * load the shard and summarise it), store it, arrive at the round's barrier and, if this arrival
 * filled it, tell the aggregator. Never waits for other workers. Safe to repeat: a duplicate finds
 * its partial and its arrival already recorded and changes nothing.
 */
export async function runWorker(deps: Pick<ProtocolDeps, 'store' | 'datasets' | 'completion' | 'now'>, container: Container, task: RoundTask, given: GivenTask = {}): Promise<WorkerOutcome> {
  const { store } = deps;
  const read = () => store.getJob(task.jobId);
  // The job as it stands now, not as this container last saw it: a task delivered after its round
  // was cleared (a late duplicate) must not recompute and re-create that round's partial and barrier.
  // A round the store has just handed over is the job's round (it cannot move on without this shard's
  // arrival, or a lapsed claim's re-published task, which comes a grace period after this worker's deadline).
  const found = await container.job(task.jobId, read, { refresh: !given.current });
  if (!found) return { status: 'rejected', reason: `task for job ${task.jobId}, which does not exist` };
  // Predict jobs' tasks are the predict workers' (src/protocol/predictRound.ts).
  if (found.kind === 'predict' || task.phase === 'predict') return { status: 'rejected', reason: `task for predict job ${found.jobId}: predict tasks go to the predict workers` };
  let job: TrainJobRecord = found;
  if (job.status === 'SUCCEEDED' || job.status === 'FAILED' || job.round > task.round) {
    return { status: 'rejected', reason: `task for round ${task.round} of job ${job.jobId}, which is ${job.status} at round ${job.round}: that round is over` };
  }
  if (!job.layout) throw new MissingStateError(`job ${job.jobId} is ${job.status} without its data layout`);
  const misfit = taskMisfit(task, job);
  if (misfit) return { status: 'rejected', reason: misfit };
  const prepare = task.phase === 'prepare';
  if (prepare !== (task.round === PREPARE_ROUND)) {
    return { status: 'rejected', reason: `task for round ${task.round} of job ${job.jobId} says phase ${task.phase ?? 'train'}: round ${PREPARE_ROUND}, and only it, prepares` };
  }
  // A container that served the preparation round holds the record from before its rows were counted.
  if (!prepare && !job.data) {
    const refreshed = await container.job(task.jobId, read, { refresh: true });
    if (refreshed && refreshed.kind !== 'predict') job = refreshed;
  }
  // Still no data summary: the job has not finished its preparation round, so no training round
  // can have been published yet. A task that says otherwise is forged or corrupt, and must not fail the job.
  if (!prepare && !job.data) {
    return { status: 'rejected', reason: `task for training round ${task.round} of job ${job.jobId}, which has not finished its preparation round` };
  }
  if (!job.layout) throw new MissingStateError(`job ${job.jobId} is ${job.status} without its data layout`);

  let computed: { partial: Float64Array; report: WorkerReport; model?: Uint8Array } | WorkerRejected;
  const layout = job.layout;
  if (prepare) computed = await prepareShard(deps, container, { ...job, layout }, task);
  else computed = await trainShard(deps, container, job, task, given.model);
  if ('status' in computed) return computed;
  const { partial, model } = computed;
  const report: WorkerReport = { ...computed.report, arrivedAt: clock(deps) };

  const written = await store.putPartial(job.jobId, task.round, task.shard, encodePartial(partial, report));
  const { added, count, groupFilled } = await store.arrive(job.jobId, task.round, task.shard, job.shards);

  // A repeat (its first run may have died before merging or sending) acts only while the job
  // still waits on this round; the aggregator drops extra completions, putGroupPartial extra merges.
  let stillOpen: boolean | undefined;
  const open = async () => {
    if (stillOpen === undefined) {
      const now = await store.getJob(job.jobId);
      stillOpen = now?.status === 'RUNNING' && now.round === task.round;
    }
    return stillOpen;
  };
  let groupMerge: GroupMergeOutcome | undefined;
  if (groupFilled && !prepare && treeMerge(job.spec, job.shards, partial.length) && (added || (await open()))) {
    // Before the completion: the filling arrival's own group is then merged when the aggregator looks.
    groupMerge = await mergeGroup(store, algorithmFor(job.spec), job, task.round, groupOf(task.shard, job.shards), report.modelDigest, partial.length);
  }

  let completionSent = false;
  // The filling arrival sends the completion.
  if (count === job.shards && (added || (await open()))) {
    await deps.completion.send({ jobId: job.jobId, round: task.round });
    completionSent = true;
  }
  return { status: 'done', written, arrived: added, count, completionSent, report, ...(groupMerge ? { groupMerge } : {}), ...(model ? { model } : {}) };
}

/** A training round's partial: the inner threads over the cached shard, with the round's model. */
async function trainShard(
  deps: Pick<ProtocolDeps, 'store' | 'datasets'>,
  container: Container,
  job: TrainJobRecord,
  task: RoundTask,
  handed?: Uint8Array,
): Promise<{ partial: Float64Array; report: WorkerReport; model?: Uint8Array } | WorkerRejected> {
  const { store } = deps;
  if (!job.data || !job.layout) throw new MissingStateError(`job ${job.jobId} is ${job.status} without its data summary`);
  const algorithm = algorithmFor(job.spec);
  const shape = algorithm.shape(job.spec, job.data);
  // Where the model is stored split, the workers get its view: the part their partials read (modelView.ts).
  const split = splitsModel(algorithm, shape);
  const what = split ? 'view of the model' : 'model';

  let encoded: Uint8Array;
  let fromStore = false;
  if (handed !== undefined) {
    encoded = handed;
    fromStore = true;
  } else if (task.model !== undefined) {
    encoded = new Uint8Array(Buffer.from(task.model, 'base64'));
    if (Buffer.from(encoded).toString('base64') !== task.model) {
      return { status: 'rejected', reason: `task for shard ${task.shard} of round ${task.round} of job ${job.jobId}: its model is not base64` };
    }
  } else {
    const bytes = await readWorkerBytes(store, job.jobId, task.round, split);
    if (!bytes) {
      // No model for the task's round: a task for a round the job has not reached or has left
      // (whose state may be gone) cannot be computed and must not fail the job. Only a task of the
      // job's current round finds a real loss.
      const now = await store.getJob(job.jobId);
      if (now?.status !== 'RUNNING' || now.round !== task.round) {
        return { status: 'rejected', reason: `task for round ${task.round} of job ${job.jobId}, which is ${now?.status ?? 'gone'} at round ${now?.round ?? '?'}, and no model for it is stored` };
      }
      throw new MissingStateError(`job ${job.jobId}: ${what} of round ${task.round} is missing`);
    }
    encoded = bytes;
    fromStore = true;
  }
  const model = workerModel(algorithm, shape, encoded, split);
  if (typeof model === 'string') {
    // Bytes from the store that do not fit the job are damage (thrown, as any failed read); a task's
    // are its sender's (anyone able to publish): the task is dropped and the job goes on.
    if (handed !== undefined) throw new BspmlError('E_CODEC', `job ${job.jobId}: ${what} of round ${task.round} handed over ${model}`);
    if (fromStore) throw new BspmlError('E_CODEC', `job ${job.jobId}: stored ${what} of round ${task.round} ${model}`);
    return { status: 'rejected', reason: `task for shard ${task.shard} of round ${task.round} of job ${job.jobId}: its model ${model}` };
  }

  const layout = job.layout;
  const shard = await container.shard(job.jobId, task.shard, (via) => deps.datasets.loadShard(layout, task.shard, job.shards, { ...loadOptions(job.spec), ...via }));
  // Row identities serve only the preparation round's sample, and every shard's summary is stored
  // by now (this round started after all of them): free their memory.
  shard.data.positions = undefined;
  // Labels as the shard was read (codes, or numbers) become the job's class indices, once.
  applyClasses(shard.data, job.data.classLabels, layout.uri);
  const { partial, computeMs } = await container.pool.partial(shard.key, shard.data.rows, shape, model, task.shard);
  const report: WorkerReport = {
    shard: task.shard,
    rows: shard.data.rows,
    computeMs,
    loadMs: shard.loadMs,
    cacheHit: shard.cacheHit,
    threads: container.threads,
    modelDigest: modelDigest(encoded),
  };
  return { partial, report, ...(fromStore ? { model: encoded } : {}) };
}

/** Why `task` cannot belong to `job`, or undefined when it fits. */
export function taskMisfit(task: RoundTask, job: Pick<TrainJobRecord, 'jobId' | 'shards'>): string | undefined {
  const { shard, shards, round } = task;
  if (!Number.isInteger(round) || round < 0) return `task for round ${round} of job ${job.jobId}: rounds are whole numbers from 0`;
  if (shards !== job.shards) return `task for shard ${shard} of ${shards} does not fit job ${job.jobId}, which has ${job.shards} shards`;
  if (!Number.isInteger(shard) || shard < 0 || shard >= job.shards) {
    return `task for shard ${shard} does not fit job ${job.jobId}, whose shards are 0 to ${job.shards - 1}`;
  }
  return undefined;
}
