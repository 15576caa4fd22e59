import type { DataError, DataLocation } from '../errors.js';
import type { PieceReport } from './types.js';
import { sliceShard, type ShardData, type TrainingData } from './types.js';
import { mix32 } from '../util/random.js';
import { classKey, sortClasses } from './textColumns.js';

/*
 * What the preparation round learns about the data: each worker summarises its shard, the round's
 * aggregator merges the summaries in shard order. Everything here merges exactly and whatever the
 * split of the rows — counts, minima, maxima, label counts and the initialisation sample exactly,
 * means and M2 to float rounding — so the checks and the initial model do not depend on W or I.
 */

/** One feature column: count, mean and M2 = Σ(x − mean)², as Chan et al.'s parallel formula merges them. */
export interface ColumnStats {
  count: number;
  mean: number;
  m2: number;
  min: number;
  max: number;
}

/**
 * A bottom-k sample: the `size` rows whose key, a hash of (seed, part, position), is smallest,
 * sorted by key (ties by part, then position). Bottom-k of a union is the bottom-k of the parts'
 * bottom-k, so it merges exactly, and a row's key does not depend on which shard read it.
 */
export interface InitSample {
  dims: number;
  keys: Float64Array;
  parts: Float64Array;
  positions: Float64Array;
  /** size × dims, row-major. */
  features: Float32Array;
}

/** A bad value a worker met: where (when its reader said) and what, for the job's reason. */
export interface SummaryError {
  shard: number;
  /** The reader's message (file, place and detail), used when there is no location. */
  message: string;
  detail: string;
  /** The line (or row) in the part, when the reader knew it. */
  row?: number;
  location?: DataLocation;
}

/** A shard's summary, or the merge of several (a merge of summaries is a summary). */
export interface Summary {
  rows: number;
  dims: number;
  columns: ColumnStats[];
  /**
   * Rows per label (present when the data set has a label column), keyed by the class's key
   * (data/textColumns.ts: a number's shortest form, or the text), in sortClasses order.
   */
  labels?: Record<string, number>;
  /** Rows of each summarised shard, in shard order. */
  shardRows: number[];
  pieces: PieceReport[];
  sample: InitSample;
  errors: SummaryError[];
}

/** Hash key of a row in [0, 1), 53 bits, from two independent 32-bit chains. */
export function sampleKey(seed: number, part: number, position: number): number {
  const lo = position % 4294967296 >>> 0;
  const hi = Math.floor(position / 4294967296) >>> 0;
  let a = mix32((seed ^ 0x9e3779b9) >>> 0);
  a = mix32(a ^ part);
  a = mix32(a ^ lo);
  a = mix32(a ^ hi);
  let b = mix32((seed ^ 0x7f4a7c15) >>> 0);
  b = mix32(b ^ hi);
  b = mix32(b ^ part);
  b = mix32(b ^ lo);
  return (a * 2097152 + (b >>> 11)) / 9007199254740992;
}

export function emptySample(dims: number): InitSample {
  return { dims, keys: new Float64Array(0), parts: new Float64Array(0), positions: new Float64Array(0), features: new Float32Array(0) };
}

function emptyColumns(dims: number): ColumnStats[] {
  return Array.from({ length: dims }, () => ({ count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity }));
}

/**
 * Rows per block of the column statistics: each block's count, mean and M2 are computed in two
 * passes (its mean first, then squared deviations from it, which loses less than a running
 * update), and the blocks are merged in order with Chan et al.'s formula (mergeSummaries). Fixed
 * blocks make the statistics the same however many threads summarise the shard.
 */
export const STATS_BLOCK_ROWS = 1 << 16;

/** The part of a shard's rows a thread summarises: rows [start, end), with what keys them. */
export interface RowRange {
  features: Float32Array;
  labels?: Float32Array;
  dims: number;
  /** Each row's position in its part; absent: row i is at `first + i`. */
  positions?: Float64Array;
  first?: number;
  /** Rows per piece of the shard, in order, with the piece's part. */
  pieces: { part: number; rows: number }[];
  start: number;
  end: number;
}

