import type { Shape } from '../algorithms/types.js';
import type { KernelKind } from '../kernels/backend.js';

/** Sent once per shard per thread: the buffer is shared, not copied. */
export interface ShardMessage {
  type: 'shard';
  key: string;
  buffer: SharedArrayBuffer;
  /** Where the features start in `buffer`; labels follow them. */
  byteOffset: number;
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

/** Sent once per round per thread: only the model travels. */
export interface ComputeMessage {
  type: 'compute';
  id: number;
  key: string;
  shape: Shape;
  model: Float64Array;
  start: number;
  end: number;
  /** The shard's index in its job and this thread's in its pool (they key local SGD's row order). */
  shard: number;
  thread: number;
}

export type ToThread = ShardMessage | DropMessage | ComputeMessage;

export type FromThread =
  | { type: 'ready' }
  | { type: 'result'; id: number; partial: Float64Array; ms: number; kernels: KernelKind }
  | { type: 'error'; id: number; message: string; stack?: string };
