import { RowProblem } from './rowProblem.js';
import type { LoadedShard, PieceReport } from './types.js';
import { isHeldOut, type Holdout } from './holdout.js';
import { TextDictionary, type TextMode } from './textColumns.js';

/**
 * Values per chunk, at most: small next to a large shard, large enough that chunk bookkeeping
 * costs nothing. Chunks start at FIRST_CHUNK values and double up to it, so that a small shard's
 * load allocates in proportion to its rows: a worker container loads shard after shard when
 * workers outnumber containers, and three 1 Mi-value chunks per load (16 MB, mostly unused) made
 * the local runtime's peak memory grow with the number of workers (issue 20 defect 14).
 */
const CHUNK = 1 << 20;
const FIRST_CHUNK = 1 << 12;

/**
 * Where a shard's parsers put its rows as they parse them: features (the label column left out)
 * and labels in float32 chunks, each row's position in float64 chunks. `finish` moves them into
 * one SharedArrayBuffer of exactly the shard's size, chunk by chunk, so the shard is never held
 * as text nor twice as a whole in JavaScript arrays.
 */
/** Where parsers put validated rows: a shard's buffer (RowSink), or a writer (convert). */
export interface RowTarget {
  /** `coded`: the parser already put text columns' codes in `values` (CSV); else they are numbers to encode (binary, Parquet). */
  push(values: Float64Array | Float32Array, position: number, coded?: boolean): void;
  /** Awaited between chunks of input: a writer lets its output drain. */
  drain?(): Promise<void>;
}

/**
 * Room for a shard's rows reserved where its threads will read them (the thread pool's WebAssembly
 * memory), so that loading writes them there once instead of copying them in afterwards. Only the
 * pages rows are written to are committed.
 */
export interface ShardReservation {
  features: Float32Array;
  labels?: Float32Array;
  /** Gives the room back (the load failed). */
  release(): void;
}

/** Reserves room for `featureValues` feature values and `labelValues` labels, or says no (undefined). */
export type ShardReserver = (featureValues: number, labelValues: number) => ShardReservation | undefined;

/** ES2024's growable SharedArrayBuffer (Node ≥ 20), typed here: the project's lib is ES2022. */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  readonly maxByteLength: number;
  grow(byteLength: number): void;
}
const GrowableSharedArrayBuffer = SharedArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

/** How much a growable shard buffer grows at a time: pages only count once rows are written. */
const GROW_BYTES = 16 << 20;

/**
 * Where a shard's parsers put its rows as they parse them. With `maxRows` (an upper bound from
 * the pieces' sizes) the features go straight into a growable SharedArrayBuffer reserved for that
 * bound (address space, not memory: pages are committed as rows are written), so the shard is
 * never held twice; without it, into float32 chunks moved into an exact buffer at the end. Labels
 * and positions go into chunks, copied at the end (a few bytes per row).
 */
/** How a sink treats the columns beyond features and the label: columns to leave out, columns read as text. */
export interface ColumnOptions {
  /** Columns neither feature nor label (--drop, not in --features, an unnamed index column): not even parsed. */
  skip?: readonly number[];
  /** Read the label as text (any class: strings, booleans, integers in any range), coded by the shard's dictionary. */
  labelText?: boolean;
  /** Further columns read as text (predict's ids), kept as codes in the features, with their dictionaries. */
  text?: readonly { column: number; mode: TextMode }[];
  /** Keep only the training rows, or only the held-out ones (data/holdout.ts). */
  holdout?: Holdout;
}

/** The 0/1/2 kinds a CSV parser needs (csv.ts COLUMN_*), or undefined when every column is a number. */
export function columnKinds(cols: number, labelIndex: number | undefined, options: ColumnOptions): Uint8Array | undefined {
  if (!options.skip?.length && !options.labelText && !options.text?.length) return undefined;
  const kinds = new Uint8Array(cols);
  for (const c of options.skip ?? []) kinds[c] = 2;
  if (options.labelText && labelIndex !== undefined) kinds[labelIndex] = 1;
  for (const t of options.text ?? []) kinds[t.column] = 1;
  return kinds;
}

