import type { Algorithm, Shape } from '../algorithms/types.js';
import type { TrainJobRecord } from '../domain/job.js';
import { algorithmFor } from '../algorithms/index.js';
import type { StateStore } from '../ports/StateStore.js';
import { decodeModel, encodeModel } from './codec.js';

/*
 * The workers' view of a round's model (docs/protocol.md "What the workers read"). A solver's model
 * holds state its workers never read: L-BFGS's (s, y) history, a gradient kept for the next round.
 * Multinomial L-BFGS at 784 columns × 10 classes is 2.8 MB, of which the partial reads the 63 KB of
 * weights and biases (the algorithm's `threadRanges`). So where those ranges are a strict part of the
 * model, the round's model goes to the store twice: whole (`putModel`, read by the aggregator alone)
 * and as its view (`putModelView`: the ranges' values, read by the workers, carried in their task
 * messages and in the lingering hand-over when small enough). Elsewhere the model is one blob, as
 * before, and the view is the model's own bytes.
 *
 * A view: "BSV1", the model's length (float64 values), the number of ranges, 0, each range [from, to)
 * as two uint32, then the ranges' values as float64, in order: a whole number of float64 values, as
 * task messages require. The worker rebuilds a model of the full length with zeros outside the ranges,
 * which is what the thread pool's shared buffer holds anyway (src/inner/ThreadPool.ts), so the
 * partials are the same bit for bit. A partial records the digest of the view it was computed from;
 * the aggregator derives the view from the model it holds and merges only partials with that view's
 * digest, so a view that is not its model's is never merged, whoever wrote it.
 */

const VIEW_MAGIC = 0x31565342; // "BSV1"
const HEADER_BYTES = 16;
/** More ranges than any algorithm gives (three at most today): a longer header is not a view. */
const MAX_RANGES = 64;

/** Values covered by `ranges`. */
function covered(ranges: readonly [number, number][]): number {
  return ranges.reduce((n, [from, to]) => n + (to - from), 0);
}

/**
 * Whether a job's model is stored split (whole for the aggregator, a view for the workers): when its
 * algorithm names ranges, and those of a model of its length, all zeros, are a strict part of it. It
 * depends on the shape alone, so the aggregator (which writes), the workers (which read) and the
 * recovery sweep agree on it without a request. Which ranges a round's view holds is the model's own
 * (GIANT's depend on its phase).
 */
export function splitsModel(algorithm: Algorithm, shape: Shape): boolean {
  if (!algorithm.threadRanges) return false;
  const key = `${algorithm.name} ${JSON.stringify(shape)}`;
  let split = splits.get(key);
  if (split === undefined) {
    const length = algorithm.modelLength(shape);
    split = covered(algorithm.threadRanges(shape, new Float64Array(length))) < length;
    // A process serves a few jobs' shapes: forget them all past a bound rather than keep every one.
    if (splits.size >= 256) splits.clear();
    splits.set(key, split);
  }
  return split;
}

/** splitsModel's answers by algorithm and shape: each worker round and aggregation asks, and the probe allocates a model (2.8 MB at 784 × 10). */
const splits = new Map<string, boolean>();

/** A round's model as it goes to the store and to the workers. */
export interface RoundModel {
  /** The model itself: what `putModel` stores and the aggregator reads. */
  state: Uint8Array;
  /** What the workers compute from: the view, or (not split) the same bytes as `state`. */
  view: Uint8Array;
  split: boolean;
}

export function roundModel(algorithm: Algorithm, shape: Shape, model: Float64Array, split = splitsModel(algorithm, shape)): RoundModel {
  const state = encodeModel(model);
  return { state, view: split ? encodeView(algorithm, shape, model) : state, split };
}

