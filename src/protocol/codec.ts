import { createHash } from 'node:crypto';
import { BspmlError } from '../errors.js';
import type { WorkerReport } from '../domain/job.js';

/*
 * Wire and storage encodings of models and partials: raw little-endian float64 (every Lambda and
 * laptop we target is little-endian), a partial prefixed by its worker's report as JSON.
 */

const PARTIAL_MAGIC = 0x31505342; // "BSP1"

/**
 * The model's bytes: a view of its memory, not a copy (a model is not changed once made, and the
 * stores copy what they keep; a multinomial L-BFGS model is 2.8 MB for 784 columns, and each copy
 * of it a round adds to the garbage collector's work).
 */
export function encodeModel(model: Float64Array): Uint8Array {
  return new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
}

export function decodeModel(bytes: Uint8Array): Float64Array {
  if (bytes.byteLength % 8 !== 0) throw new BspmlError('E_CODEC', `model of ${bytes.byteLength} bytes is not a float64 array`);
  // Copy: the source may be unaligned (a slice of a network buffer) and Float64Array needs alignment.
  return new Float64Array(bytes.slice().buffer);
}

/** A partial with its report; a group partial (src/protocol/groupMerge.ts) carries a GroupReport instead. */
export function encodePartial<R = WorkerReport>(partial: Float64Array, report: R): Uint8Array {
  const meta = Buffer.from(JSON.stringify(report));
  const offset = align8(8 + meta.byteLength);
  const out = new Uint8Array(offset + partial.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, PARTIAL_MAGIC, true);
  view.setUint32(4, meta.byteLength, true);
  out.set(meta, 8);
  out.set(new Uint8Array(partial.buffer, partial.byteOffset, partial.byteLength), offset);
  return out;
}

export function decodePartial<R = WorkerReport>(bytes: Uint8Array): { partial: Float64Array; report: R } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== PARTIAL_MAGIC) {
    throw new BspmlError('E_CODEC', 'stored partial is not in the expected format');
  }
  const metaLength = view.getUint32(4, true);
  const report = JSON.parse(Buffer.from(bytes.subarray(8, 8 + metaLength)).toString('utf8')) as R;
  const offset = align8(8 + metaLength);
  if ((bytes.byteLength - offset) % 8 !== 0) throw new BspmlError('E_CODEC', 'stored partial is truncated');
  const partial = new Float64Array(bytes.slice(offset).buffer);
  return { partial, report };
}

/**
 * The digest a partial records of the model it was computed from (SHA-256 of the encoded model,
 * hex, first 128 bits): the aggregator merges only partials whose digest is that of the round's
 * stored model, so a partial computed from a forged, stale or corrupted task is never merged.
 */
export function modelDigest(encoded: Uint8Array): string {
  const known = digests.get(encoded);
  if (known !== undefined) return known;
  const digest = createHash('sha256').update(encoded).digest('hex').slice(0, 32);
  digests.set(encoded, digest);
  return digest;
}

/**
 * Digests taken, by the very bytes taken from: the worker that computes with a model and the
 * aggregation of the same round that it runs inline (a lingering job's) hold the same bytes, and
 * hashing them twice cost 1.5 ms a round each for a 2.8 MB model. Keyed by the array itself, so
 * the bytes of models, which no one changes once encoded, are the only ones it may see.
 */
const digests = new WeakMap<Uint8Array, string>();

export function modelToBase64(model: Float64Array): string {
  return Buffer.from(encodeModel(model)).toString('base64');
}

export function modelFromBase64(text: string): Float64Array {
  return decodeModel(new Uint8Array(Buffer.from(text, 'base64')));
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
