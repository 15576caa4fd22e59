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

export class RowSink implements RowTarget {
  rows = 0;
  private readonly features = new ChunkedFloats(Float32Array);
  private readonly labels = new ChunkedFloats(Float32Array);
  private readonly positions = new ChunkedFloats(Float64Array);
  readonly dims: number;

  /** `labelIndex`: the column that goes to labels, if any; `cols`: columns per row in the file. */
  constructor(
    readonly cols: number,
    readonly labelIndex: number | undefined,
    /** Says what is wrong with a label, if anything (every value is already a finite float32). */
    private readonly labelRule?: (label: number) => string | undefined,
  ) {
    this.dims = labelIndex === undefined ? cols : cols - 1;
  }

  /** Row `values[0..cols)`, already validated. */
  push(values: Float64Array | Float32Array, position: number): void {
    const label = this.labelIndex;
    if (label !== undefined && this.labelRule) {
      const problem = this.labelRule(values[label]!);
      if (problem !== undefined) throw new RowProblem(problem, label);
    }
    const features = this.features;
    for (let c = 0; c < this.cols; c++) {
      if (c === label) this.labels.push(values[c]!);
      else features.push(values[c]!);
    }
    this.positions.push(position);
    this.rows++;
  }

  finish(shard: number, shards: number, pieces: PieceReport[]): LoadedShard {
    const { rows, dims } = this;
    const hasLabels = this.labelIndex !== undefined;
    const featureBytes = rows * dims * 4;
    const buffer = new SharedArrayBuffer(featureBytes + (hasLabels ? rows * 4 : 0));
    const features = new Float32Array(buffer, 0, rows * dims);
    this.features.drainInto(features);
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
