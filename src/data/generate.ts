import { SpecError } from '../errors.js';
import { Rng } from '../util/random.js';
import { defaultColumnNames, type Table } from './table.js';

export interface BlobsOptions {
  rows: number;
  dims: number;
  centers: number;
  /** Standard deviation of every blob in every dimension; default 1. */
  std?: number;
  seed: number;
  /** Centres are uniform in [-spread, spread] per dimension; default 10. */
  spread?: number;
}

export interface Blobs {
  table: Table;
  centers: number[][];
  /** The centre each row was drawn around. */
  assignments: Uint32Array;
}

/** Rows produced in batches, so that a writer never needs the whole table: `next` returns undefined at the end. */
export interface RowStream {
  columns: string[];
  rows: number;
  /** The next up to `maxRows` rows, row-major float32. */
  next(maxRows: number): Float32Array | undefined;
}

/**
 * Isotropic Gaussian blobs for k-means. Rows are dealt to centres as evenly as possible and then
 * shuffled, so that no contiguous shard holds a single blob.
 */
export function generateBlobs(options: BlobsOptions): Blobs {
  const stream = streamBlobs(options);
  const values = stream.next(options.rows)!;
  return {
    table: { columns: stream.columns, rows: options.rows, cols: options.dims, values, hasHeader: true, firstLine: 2 },
    centers: stream.centers,
    assignments: stream.assignments,
  };
}

/** The rows of generateBlobs, the same values, in batches (4 bytes per row held for the shuffle). */
export function streamBlobs(options: BlobsOptions): RowStream & { centers: number[][]; assignments: Uint32Array } {
  const { rows, dims, centers: k, seed } = options;
  const std = options.std ?? 1;
  const spread = options.spread ?? 10;
  positiveInteger(rows, 'rows');
  positiveInteger(dims, 'dims');
  positiveInteger(k, 'centers');
  if (!(std >= 0) || !Number.isFinite(std)) throw new SpecError(`std must be a finite number ≥ 0, got ${std}`, 'std');
  if (!(spread > 0) || !Number.isFinite(spread)) throw new SpecError(`spread must be a finite number > 0, got ${spread}`, 'spread');

  const rng = new Rng(seed);
  const centers: number[][] = [];
  for (let c = 0; c < k; c++) {
    const center: number[] = [];
    for (let d = 0; d < dims; d++) center.push((rng.next() * 2 - 1) * spread);
    centers.push(center);
  }

  const assignments = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) assignments[r] = r % k;
  for (let r = rows - 1; r > 0; r--) {
    const j = rng.int(r + 1);
    const t = assignments[r];
    assignments[r] = assignments[j];
    assignments[j] = t;
  }

  let done = 0;
  return {
    columns: defaultColumnNames(dims),
    rows,
    centers,
    assignments,
    next(maxRows) {
      const n = Math.min(maxRows, rows - done);
      if (n <= 0) return undefined;
      const values = new Float32Array(n * dims);
      for (let i = 0; i < n; i++) {
        const center = centers[assignments[done + i]];
        for (let d = 0; d < dims; d++) values[i * dims + d] = center[d] + std * rng.normal();
      }
      done += n;
      return values;
    },
  };
}

export interface ClassificationOptions {
  rows: number;
  dims: number;
  seed: number;
  /** No point lies closer than this to the separating hyperplane; default 0.5. */
  margin?: number;
}

export interface Classification {
  /** Columns x0..x{dims-1}, then `label` (0 or 1). */
  table: Table;
  /** Unit normal of the separating hyperplane. */
  weights: number[];
  bias: number;
}

/** Points drawn from N(0, 3·I), i.e. standard deviation √3 per dimension. */
const POINT_STD = Math.sqrt(3);
/** Enough for any margin that leaves a usable acceptance rate; beyond it the options are unworkable. */
const MAX_ATTEMPTS_PER_ROW = 1000;

/**
 * Linearly separable data for logistic regression: label = 1 iff w·x + b > 0, and points within
 * `margin` of the hyperplane are redrawn. The test w·x + b is made on the float32 values that
 * are stored, so that recomputing it from the table gives the same labels and the same margin.
 */
export function generateClassification(options: ClassificationOptions): Classification {
  const stream = streamClassification(options);
  const values = stream.next(options.rows)!;
  return {
    table: { columns: stream.columns, rows: options.rows, cols: options.dims + 1, values, hasHeader: true, firstLine: 2 },
    weights: stream.weights,
    bias: stream.bias,
  };
}

/** The rows of generateClassification, the same values, in batches. */
export function streamClassification(options: ClassificationOptions): RowStream & { weights: number[]; bias: number } {
  const { rows, dims, seed } = options;
  const margin = options.margin ?? 0.5;
  positiveInteger(rows, 'rows');
  positiveInteger(dims, 'dims');
  if (!(margin >= 0) || !Number.isFinite(margin)) throw new SpecError(`margin must be a finite number ≥ 0, got ${margin}`, 'margin');

  const rng = new Rng(seed);
  const weights: number[] = [];
  let norm = 0;
  do {
    weights.length = 0;
    norm = 0;
    for (let d = 0; d < dims; d++) {
      const w = rng.normal();
      weights.push(w);
      norm += w * w;
    }
  } while (norm === 0);
  norm = Math.sqrt(norm);
  for (let d = 0; d < dims; d++) weights[d] /= norm;
  // Within one standard deviation of the origin, so that neither class is rare.
  const bias = (rng.next() * 2 - 1) * POINT_STD * 0.5;

  const cols = dims + 1;
  const x = new Float32Array(dims);
  let attempts = 0;
  let done = 0;
  return {
    columns: [...defaultColumnNames(dims), 'label'],
    rows,
    weights,
    bias,
    next(maxRows) {
      const n = Math.min(maxRows, rows - done);
      if (n <= 0) return undefined;
      const values = new Float32Array(n * cols);
      for (let r = 0; r < n; r++) {
        let score: number;
        do {
          if (++attempts > MAX_ATTEMPTS_PER_ROW * rows) {
            throw new SpecError(`margin ${margin} rejects almost every point; use a smaller margin`, 'margin');
          }
          score = bias;
          for (let d = 0; d < dims; d++) {
            x[d] = POINT_STD * rng.normal();
            score += weights[d] * x[d];
          }
        } while (Math.abs(score) < margin);
        values.set(x, r * cols);
        values[r * cols + dims] = score > 0 ? 1 : 0;
      }
      done += n;
      return values;
    },
  };
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new SpecError(`${name} must be a positive integer, got ${value}`, name);
}
