import type { JobSpec, LogregSolver } from '../domain/spec.js';
import type { ModelResult } from '../domain/results.js';
import type { PreparedData } from '../data/summary.js';
import type { DataSummary } from '../data/types.js';
import type { SgdLoss } from '../kernels/localSgd.js';

export type AlgorithmName = JobSpec['algorithm'];

/** What a thread must know to compute a partial: no spec, no I/O, just sizes. */
export interface Shape {
  algorithm: AlgorithmName;
  dims: number;
  /** Clusters for k-means; 1 otherwise. */
  k: number;
  /** Logistic regression: the solver, which decides the model's and the partial's layout. */
  solver?: LogregSolver;
  /** Local SGD (logreg/localSgd.ts): its loss, step size, batch, steps and seed. */
  sgd?: LocalSgdSettings;
  /** Multinomial logistic regression: its C > 2 classes (labels 0..C−1); absent for two classes. */
  classes?: number;
  /** Each class's weight in the loss, by class index (algorithms/classWeights.ts); absent: all 1. */
  classWeights?: number[];
}

/** Rows [start, end) of a shard's views. */
export interface RowBlock {
  features: Float32Array;
  labels?: Float32Array;
  dims: number;
  start: number;
  end: number;
  /** Which worker's shard and which of its threads these rows are: keys local SGD's seeded row order (absent: 0). */
  shard?: number;
  thread?: number;
  /**
   * Where several threads compute one partial over a shard's rows: replaces `values` by the sum of
   * every such thread's `values` (each thread must call it the same number of times with vectors of
   * the same length, at most the algorithm's threadSumLength); every thread gets the same sums bit
   * for bit. Present only where threadSumLength said the call sums.
   * Absent: this block is the only one (one thread, the simulator): the sum is `values` itself.
   */
  sumAcrossThreads?: (values: Float64Array) => void;
}

export interface UpdateResult {
  model: Float64Array;
  /** The objective of the model that entered the round (inertia; log-loss). */
  objective: number;
  converged: boolean;
  /** Figures for progress and reports: shift, gradNorm, accuracy, ... */
  stats: Record<string, number>;
}

/**
 * One training algorithm in BSP form. Models and partials are flat Float64Arrays whose layout the
 * algorithm owns; a partial is a sum over rows, so `merge` is associative and any split of the rows
 * over workers and threads gives the same merged partial (to float rounding of sums).
 */
export interface Algorithm<S extends JobSpec = JobSpec> {
  readonly name: S['algorithm'];
  shape(spec: S, data: DataSummary): Shape;
  /** Rejects a spec that cannot run on this data, naming the field (from the preparation round's summary). */
  validate(spec: S, data: PreparedData): void;
  /**
   * The label classes the model learns one row of weights for, when it does (multinomial logistic
   * regression): recorded with the job's data summary for shape(), after validate() accepted the data.
   */
  classes?(spec: S, data: PreparedData): number | undefined;
  /** The model of round 1, from the preparation round's summary (never from the rows themselves). */
  init(spec: S, data: PreparedData): Float64Array;
  /** Why a label cannot be trained on (e.g. not 0 or 1), checked row by row as shards load; absent: any label. */
  labelRule?: (label: number) => string | undefined;
  /** Length of the model array for this shape: a task's model of any other length is refused. */
  modelLength(shape: Shape): number;
  partialLength(shape: Shape): number;
  /**
   * The ranges [from, to) of the model that `partial` reads (absent: all of it). The thread pool
   * writes only these into the buffer its threads share, so a solver's state (L-BFGS history, a
   * gradient kept for the next round) never travels to the threads.
   */
  threadRanges?(shape: Shape, model: Float64Array): [number, number][];
  /**
   * The longest vector `partial` sums across the threads of a worker (RowBlock.sumAcrossThreads)
   * with this model; absent or 0: it sums none, and the pool makes no buffer for sums.
   */
  threadSumLength?(shape: Shape, model: Float64Array): number;
  /** Adds the contribution of `block`'s rows to `out` (which starts zeroed). */
  partial(shape: Shape, model: Float64Array, block: RowBlock, out: Float64Array): void;
  /** Adds `other` into `into`. */
  merge(into: Float64Array, other: Float64Array): void;
  update(spec: S, shape: Shape, model: Float64Array, merged: Float64Array): UpdateResult;
  /** The user-facing model after the last round. */
  result(spec: S, data: DataSummary, model: Float64Array, last: UpdateResult, merged: Float64Array, rounds: number): ModelResult;
}

/** Elementwise sum: the merge of every algorithm whose partials are plain sums. */
export function addInto(into: Float64Array, other: Float64Array): void {
  if (into.length !== other.length) throw new RangeError(`partials differ in length: ${into.length} vs ${other.length}`);
  for (let i = 0; i < into.length; i++) into[i] += other[i]!;
}

/** What a thread needs to run its steps, carried in the round's Shape. */
export interface LocalSgdSettings {
  loss: SgdLoss;
  /** The learning rate of round 1 (round r steps with lr/√r). */
  lr: number;
  lambda: number;
  batch: number;
  /** Steps per round; absent: one pass over the thread's rows. */
  steps?: number;
  seed: number;
}
