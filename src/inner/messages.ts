import type { Shape } from '../algorithms/types.js';
import type { CsvBlockRequest, CsvBlockResult } from '../data/formats/csv-blocks.js';
import type { RangeSummary } from '../data/summary.js';
import type { KernelKind } from '../kernels/backend.js';
import type { ModelResult } from '../domain/results.js';
import type { ThreadSumChannel } from './threadSum.js';

/** Sent once per shard per thread: the buffer is shared, not copied. */
export interface ShardMessage {
  type: 'shard';
  key: string;
  buffer: SharedArrayBuffer;
  /** Where the features start in `buffer`. */
  byteOffset: number;
  /** Where the labels start in `buffer` (when `hasLabels`). */
  labelOffset: number;
  /** The buffer is the pool's shared WebAssembly memory (the thread received it at start). */
  inArena: boolean;
  rows: number;
  dims: number;
  hasLabels: boolean;
}

export interface DropMessage {
  type: 'drop';
  key: string;
}

/** Sent once per round per thread: the model is a view of a shared buffer the pool wrote once. */
export interface ComputeMessage {
  type: 'compute';
  id: number;
  key: string;
  shape: Shape;
  /** Over a SharedArrayBuffer: posting it shares it; only the ranges the partial reads are filled. */
  model: Float64Array;
  start: number;
  end: number;
  /** The shard's index in its job and this thread's in its pool (they key local SGD's row order). */
  shard: number;
  thread: number;
  /** With more than one thread computing the call: the buffer their sums across threads meet in. */
  sum?: ThreadSumChannel;
}

/** A block of CSV lines to parse (its bytes and row buffers are transferred, then transferred back). */
export interface ParseMessage {
  type: 'parse';
  id: number;
  request: CsvBlockRequest;
}

/** Summarise rows [start, end) of a shard the thread holds (the preparation round's summary). */
export interface SummarizeMessage {
  type: 'summarize';
  id: number;
  key: string;
  start: number;
  end: number;
  seed: number;
  sampleSize: number;
  /** Shared memory, not copied; absent: row i is at `first + i`. */
  positions?: Float64Array;
  first: number;
  pieces: { part: number; rows: number }[];
}

/** From now on, parse requests naming `key` as their stage are predicted with `model` (src/inner/predictStage.ts). */
export interface StageMessage {
  type: 'stage';
  key: string;
  model: ModelResult;
  /** Where each of the model's features is among a row's (file order). */
  order: number[];
  /** Features per row. */
  dims: number;
}

export interface UnstageMessage {
  type: 'unstage';
  key: string;
}

export type ToThread = ShardMessage | DropMessage | ComputeMessage | ParseMessage | SummarizeMessage | StageMessage | UnstageMessage;

export type FromThread =
  | { type: 'ready' }
  | { type: 'result'; id: number; partial: Float64Array; ms: number; kernels: KernelKind }
  | { type: 'parsed'; id: number; result: CsvBlockResult }
  | { type: 'summary'; id: number; summary: RangeSummary }
  | { type: 'error'; id: number; message: string; stack?: string };
