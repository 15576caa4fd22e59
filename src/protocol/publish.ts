import type { Fanout } from '../ports/Fanout.js';
import type { StateStore } from '../ports/StateStore.js';
import { modelToBase64 } from './codec.js';
import { MAX_INLINE_MODEL_CHARS, PREPARE_ROUND } from './constants.js';
import type { RoundTask } from '../domain/job.js';

/**
 * Publishes round `round` of a job to `shards` (all by default). The model rides in the message
 * when small enough, saving every worker a store read; it is always in the store too. The
 * preparation round has no model: its tasks say `phase: 'prepare'`; a predict job's, `phase: 'predict'`.
 */
export async function publishRound(
  fanout: Fanout,
  store: StateStore,
  job: { jobId: string; shards: number; kind?: 'train' | 'predict' },
  round: number,
  model?: Float64Array,
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
  if (model) {
    const text = modelToBase64(model);
    if (text.length <= MAX_INLINE_MODEL_CHARS) inline = text;
  } else {
    // Re-publishing (recovery) without the model at hand: fetch it only to inline it.
    const bytes = await store.getModel(job.jobId, round);
    const text = bytes ? Buffer.from(bytes).toString('base64') : undefined;
    if (text && text.length <= MAX_INLINE_MODEL_CHARS) inline = text;
  }
  const tasks: RoundTask[] = shards.map((shard) => ({ jobId: job.jobId, round, shard, shards: job.shards, ...(inline ? { model: inline } : {}) }));
  await fanout.publish(tasks);
}
