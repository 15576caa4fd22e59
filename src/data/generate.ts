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

/**
 * Isotropic Gaussian blobs for k-means. Rows are dealt to centres as evenly as possible and then
 * shuffled, so that no contiguous shard holds a single blob.
 */
export function generateBlobs(options: BlobsOptions): Blobs {
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

  const values = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    const center = centers[assignments[r]];
    for (let d = 0; d < dims; d++) values[r * dims + d] = center[d] + std * rng.normal();
  }
  return {
    table: { columns: defaultColumnNames(dims), rows, cols: dims, values, hasHeader: true, firstLine: 2 },
    centers,
    assignments,
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
  const values = new Float32Array(rows * cols);
  const x = new Float32Array(dims);
  let attempts = 0;
  for (let r = 0; r < rows; r++) {
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
  return {
    table: { columns: [...defaultColumnNames(dims), 'label'], rows, cols, values, hasHeader: true, firstLine: 2 },
    weights,
    bias,
  };
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new SpecError(`${name} must be a positive integer, got ${value}`, name);
}
