import type { Fanout } from '../ports/Fanout.js';
import type { StateStore } from '../ports/StateStore.js';
import { MAX_INLINE_MODEL_CHARS, PREPARE_ROUND } from './constants.js';
import { jobSplitsModel, readWorkerBytes } from './modelView.js';
import type { PredictJobRecord, RoundTask, TrainJobRecord } from '../domain/job.js';

/**
 * Publishes round `round` of a job to `shards` (all by default). What the workers compute from (the
 * model, or its view where it is stored split: modelView.ts) rides in the message when small enough,
 * saving every worker a store read; it is always in the store too. The preparation round has no
 * model: its tasks say `phase: 'prepare'`; a predict job's, `phase: 'predict'`.
 */
export async function publishRound(
  fanout: Fanout,
  store: StateStore,
  job: Pick<TrainJobRecord, 'jobId' | 'shards' | 'kind' | 'spec' | 'data'> | Pick<PredictJobRecord, 'jobId' | 'shards' | 'kind'>,
  round: number,
  view?: Uint8Array,
  shards: number[] = Array.from({ length: job.shards }, (_, i) => i),
): Promise<void> {
  // A predict job's one round (src/protocol/predictRound.ts): its tasks go to the predict workers.
  if (job.kind === 'predict') {
    await fanout.publish(shards.map((shard) => ({ jobId: job.jobId, round, phase: 'predict', shard, shards: job.shards })));
    return;
  }
  if (round === PREPARE_ROUND) {
    await fanout.publish(shards.map((shard) => ({ jobId: job.jobId, round, phase: 'prepare', shard, shards: job.shards })));
    return;
  }
  let inline: string | undefined;
  if (view) {
    // Base64 takes 4 characters per 3 bytes: a model too large to ride is never encoded (a
    // multinomial L-BFGS model of 784 columns is 2.8 MB, encoded each round for nothing before; its
    // view, 63 KB, rides).
    if (base64Length(view.byteLength) <= MAX_INLINE_MODEL_CHARS) inline = Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
  } else {
    // Re-publishing (recovery) without the model at hand: fetch what the workers read only to inline it.
    const split = jobSplitsModel(job);
    const bytes = split === undefined ? undefined : await readWorkerBytes(store, job.jobId, round, split);
    const text = bytes && base64Length(bytes.byteLength) <= MAX_INLINE_MODEL_CHARS ? Buffer.from(bytes).toString('base64') : undefined;
    if (text) inline = text;
  }
  const tasks: RoundTask[] = shards.map((shard) => ({ jobId: job.jobId, round, shard, shards: job.shards, ...(inline ? { model: inline } : {}) }));
  await fanout.publish(tasks);
}

/** Characters of the padded base64 text of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}
