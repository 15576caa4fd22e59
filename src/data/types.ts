import type { ShardPiece } from './layout.js';

/** Where a data set is and how to read it. */
export interface DatasetRef {
  /** A file path locally; `s3://bucket/key` on AWS. */
  uri: string;
  /**
   * The column holding class labels (0, 1, 2, …), by header name or 0-based index; "last" means the last column.
   * Absent for algorithms without labels: then every column is a feature.
   */
  labelColumn?: string;
  /** Only these columns are features (names or 0-based indices); the rest, label aside, are left out. */
  features?: string[];
  /** These columns are left out (an id, a leak); not with `features`. */
  drop?: string[];
}

/** A whole data set after parsing and validation: features row-major, float32. */
export interface TrainingData {
  source: string;
  rows: number;
  dims: number;
  features: Float32Array;
  labels?: Float32Array;
  featureNames: string[];
  labelName?: string;
}

/** What a job records about its data (no values). */
export interface DataSummary {
  rows: number;
  dims: number;
  featureNames: string[];
  labelName?: string;
  /** Label classes 0..C−1 when the model has a row of weights per class (multinomial logistic regression). */
  classes?: number;
  /**
   * A classifier's classes as the data holds them, sorted (np.unique's order): class index i is
   * `classLabels[i]`, and the training rounds' labels are those indices.
   */
  classLabels?: (string | number)[];
}

/**
 * One worker's rows, in a SharedArrayBuffer so that the worker's threads read them in place:
 * features (rows × dims float32) first, then labels (rows float32) when present.
 */
export interface ShardData {
  shard: number;
  shards: number;
  /**
   * Global index of the shard's first row, when shards are row ranges of one table (sliceShard);
   * absent for shards planned over bytes (planShards), whose global row numbers nobody knows yet.
   */
  first?: number;
  rows: number;
  dims: number;
  buffer: SharedArrayBuffer;
  features: Float32Array;
  labels?: Float32Array;
  /**
   * Each row's identity in its part, independent of how the data set is sharded (its row index in
   * the part, or any number the source keeps stable for the row, such as its byte offset). The
   * preparation round keys its initialisation sample on (seed, part, position), so the sample is
   * the same whatever the number of workers. Absent: one part, and row i is at `first + i`.
   */
  positions?: Float64Array;
  /** The pieces of parts the rows come from, in row order (piece i's rows follow piece i−1's). */
  pieces?: PieceReport[];
  /**
   * When the labels were read as text: `labels` hold codes, `labelKeys[code]` is the class's key
   * (data/textColumns.ts), until the first training round rewrites them as class indices and sets
   * `labelsAreClasses`. Absent: the labels are the numbers themselves.
   */
  labelKeys?: string[];
  labelsAreClasses?: boolean;
}

/** Rows [start, end) of `rows` rows that shard `shard` of `shards` owns: contiguous, sizes differ by at most one. */
export function shardRange(rows: number, shard: number, shards: number): { start: number; end: number } {
  return { start: Math.floor((shard * rows) / shards), end: Math.floor(((shard + 1) * rows) / shards) };
}

/** Copies rows [start, end) of `data` into a fresh shared buffer. */
export function sliceShard(data: TrainingData, shard: number, shards: number): ShardData {
  const { start, end } = shardRange(data.rows, shard, shards);
  const rows = end - start;
  const dims = data.dims;
  const featureBytes = rows * dims * 4;
  const buffer = new SharedArrayBuffer(featureBytes + (data.labels ? rows * 4 : 0));
  const features = new Float32Array(buffer, 0, rows * dims);
  features.set(data.features.subarray(start * dims, end * dims));
  let labels: Float32Array | undefined;
  if (data.labels) {
    labels = new Float32Array(buffer, featureBytes, rows);
    labels.set(data.labels.subarray(start, end));
  }
  return { shard, shards, first: start, rows, dims, buffer, features, labels };
}

/** Re-creates the typed views of a shard buffer (in a thread that received only the buffer). */
export function shardViews(buffer: SharedArrayBuffer, rows: number, dims: number, hasLabels: boolean) {
  const features = new Float32Array(buffer, 0, rows * dims);
  const labels = hasLabels ? new Float32Array(buffer, rows * dims * 4, rows) : undefined;
  return { features, labels };
}

/** What a worker found in one of its pieces, for the preparation round's bookkeeping. */
export interface PieceReport {
  piece: ShardPiece;
  /** Data rows parsed from the piece. */
  rows: number;
  /** Lines the piece spans (blank lines included), so that a local line becomes a line of the part. */
  lines: number;
}

/**
 * A shard as `loadShard(layout, …)` returns it: the rows of its pieces in order, with a
 * W-independent identity per row (`positions`: a CSV row's line start as a byte offset in its
 * part, a binary or Parquet row's index in its part; the part is its piece's).
 */
export interface LoadedShard extends ShardData {
  pieces: PieceReport[];
  positions: Float64Array;
  /** Per file column read as text (LoadOptions.text): its distinct values, indexed by code. */
  textKeys?: (string[] | undefined)[];
}
