import type { TrainJobRecord } from '../domain/job.js';
import { clock, type ProtocolDeps } from './deps.js';
import { publishRound } from './publish.js';

/*
 * The aggregator's side of lingering workers (docs/protocol.md "Lingering workers"): a round is
 * handed over to the workers that wait for it, and only the shards without a live claim are
 * published; an ended job tells them to stop. The workers' side is linger.ts.
 */

/**
 * A claim counts as lapsed this long after its deadline: a live worker has by then made its last
 * poll and its release (two requests), so a claim still held is a worker that died. Publishing the
 * shard sooner would only duplicate a worker that is about to compute it, and the duplicate takes
 * an environment another shard's task may need.
 */
export const LINGER_LAPSE_GRACE_MS = 250;

/**
 * The largest model the hand-over carries (bytes): each of the ⌈√W⌉ group items holds a copy (one
 * DynamoDB write unit per KB each, and one read unit per 4 KB for the poll that sees it), well
 * inside DynamoDB's 400 KB item. Larger models are read from the store, as before. What it carries
 * is what the workers compute from: the model's view where the model is stored split (modelView.ts;
 * multinomial L-BFGS at 784 columns × 10 classes: 62,824 bytes, against 2.8 MB for the model).
 */
export const HAND_OVER_MODEL_MAX_BYTES = 64 * 1024;

/**
 * The aggregator's side: publishes round `round` of `job`, whose workers compute from `view` (the
 * round's model, or its view: modelView.ts). In the event-driven mode, every shard;
 * with lingering workers, the round is handed over first (the signal they poll, carrying `view`
 * when it is at most HAND_OVER_MODEL_MAX_BYTES) and only shards without a live claim are
 * published: those whose worker released, never claimed, or whose claim lapsed (its deadline passed
 * LINGER_LAPSE_GRACE_MS ago: the worker may be gone; if it is not, it computes too, harmlessly).
 * `stays`: a shard whose worker is this aggregation's own (a lingering job's filling arrival, which
 * aggregates inline and computes its shard of the next round next, with the model it has just made):
 * it is not published either.
 */
export async function publishNextRound(
  deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now'>,
  job: Pick<TrainJobRecord, 'jobId' | 'shards' | 'spec' | 'data'>,
  round: number,
  view?: Uint8Array,
  stays?: number,
): Promise<void> {
  if (job.spec.sync !== 'linger') return publishRound(deps.fanout, deps.store, job, round, view);
  const bytes = view && view.byteLength <= HAND_OVER_MODEL_MAX_BYTES ? view : undefined;
  const claims = await deps.store.handOver(job.jobId, round, job.shards, false, bytes);
  const now = clock(deps);
  const live = new Set(claims.filter((c) => c.until + LINGER_LAPSE_GRACE_MS > now).map((c) => c.shard));
  if (stays !== undefined) live.add(stays);
  const rest = Array.from({ length: job.shards }, (_, i) => i).filter((shard) => !live.has(shard));
  if (rest.length > 0) await publishRound(deps.fanout, deps.store, job, round, view, rest);
}

/** The job ended after `job.round`: lingering workers waiting for the next round stop. */
export async function endLingering(store: ProtocolDeps['store'], job: Pick<TrainJobRecord, 'jobId' | 'shards' | 'spec' | 'round'>): Promise<void> {
  if (job.spec.sync === 'linger') await store.handOver(job.jobId, job.round + 1, job.shards, true);
}