/** What a thread learns of its rows: the column statistics of each block, label counts, the bottom-k. */
export interface RangeSummary {
  blocks: ColumnStats[][];
  labels?: [number, number][];
  sample: InitSample;
}

/**
 * Per-column sums, minima, maxima and M2 of a block of rows, as float64 (each `dims` long); a block's
 * mean is its sum / rows.
 */
export interface ColumnMoments {
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  m2: Float64Array;
}

/**
 * A faster computation of columnMoments with the same results bit for bit (the WebAssembly kernel an
 * inner thread passes: src/kernels/columnStats.ts), or undefined where it cannot take the rows.
 */
export type MomentsKernel = (features: Float32Array, dims: number, a: number, b: number) => ColumnMoments | undefined;

/** Summarises rows [start, end) of a shard (start a multiple of STATS_BLOCK_ROWS): a thread's share. */
export function summarizeRange(range: RowRange, seed: number, sampleSize: number, kernel?: MomentsKernel): RangeSummary {
  const { features, labels, dims, start, end } = range;
  const blocks: ColumnStats[][] = [];
  for (let a = start; a < end; a += STATS_BLOCK_ROWS) blocks.push(blockStats(features, dims, a, Math.min(end, a + STATS_BLOCK_ROWS), kernel));
  let labelCounts: [number, number][] | undefined;
  if (labels) {
    const counts = new Map<number, number>();
    for (let i = start; i < end; i++) counts.set(labels[i]!, (counts.get(labels[i]!) ?? 0) + 1);
    labelCounts = [...counts];
  }
  return { blocks, ...(labelCounts ? { labels: labelCounts } : {}), sample: bottomK(range, seed, sampleSize) };
}

/** Count, mean, M2, min and max of each column over rows [a, b). */
function blockStats(features: Float32Array, dims: number, a: number, b: number, kernel?: MomentsKernel): ColumnStats[] {
  const rows = b - a;
  const { sum, min, max, m2 } = kernel?.(features, dims, a, b) ?? columnMoments(features, dims, a, b);
  return Array.from({ length: dims }, (_, j) => ({ count: rows, mean: sum[j]! / rows, m2: m2[j]!, min: min[j]!, max: max[j]! }));
}

/**
 * The column moments of rows [a, b), in two passes: sums, minima and maxima, then the squared
 * deviations from the means (sum / rows). The plain loop, and the definition the WebAssembly kernel
 * must reproduce.
 */
