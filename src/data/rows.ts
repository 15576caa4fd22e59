import type { LoadedShard, PieceReport } from './layout.js';

/** Values per chunk: small next to a shard, large enough that chunk bookkeeping costs nothing. */
const CHUNK = 1 << 20;

/**
 * Where a shard's parsers put its rows as they parse them: features (the label column left out)
 * and labels in float32 chunks, each row's position in float64 chunks. `finish` moves them into
 * one SharedArrayBuffer of exactly the shard's size, chunk by chunk, so the shard is never held
 * as text nor twice as a whole in JavaScript arrays.
 */
/** A row the sink refuses (a label outside the allowed classes); parsers add where it is. */
export class RowProblem extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

/** Where parsers put validated rows: a shard's buffer (RowSink), or a writer (convert). */
export interface RowTarget {
  push(values: Float64Array | Float32Array, position: number): void;
  /** Awaited between chunks of input: a writer lets its output drain. */
  drain?(): Promise<void>;
}

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
export class RowSink implements RowTarget {
  rows = 0;
  private readonly chunks = new ChunkedFloats(Float32Array);
  private readonly labels = new ChunkedFloats(Float32Array);
  private readonly positions = new ChunkedFloats(Float64Array);
  private readonly growable: GrowableSharedArrayBuffer | undefined;
  private view: Float32Array | undefined;
  private k = 0;
  readonly dims: number;

  /** `labelIndex`: the column that goes to labels, if any; `cols`: columns per row in the file. */
  constructor(
    readonly cols: number,
    readonly labelIndex: number | undefined,
    /** Says what is wrong with a label, if anything (every value is already a finite float32). */
    private readonly labelRule?: (label: number) => string | undefined,
    maxRows?: number,
  ) {
    this.dims = labelIndex === undefined ? cols : cols - 1;
    if (maxRows !== undefined && Number.isFinite(maxRows)) {
      const maxByteLength = Math.max(4, Math.ceil(maxRows) * (this.dims + (labelIndex === undefined ? 0 : 1)) * 4);
      this.growable = new GrowableSharedArrayBuffer(0, { maxByteLength });
      this.view = new Float32Array(this.growable);
    }
  }

  /** Row `values[0..cols)`, already validated. */
  push(values: Float64Array | Float32Array, position: number): void {
    const label = this.labelIndex;
    if (label !== undefined && this.labelRule) {
      const problem = this.labelRule(values[label]!);
      if (problem !== undefined) throw new RowProblem(problem, label);
    }
    const view = this.view;
    if (view) {
      if (this.k + this.dims > view.length) this.grow((this.k + this.dims) * 4);
      for (let c = 0; c < this.cols; c++) {
        if (c === label) this.labels.push(values[c]!);
        else view[this.k++] = values[c]!;
      }
    } else {
      const features = this.chunks;
      for (let c = 0; c < this.cols; c++) {
        if (c === label) this.labels.push(values[c]!);
        else features.push(values[c]!);
      }
    }
    this.positions.push(position);
    this.rows++;
  }

  private grow(bytes: number): void {
    const buffer = this.growable!;
    if (bytes > buffer.maxByteLength) throw new RangeError(`shard buffer: ${bytes} bytes exceed the ${buffer.maxByteLength} reserved`);
    buffer.grow(Math.min(buffer.maxByteLength, Math.max(bytes, buffer.byteLength + GROW_BYTES)));
  }

  finish(shard: number, shards: number, pieces: PieceReport[]): LoadedShard {
    const { rows, dims } = this;
    const hasLabels = this.labelIndex !== undefined;
    const featureBytes = rows * dims * 4;
    const bytes = featureBytes + (hasLabels ? rows * 4 : 0);
    let buffer: SharedArrayBuffer;
    if (this.growable) {
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
    const positions = new Float64Array(rows);
    this.positions.drainInto(positions);
    return { shard, shards, rows, dims, buffer, features, ...(labels ? { labels } : {}), pieces, positions };
  }
}

class ChunkedFloats<T extends Float32Array | Float64Array> {
  private readonly full: T[] = [];
  private current: T;
  private k = 0;

  constructor(private readonly make: new (n: number) => T) {
    this.current = new make(CHUNK);
  }

  push(v: number): void {
    if (this.k === CHUNK) {
      this.full.push(this.current);
      this.current = new this.make(CHUNK);
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