/** The columns that are features, in file order. */
export function featureColumns(cols: number, labelIndex: number | undefined, skip: readonly number[] = []): Int32Array {
  const out: number[] = [];
  for (let c = 0; c < cols; c++) if (c !== labelIndex && !skip.includes(c)) out.push(c);
  return Int32Array.from(out);
}

export class RowSink implements RowTarget {
  rows = 0;
  private readonly chunks = new ChunkedFloats(Float32Array);
  private readonly labels = new ChunkedFloats(Float32Array);
  private readonly positions = new ChunkedFloats(Float64Array);
  private readonly growable: GrowableSharedArrayBuffer | undefined;
  private readonly reservation: ShardReservation | undefined;
  private view: Float32Array | undefined;
  /** Labels straight into the reservation, when there is one. */
  private labelView: Float32Array | undefined;
  private k = 0;
  readonly dims: number;
  /** The feature columns, in order. */
  private readonly featureCols: Int32Array;
  /** Per column, its dictionary when read as text (the CSV parser codes through these). */
  readonly texts: (TextDictionary | undefined)[];
  readonly kinds: Uint8Array | undefined;
  private readonly textCols: number[];
  /** The label's dictionary, when the label is read as text. */
  readonly labelDict: TextDictionary | undefined;
  /** The part the rows pushed next come from (the reader sets it per piece): it keys the holdout. */
  part = 0;
  private readonly holdout: Holdout | undefined;

  /** `labelIndex`: the column that goes to labels, if any; `cols`: columns per row in the file. */
  constructor(
    readonly cols: number,
    readonly labelIndex: number | undefined,
    /** Says what is wrong with a label, if anything (every value is already a finite float32). */
    private readonly labelRule?: (label: number) => string | undefined,
    maxRows?: number,
    /** Where the rows go when it can hold `maxRows` (the thread pool's WebAssembly memory), instead of a buffer of the sink's own. */
    reserve?: ShardReserver,
    columns: ColumnOptions = {},
  ) {
    this.featureCols = featureColumns(cols, labelIndex, columns.skip);
    this.dims = this.featureCols.length;
    this.kinds = columnKinds(cols, labelIndex, columns);
    this.texts = new Array(cols).fill(undefined);
    if (columns.labelText && labelIndex !== undefined) {
      this.labelDict = new TextDictionary(labelIndex, 'label', { most: MAX_LABEL_VALUES, why: 'a label column holds classes, not ids or measurements' });
      this.texts[labelIndex] = this.labelDict;
    }
    for (const t of columns.text ?? []) this.texts[t.column] = new TextDictionary(t.column, t.mode);
    this.textCols = this.texts.flatMap((d, c) => (d ? [c] : []));
    this.holdout = columns.holdout;
    const bounded = maxRows !== undefined && Number.isFinite(maxRows);
    this.reservation = bounded && reserve ? reserve(Math.ceil(maxRows) * this.dims, labelIndex === undefined ? 0 : Math.ceil(maxRows)) : undefined;
    if (this.reservation) {
      this.view = this.reservation.features;
      this.labelView = this.reservation.labels;
    } else if (bounded) {
      const maxByteLength = Math.max(4, Math.ceil(maxRows) * (this.dims + (labelIndex === undefined ? 0 : 1)) * 4);
      this.growable = new GrowableSharedArrayBuffer(0, { maxByteLength });
      this.view = new Float32Array(this.growable);
    }
  }

  /** Row `values[0..cols)`, already validated. */
  push(values: Float64Array | Float32Array, position: number, coded = false): void {
    if (this.holdout !== undefined && this.skips(position)) return;
    const label = this.labelIndex;
    if (!coded) for (const c of this.textCols) values[c] = this.texts[c]!.codeOfNumber(values[c]!);
    if (label !== undefined && this.labelRule && !this.labelDict) {
      const problem = this.labelRule(values[label]!);
      if (problem !== undefined) throw new RowProblem(problem, label);
    }
    const view = this.view;
    const featureCols = this.featureCols;
    if (view) {
      if (this.k + this.dims > view.length) this.grow((this.k + this.dims) * 4);
      for (let j = 0; j < featureCols.length; j++) view[this.k++] = values[featureCols[j]!]!;
      if (label !== undefined) {
        if (this.labelView) this.labelView[this.rows] = values[label]!;
        else this.labels.push(values[label]!);
      }
    } else {
      const features = this.chunks;
      for (let j = 0; j < featureCols.length; j++) features.push(values[featureCols[j]!]!);
      if (label !== undefined) this.labels.push(values[label]!);
    }
    this.positions.push(position);
    this.rows++;
  }