export function columnMoments(features: Float32Array, dims: number, a: number, b: number): ColumnMoments {
  const rows = b - a;
  const sum = new Float64Array(dims);
  const min = new Float64Array(dims).fill(Infinity);
  const max = new Float64Array(dims).fill(-Infinity);
  for (let i = a; i < b; i++) {
    const base = i * dims;
    for (let j = 0; j < dims; j++) {
      const v = features[base + j]!;
      sum[j] += v;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  const mean = sum.map((x) => x / rows);
  const m2 = new Float64Array(dims);
  for (let i = a; i < b; i++) {
    const base = i * dims;
    for (let j = 0; j < dims; j++) {
      const d = features[base + j]! - mean[j]!;
      m2[j] += d * d;
    }
  }
  return { sum, min, max, m2 };
}

/** The shard's rows as ranges summarised: `ranges` of whole stats blocks, in row order. */
export function rangesOf(rows: number, ranges: number): { start: number; end: number }[] {
  const blocks = Math.ceil(rows / STATS_BLOCK_ROWS);
  const out: { start: number; end: number }[] = [];
  for (let t = 0; t < ranges; t++) {
    const start = Math.min(rows, Math.floor((t * blocks) / ranges) * STATS_BLOCK_ROWS);
    const end = Math.min(rows, Math.floor(((t + 1) * blocks) / ranges) * STATS_BLOCK_ROWS);
    if (end > start) out.push({ start, end });
  }
  return out;
}

/** The shard's pieces as summarizeRange takes them. */
export function piecesOf(shard: ShardData): { part: number; rows: number }[] {
  return piecesReported(shard).map((p) => ({ part: p.piece.part, rows: p.rows }));
}

function piecesReported(shard: ShardData): PieceReport[] {
  const first = shard.first ?? 0;
  return shard.pieces ?? [{ piece: { part: 0, start: first, end: first + shard.rows }, rows: shard.rows, lines: shard.rows }];
}

/**
 * Summarises one loaded shard: per feature column count, mean, M2 (per block of STATS_BLOCK_ROWS
 * rows, merged in order), min and max; label counts; the shard's bottom-`sampleSize` rows by key.
 * `summaries` are the shard's ranges already summarised (by its threads, over `rangesOf`), merged
 * here in order; without them the whole shard is summarised here, to the same result.
 */
export function summarizeShard(shard: ShardData, options: { shard: number; seed: number; sampleSize: number }, summaries?: RangeSummary[]): Summary {
  const { rows, dims } = shard;
  const parts =
    summaries ??
    [summarizeRange({ features: shard.features, ...(shard.labels ? { labels: shard.labels } : {}), dims, ...(shard.positions ? { positions: shard.positions } : {}), first: shard.first ?? 0, pieces: piecesOf(shard), start: 0, end: rows }, options.seed, options.sampleSize)];
  let columns = emptyColumns(dims);
  for (const part of parts) for (const block of part.blocks) columns = columns.map((c, j) => mergeColumn(c, block[j]!));
  let labelCounts: Record<string, number> | undefined;
  if (shard.labels) {
    // Codes (labels read as text) are named by the shard's keys; numbers are their own keys.
    const keyOf = (v: number) => (shard.labelKeys ? shard.labelKeys[v]! : String(v));
    const counts = new Map<string, number>();
    for (const part of parts) for (const [v, n] of part.labels ?? []) counts.set(keyOf(v), (counts.get(keyOf(v)) ?? 0) + n);
    labelCounts = sortedCounts(counts);
  }
  let sample = emptySample(dims);
  for (const part of parts) sample = mergeSamples(sample, part.sample, options.sampleSize);
  return {
    rows,
    dims,
    columns,
    ...(labelCounts ? { labels: labelCounts } : {}),
    shardRows: [rows],
    pieces: piecesReported(shard),
    sample,
    errors: [],
  };
}

/** The summary of a shard that could not be read: no rows, the error to report. */
export function errorSummary(shard: number, dims: number, error: DataError): Summary {
  return {
    rows: 0,
    dims,
    columns: emptyColumns(dims),
    shardRows: [0],
    pieces: [],
    sample: emptySample(dims),
    errors: [{ shard, message: error.message, detail: error.detail, ...(error.row !== undefined ? { row: error.row } : {}), ...(error.location ? { location: error.location } : {}) }],
  };
}

/** The range's rows with the smallest keys: a max-heap of at most `size` rows, so O(rows) when most miss. */
function bottomK(range: RowRange, seed: number, size: number): InitSample {
  const { dims, start, end } = range;
  if (size <= 0 || end <= start) return emptySample(dims);
  const keys: number[] = [];
  const parts: number[] = [];
  const positions: number[] = [];
  const heap: number[] = []; // indices into keys/parts/positions; rows[h] below
  const rowOf: number[] = [];
  const above = (a: number, b: number) => compare(keys[a]!, parts[a]!, positions[a]!, keys[b]!, parts[b]!, positions[b]!) > 0;
  const siftUp = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!above(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < heap.length && above(heap[l]!, heap[top]!)) top = l;
      if (r < heap.length && above(heap[r]!, heap[top]!)) top = r;
      if (top === i) return;
      [heap[i], heap[top]] = [heap[top]!, heap[i]!];
      i = top;
    }
  };

  // The piece holding row `start`, and where it ends.
  const pieces = range.pieces;
  let pieceIndex = 0;
  let pieceEnd = pieces[0]?.rows ?? end;
  while (start >= pieceEnd && pieceIndex < pieces.length - 1) pieceEnd += pieces[++pieceIndex]!.rows;
  const first = range.first ?? 0;
  for (let i = start; i < end; i++) {
    while (i >= pieceEnd && pieceIndex < pieces.length - 1) pieceEnd += pieces[++pieceIndex]!.rows;
    const part = pieces[pieceIndex]?.part ?? 0;
    const position = range.positions ? range.positions[i]! : first + i;
    const key = sampleKey(seed, part, position);
    if (heap.length < size) {
      keys.push(key);
      parts.push(part);
      positions.push(position);
      rowOf.push(i);
      heap.push(keys.length - 1);
      siftUp(heap.length - 1);
    } else {
      const top = heap[0]!;
      if (compare(key, part, position, keys[top]!, parts[top]!, positions[top]!) >= 0) continue;
      // Reuse the evicted slot: the arrays never grow past `size`.
      keys[top] = key;
      parts[top] = part;
      positions[top] = position;
      rowOf[top] = i;
      siftDown(0);
    }
  }
  const order = heap.slice().sort((a, b) => compare(keys[a]!, parts[a]!, positions[a]!, keys[b]!, parts[b]!, positions[b]!));
  const m = order.length;
  const out: InitSample = {
    dims,
    keys: new Float64Array(m),
    parts: new Float64Array(m),
    positions: new Float64Array(m),
    features: new Float32Array(m * dims),
  };
  order.forEach((slot, i) => {
    out.keys[i] = keys[slot]!;
    out.parts[i] = parts[slot]!;
    out.positions[i] = positions[slot]!;
    const row = rowOf[slot]!;
    out.features.set(range.features.subarray(row * dims, row * dims + dims), i * dims);
  });
  return out;
}