/** The view of `model`: its algorithm's ranges for it, and their values. */
export function encodeView(algorithm: Algorithm, shape: Shape, model: Float64Array): Uint8Array {
  const ranges = algorithm.threadRanges?.(shape, model) ?? [[0, model.length]];
  const offset = HEADER_BYTES + 8 * ranges.length;
  const out = new Uint8Array(offset + 8 * covered(ranges));
  const view = new DataView(out.buffer);
  view.setUint32(0, VIEW_MAGIC, true);
  view.setUint32(4, model.length, true);
  view.setUint32(8, ranges.length, true);
  view.setUint32(12, 0, true);
  const values = new Float64Array(out.buffer, offset);
  let at = 0;
  ranges.forEach(([from, to], i) => {
    view.setUint32(HEADER_BYTES + 8 * i, from, true);
    view.setUint32(HEADER_BYTES + 8 * i + 4, to, true);
    values.set(model.subarray(from, to), at);
    at += to - from;
  });
  return out;
}

/**
 * The model a worker computes with, from the bytes it was given (the store's, a hand-over's, a
 * task message's): the model itself, or (split) a model of the full length holding the view's
 * values, zeros elsewhere. A string says why the bytes are not a model of this job's shape (the
 * caller names where they came from): a view must hold exactly the ranges its algorithm gives for
 * the model it rebuilds, within the model's length.
 */
export function workerModel(algorithm: Algorithm, shape: Shape, bytes: Uint8Array, split = splitsModel(algorithm, shape)): Float64Array | string {
  const length = algorithm.modelLength(shape);
  if (!split) {
    if (bytes.byteLength !== length * 8) return `has ${bytes.byteLength} bytes, the job's has ${length * 8}`;
    return decodeModel(bytes);
  }
  if (bytes.byteLength < HEADER_BYTES || bytes.byteLength % 8 !== 0) return `is not a view of the job's model (${bytes.byteLength} bytes)`;
  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (header.getUint32(0, true) !== VIEW_MAGIC) return "is not a view of the job's model (no view header)";
  if (header.getUint32(4, true) !== length) return `is a view of a model of ${header.getUint32(4, true)} values, the job's has ${length}`;
  const count = header.getUint32(8, true);
  if (count > MAX_RANGES || HEADER_BYTES + 8 * count > bytes.byteLength) return `is a view whose header names ${count} ranges`;
  const ranges: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    const from = header.getUint32(HEADER_BYTES + 8 * i, true);
    const to = header.getUint32(HEADER_BYTES + 8 * i + 4, true);
    if (from > to || to > length) return `is a view whose range ${i} [${from}, ${to}) is not within the model's ${length} values`;
    ranges.push([from, to]);
  }
  const offset = HEADER_BYTES + 8 * count;
  if (bytes.byteLength - offset !== 8 * covered(ranges)) return `is a view whose ranges hold ${covered(ranges)} values in ${(bytes.byteLength - offset) / 8}`;
  // Copied out: the bytes may be unaligned (a slice of a network buffer).
  const values = new Float64Array(bytes.slice(offset).buffer);
  const model = new Float64Array(length);
  let at = 0;
  for (const [from, to] of ranges) {
    model.set(values.subarray(at, at + to - from), from);
    at += to - from;
  }
  const expected = algorithm.threadRanges?.(shape, model) ?? [[0, length]];
  if (expected.length !== ranges.length || expected.some(([from, to], i) => ranges[i]![0] !== from || ranges[i]![1] !== to)) {
    return `is a view of ranges ${JSON.stringify(ranges)}, where its model's are ${JSON.stringify(expected)}`;
  }
  return model;
}

/** Whether `job`'s model is stored split: its shape needs the data summary (a training round's job has it). */
export function jobSplitsModel(job: Pick<TrainJobRecord, 'spec' | 'data'>): boolean | undefined {
  if (!job.data) return undefined;
  const algorithm = algorithmFor(job.spec);
  return splitsModel(algorithm, algorithm.shape(job.spec, job.data));
}

/** The bytes the workers of `round` compute from, as the store holds them: one read either way. */
export function readWorkerBytes(store: StateStore, jobId: string, round: number, split: boolean): Promise<Uint8Array | undefined> {
  return split ? store.getModelView(jobId, round) : store.getModel(jobId, round);
}

/** Stores a round's model: the view beside it when split, in parallel (one round trip's time). */
export function putRoundModel(store: StateStore, jobId: string, round: number, model: RoundModel): Promise<void>[] {
  return [store.putModel(jobId, round, model.state), ...(model.split ? [store.putModelView(jobId, round, model.view)] : [])];
}