  /**
   * `rows` rows parsed elsewhere (features without the label column, labels, positions), after
   * the label rule: the first row it refuses and why, with the rows before it placed.
   */
  pushRows(block: { features: Float32Array; labels?: Float32Array; positions: Float64Array }, rows: number, labelKeys?: readonly string[]): { row: number; problem: string } | undefined {
    if (this.holdout !== undefined) rows = this.compact(block, rows);
    let take = rows;
    let refused: { row: number; problem: string } | undefined;
    if (block.labels && labelKeys && this.labelDict) {
      // The block's codes (its own dictionary, made in a thread) become the shard's.
      const shardCode: number[] = [];
      for (let r = 0; r < rows; r++) {
        const code = block.labels[r]!;
        try {
          block.labels[r] = shardCode[code] ??= this.labelDict.code(labelKeys[code]!);
        } catch (error) {
          if (!(error instanceof RowProblem)) throw error;
          refused = { row: r, problem: error.message };
          take = r;
          break;
        }
      }
    } else if (block.labels && this.labelRule) {
      for (let r = 0; r < rows; r++) {
        const problem = this.labelRule(block.labels[r]!);
        if (problem !== undefined) {
          refused = { row: r, problem };
          take = r;
          break;
        }
      }
    }
    const values = take * this.dims;
    const features = block.features.subarray(0, values);
    if (this.view) {
      if (this.k + values > this.view.length) this.grow((this.k + values) * 4);
      this.view.set(features, this.k);
      this.k += values;
    } else {
      for (let i = 0; i < values; i++) this.chunks.push(features[i]!);
    }
    if (block.labels) {
      if (this.labelView) this.labelView.set(block.labels.subarray(0, take), this.rows);
      else for (let r = 0; r < take; r++) this.labels.push(block.labels[r]!);
    }
    for (let r = 0; r < take; r++) this.positions.push(block.positions[r]!);
    this.rows += take;
    return refused;
  }

  /** Whether the row at `position` of the current part is on the side this sink leaves out. */
  private skips(position: number): boolean {
    const held = isHeldOut(this.holdout!, this.part, position);
    return this.holdout!.keep === 'train' ? held : !held;
  }

  /** Moves the block's kept rows to its front, in order; returns how many there are. */
  private compact(block: { features: Float32Array; labels?: Float32Array; positions: Float64Array }, rows: number): number {
    const dims = this.dims;
    let kept = 0;
    for (let r = 0; r < rows; r++) {
      if (this.skips(block.positions[r]!)) continue;
      if (kept !== r) {
        block.features.copyWithin(kept * dims, r * dims, (r + 1) * dims);
        if (block.labels) block.labels[kept] = block.labels[r]!;
        block.positions[kept] = block.positions[r]!;
      }
      kept++;
    }
    return kept;
  }

  /** Bytes of the sink's own chunks (features without a reservation, labels, positions) until `finish`. */
  get chunkBytes(): number {
    return this.chunks.allocatedBytes + this.labels.allocatedBytes + this.positions.allocatedBytes;
  }

  /** Gives back what the sink reserved, when the load fails. */
  abandon(): void {
    this.reservation?.release();
  }

  private grow(bytes: number): void {
    if (!this.growable) throw new RangeError(`shard buffer: ${bytes} bytes exceed the ${this.view!.length * 4} reserved`);
    const buffer = this.growable;
    if (bytes > buffer.maxByteLength) throw new RangeError(`shard buffer: ${bytes} bytes exceed the ${buffer.maxByteLength} reserved`);
    buffer.grow(Math.min(buffer.maxByteLength, Math.max(bytes, buffer.byteLength + GROW_BYTES)));
  }