function compare(ka: number, pa: number, qa: number, kb: number, pb: number, qb: number): number {
  return ka !== kb ? ka - kb : pa !== pb ? pa - pb : qa - qb;
}

/**
 * Merges `b` into `a`'s place, `a` first (call it in shard order). Column means and M2 use the
 * parallel formula of Chan, Golub and LeVeque ("Updating Formulae and a Pairwise Algorithm for
 * Computing Sample Variances", Stanford STAN-CS-79-773, 1979): with δ = mean_b − mean_a and
 * n = n_a + n_b, mean = mean_a + δ·n_b/n and M2 = M2_a + M2_b + δ²·n_a·n_b/n.
 */
export function mergeSummaries(a: Summary, b: Summary, sampleSize: number): Summary {
  if (a.dims !== b.dims) throw new RangeError(`summaries of ${a.dims} and ${b.dims} columns do not merge`);
  const columns = a.columns.map((x, j) => mergeColumn(x, b.columns[j]!));
  let labels: Record<string, number> | undefined;
  if (a.labels || b.labels) {
    const counts = new Map<string, number>();
    for (const side of [a.labels, b.labels]) for (const [v, n] of Object.entries(side ?? {})) counts.set(v, (counts.get(v) ?? 0) + n);
    labels = sortedCounts(counts);
  }
  return {
    rows: a.rows + b.rows,
    dims: a.dims,
    columns,
    ...(labels ? { labels } : {}),
    shardRows: [...a.shardRows, ...b.shardRows],
    pieces: [...a.pieces, ...b.pieces],
    sample: mergeSamples(a.sample, b.sample, sampleSize),
    errors: [...a.errors, ...b.errors],
  };
}

/** Label counts in class order: the same object whatever the order the shards met them in. */
function sortedCounts(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries(sortClasses(counts.keys()).map((c) => [classKey(c), counts.get(classKey(c))!]));
}

function mergeColumn(a: ColumnStats, b: ColumnStats): ColumnStats {
  if (b.count === 0) return { ...a };
  if (a.count === 0) return { ...b };
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  return {
    count,
    mean: a.mean + (delta * b.count) / count,
    m2: a.m2 + b.m2 + (delta * delta * a.count * b.count) / count,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  };
}

/** The bottom `size` of two sorted samples: a merge of sorted runs, cut at `size`. */
function mergeSamples(a: InitSample, b: InitSample, size: number): InitSample {
  const { dims } = a;
  const m = Math.min(size, a.keys.length + b.keys.length);
  const out: InitSample = { dims, keys: new Float64Array(m), parts: new Float64Array(m), positions: new Float64Array(m), features: new Float32Array(m * dims) };
  let i = 0;
  let j = 0;
  for (let n = 0; n < m; n++) {
    const takeA = j >= b.keys.length || (i < a.keys.length && compare(a.keys[i]!, a.parts[i]!, a.positions[i]!, b.keys[j]!, b.parts[j]!, b.positions[j]!) <= 0);
    const from = takeA ? a : b;
    const k = takeA ? i++ : j++;
    out.keys[n] = from.keys[k]!;
    out.parts[n] = from.parts[k]!;
    out.positions[n] = from.positions[k]!;
    out.features.set(from.features.subarray(k * dims, k * dims + dims), n * dims);
  }
  return out;
}

/* Encoding: the sample as a binary body (keys, parts, positions as float64, features as float32
 * padded to 8 bytes), everything else as JSON, which keeps float64 values exactly. */

export type SummaryMeta = Omit<Summary, 'sample' | 'columns'> & {
  sampleRows: number;
  /** [count, mean, m2, min, max] per column; min and max null for an empty column (JSON has no ∞). */
  columns: [number, number, number, number | null, number | null][];
};

export function encodeSummary(summary: Summary): { meta: SummaryMeta; body: Float64Array } {
  const { sample, columns, ...rest } = summary;
  const m = sample.keys.length;
  const featureWords = Math.ceil((m * sample.dims) / 2);
  const body = new Float64Array(3 * m + featureWords);
  body.set(sample.keys, 0);
  body.set(sample.parts, m);
  body.set(sample.positions, 2 * m);
  new Float32Array(body.buffer, 3 * m * 8, m * sample.dims).set(sample.features);
  const meta: SummaryMeta = {
    ...rest,
    sampleRows: m,
    columns: columns.map((c) => [c.count, c.mean, c.m2, c.count > 0 ? c.min : null, c.count > 0 ? c.max : null]),
  };
  return { meta, body };
}

export function decodeSummary(meta: SummaryMeta, body: Float64Array): Summary {
  const { sampleRows: m, columns, ...rest } = meta;
  const dims = meta.dims;
  if (body.length < 3 * m + Math.ceil((m * dims) / 2)) throw new RangeError(`summary body of ${body.length} words is too short for ${m} sample rows`);
  const bytes = new Uint8Array(body.buffer, body.byteOffset + 3 * m * 8, m * dims * 4).slice();
  return {
    ...rest,
    columns: columns.map(([count, mean, m2, min, max]) => ({ count, mean, m2, min: min ?? Infinity, max: max ?? -Infinity })),
    sample: {
      dims,
      keys: body.slice(0, m),
      parts: body.slice(m, 2 * m),
      positions: body.slice(2 * m, 3 * m),
      features: new Float32Array(bytes.buffer),
    },
  };
}

/** What the preparation round knows of the whole data set: the merged summary and the columns' names. */
export interface PreparedData extends Summary {
  /** The data set, for messages. */
  source: string;
  featureNames: string[];
  labelName?: string;
}

/**
 * The summary one process would get from `data` split into `shards` (default 1), merged in
 * shard order: what the preparation round computes, for embedding and as the tests' reference.
 */
export function summarizeData(data: TrainingData, options: { seed: number; sampleSize: number; shards?: number }): PreparedData {
  const shards = options.shards ?? 1;
  let merged: Summary | undefined;
  for (let s = 0; s < shards; s++) {
    const one = summarizeShard(sliceShard(data, s, shards), { shard: s, seed: options.seed, sampleSize: options.sampleSize });
    merged = merged ? mergeSummaries(merged, one, options.sampleSize) : one;
  }
  return { ...merged!, source: data.source, featureNames: data.featureNames, ...(data.labelName !== undefined ? { labelName: data.labelName } : {}) };
}