  finish(shard: number, shards: number, pieces: PieceReport[]): LoadedShard {
    const { rows, dims } = this;
    const hasLabels = this.labelIndex !== undefined;
    const featureBytes = rows * dims * 4;
    const bytes = featureBytes + (hasLabels ? rows * 4 : 0);
    let buffer: SharedArrayBuffer;
    if (this.reservation) {
      const features = this.reservation.features.subarray(0, rows * dims);
      const labels = this.reservation.labels?.subarray(0, rows);
      this.view = undefined;
      this.labelView = undefined;
      // Shared, so that the threads summarising the shard read them in place.
      const positions = new Float64Array(new SharedArrayBuffer(rows * 8));
      this.positions.drainInto(positions);
      return { shard, shards, rows, dims, buffer: features.buffer as SharedArrayBuffer, features, ...(labels ? { labels } : {}), ...this.keysOut(), pieces, positions };
    } else if (this.growable) {
      buffer = this.growable;
      if (buffer.byteLength < bytes) this.growable.grow(bytes);
      this.view = undefined;
    } else {
      buffer = new SharedArrayBuffer(bytes);
      this.chunks.drainInto(new Float32Array(buffer, 0, rows * dims));
    }
    const features = new Float32Array(buffer, 0, rows * dims);
    let labels: Float32Array | undefined;
    if (hasLabels) {
      labels = new Float32Array(buffer, featureBytes, rows);
      this.labels.drainInto(labels);
    }
    // Shared, so that the threads summarising the shard read them in place.
    const positions = new Float64Array(new SharedArrayBuffer(rows * 8));
    this.positions.drainInto(positions);
    return { shard, shards, rows, dims, buffer, features, ...(labels ? { labels } : {}), ...this.keysOut(), pieces, positions };
  }

  private keysOut(): { labelKeys?: string[]; textKeys?: (string[] | undefined)[] } {
    const others = this.textCols.filter((c) => c !== this.labelIndex);
    return {
      ...(this.labelDict ? { labelKeys: this.labelDict.keys } : {}),
      ...(others.length ? { textKeys: this.texts.map((d, c) => (d && c !== this.labelIndex ? d.keys : undefined)) } : {}),
    };
  }
}

/**
 * Most distinct labels a shard may hold: a column with more is an id or a measurement, not a
 * class, and a model with a row of weights per class would not be what its user meant.
 */
export const MAX_LABEL_VALUES = 1000;

class ChunkedFloats<T extends Float32Array | Float64Array> {
  private readonly full: T[] = [];
  private current: T;
  private k = 0;

  constructor(private readonly make: new (n: number) => T) {
    // Nothing until the first value: a sink without labels never pushes one.
    this.current = new make(0);
  }

  /** Bytes the chunks hold (used or not). */
  get allocatedBytes(): number {
    let bytes = this.current.byteLength;
    for (const chunk of this.full) bytes += chunk.byteLength;
    return bytes;
  }

  push(v: number): void {
    if (this.k === this.current.length) {
      if (this.k > 0) this.full.push(this.current);
      this.current = new this.make(Math.min(CHUNK, Math.max(FIRST_CHUNK, 2 * this.current.length)));
      this.k = 0;
    }
    this.current[this.k++] = v;
  }

  /** Copies everything into `out` and lets go of the chunks as it goes. */
  drainInto(out: { set(values: ArrayLike<number>, offset?: number): void }): void {
    let at = 0;
    while (this.full.length > 0) {
      const chunk = this.full.shift()!;
      out.set(chunk, at);
      at += chunk.length;
    }
    out.set(this.current.subarray(0, this.k), at);
    this.current = new this.make(0);
    this.k = 0;
  }
}

/**
 * Rows of `from` features each, as rows of the features `order` names (the j-th taken from column
 * `order[j]`), into `out` (a new array by default): a model's features in its own order.
 */
export function reorderRows(features: Float32Array, rows: number, from: number, order: ArrayLike<number>, out: Float32Array = new Float32Array(rows * order.length)): Float32Array {
  const dims = order.length;
  for (let i = 0; i < rows; i++) for (let j = 0; j < dims; j++) out[i * dims + j] = features[i * from + order[j]!]!;
  return out.subarray(0, rows * dims);
}
