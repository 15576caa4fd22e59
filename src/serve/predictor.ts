import { classLabelsOf, isMultinomial, type ModelResult } from '../protocol/types.js';

/*
 * A trained model made ready to serve: its weights copied once into contiguous typed arrays, so
 * that each request only runs the loops. The sums run in the same order as the training side's
 * predict functions (src/algorithms/*\/predict.ts: bias first, then feature by feature, in float64
 * over the float32 rows), so both give the same numbers bit for bit; what differs is only that four
 * classes (or centroids) share each row value read, and two rows each weight read.
 */

export type ModelKind = 'kmeans' | 'logreg' | 'multinomial' | 'svm';

/** One batch's answers. `labels` are the model's classes as the training data wrote them. */
export interface Predictions {
  rows: number;
  /** Classifiers: the predicted class of each row, as the data named it. */
  labels?: (string | number)[];
  /** Classifiers but the SVM: P(class) per row, one entry per class in `classes` order. */
  probabilities?: number[][];
  /** SVM: the decision value w·x + b (class 1 where ≥ 0). */
  decision?: number[];
  /** k-means: the nearest centroid and its Euclidean distance. */
  cluster?: number[];
  distance?: number[];
}

export interface Predictor {
  kind: ModelKind;
  dims: number;
  featureNames: readonly string[];
  /** Classifiers: the labels of classes 0..C−1. */
  classes?: readonly (string | number)[];
  /** Raw results into typed arrays: `rows` rows of `dims` float32 features, row after row. */
  run(x: Float32Array, rows: number): RawPredictions;
}

/** What `run` computes: class (or cluster) indices and per-row scores, rows × width. */
export interface RawPredictions {
  index: Int32Array;
  /** Probabilities (rows × C), P(class 1) (rows), the decision value (rows) or the distance (rows). */
  scores: Float64Array;
  width: number;
}

/** Prepares a parsed model (src/protocol/modelFile.ts) for serving. */
export function compilePredictor(model: ModelResult): Predictor {
  const dims = model.dims;
  const base = { dims, featureNames: model.featureNames };
  if (model.algorithm === 'kmeans') {
    const centres = packRows(model.centroids, dims);
    return { ...base, kind: 'kmeans', run: (x, rows) => nearest(centres, model.centroids.length, dims, x, rows) };
  }
  const classes = classLabelsOf(model);
  if (isMultinomial(model)) {
    const w = packRows(model.weights, dims);
    const b = Float64Array.from(model.bias);
    return { ...base, kind: 'multinomial', classes, run: (x, rows) => softmax(w, b, classes.length, dims, x, rows) };
  }
  const w = Float64Array.from(model.weights);
  const bias = model.bias;
  const svm = model.algorithm === 'svm';
  return {
    ...base,
    kind: svm ? 'svm' : 'logreg',
    classes,
    run: (x, rows) => {
      const index = new Int32Array(rows);
      const scores = new Float64Array(rows);
      for (let i = 0; i < rows; i++) {
        let z = bias;
        const row = i * dims;
        for (let j = 0; j < dims; j++) z += w[j]! * x[row + j]!;
        // As predictLogreg: the form of σ(z) that cannot overflow.
        const s = svm ? z : z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
        scores[i] = s;
        index[i] = s >= (svm ? 0 : 0.5) ? 1 : 0;
      }
      return { index, scores, width: 1 };
    },
  };
}

/** The answers as labels, probabilities, decision values or clusters (the response's fields). */
export function present(predictor: Predictor, raw: RawPredictions, rows: number): Predictions {
  const { index, scores, width } = raw;
  if (predictor.kind === 'kmeans') return { rows, cluster: Array.from(index), distance: Array.from(scores) };
  const classes = predictor.classes!;
  const labels = Array.from(index, (k) => classes[k]!);
  if (predictor.kind === 'svm') return { rows, labels, decision: Array.from(scores) };
  const probabilities = new Array<number[]>(rows);
  for (let i = 0; i < rows; i++) {
    // Binary: P(class 0), P(class 1), from P(class 1) as the model gives it.
    probabilities[i] = width === 1 ? [1 - scores[i]!, scores[i]!] : Array.from(scores.subarray(i * width, (i + 1) * width));
  }
  return { rows, labels, probabilities };
}

function packRows(rows: readonly (readonly number[])[], dims: number): Float64Array {
  const packed = new Float64Array(rows.length * dims);
  rows.forEach((r, k) => packed.set(r, k * dims));
  return packed;
}

/**
 * Logits of two rows and four classes at a time (each its own sum, in feature order: every weight
 * read serves two rows, every row value four classes), then softmax shifted by the largest.
 */
function softmax(w: Float64Array, b: Float64Array, classes: number, dims: number, x: Float32Array, rows: number): RawPredictions {
  const index = new Int32Array(rows);
  const scores = new Float64Array(rows * classes);
  let i = 0;
  for (; i + 2 <= rows; i += 2) {
    const ra = i * dims;
    const rb = ra + dims;
    const oa = i * classes;
    const ob = oa + classes;
    let k = 0;
    for (; k + 4 <= classes; k += 4) {
      const w0 = k * dims;
      const w1 = w0 + dims;
      const w2 = w1 + dims;
      const w3 = w2 + dims;
      let a0 = b[k]!;
      let a1 = b[k + 1]!;
      let a2 = b[k + 2]!;
      let a3 = b[k + 3]!;
      let c0 = a0;
      let c1 = a1;
      let c2 = a2;
      let c3 = a3;
      for (let j = 0; j < dims; j++) {
        const u = x[ra + j]!;
        const v = x[rb + j]!;
        const q0 = w[w0 + j]!;
        const q1 = w[w1 + j]!;
        const q2 = w[w2 + j]!;
        const q3 = w[w3 + j]!;
        a0 += q0 * u;
        a1 += q1 * u;
        a2 += q2 * u;
        a3 += q3 * u;
        c0 += q0 * v;
        c1 += q1 * v;
        c2 += q2 * v;
        c3 += q3 * v;
      }
      scores[oa + k] = a0;
      scores[oa + k + 1] = a1;
      scores[oa + k + 2] = a2;
      scores[oa + k + 3] = a3;
      scores[ob + k] = c0;
      scores[ob + k + 1] = c1;
      scores[ob + k + 2] = c2;
      scores[ob + k + 3] = c3;
    }
    for (; k < classes; k++) {
      const wk = k * dims;
      let a = b[k]!;
      let c = a;
      for (let j = 0; j < dims; j++) {
        const q = w[wk + j]!;
        a += q * x[ra + j]!;
        c += q * x[rb + j]!;
      }
      scores[oa + k] = a;
      scores[ob + k] = c;
    }
  }
  // An odd last row alone.
  if (i < rows) {
    const row = i * dims;
    for (let k = 0; k < classes; k++) {
      const wk = k * dims;
      let z = b[k]!;
      for (let j = 0; j < dims; j++) z += w[wk + j]! * x[row + j]!;
      scores[i * classes + k] = z;
    }
  }
  for (let r = 0; r < rows; r++) {
    const out = r * classes;
    // The most probable class, the first on ties (as predictMultinomial).
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[out + c]! > scores[out + best]!) best = c;
    const top = scores[out + best]!;
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += scores[out + c] = Math.exp(scores[out + c]! - top);
    for (let c = 0; c < classes; c++) scores[out + c]! /= sum;
    index[r] = best;
  }
  return { index, scores, width: classes };
}

/** The nearest centre of each row (ties to the lower index) and its distance, four centres at a time. */
function nearest(c: Float64Array, k: number, dims: number, x: Float32Array, rows: number): RawPredictions {
  const index = new Int32Array(rows);
  const scores = new Float64Array(rows);
  const d = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    const row = i * dims;
    let m = 0;
    for (; m + 4 <= k; m += 4) {
      const c0 = m * dims;
      const c1 = c0 + dims;
      const c2 = c1 + dims;
      const c3 = c2 + dims;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let j = 0; j < dims; j++) {
        const v = x[row + j]!;
        const e0 = v - c[c0 + j]!;
        const e1 = v - c[c1 + j]!;
        const e2 = v - c[c2 + j]!;
        const e3 = v - c[c3 + j]!;
        d0 += e0 * e0;
        d1 += e1 * e1;
        d2 += e2 * e2;
        d3 += e3 * e3;
      }
      d[m] = d0;
      d[m + 1] = d1;
      d[m + 2] = d2;
      d[m + 3] = d3;
    }
    for (; m < k; m++) {
      const cm = m * dims;
      let s = 0;
      for (let j = 0; j < dims; j++) {
        const e = x[row + j]! - c[cm + j]!;
        s += e * e;
      }
      d[m] = s;
    }
    let best = 0;
    for (let q = 1; q < k; q++) if (d[q]! < d[best]!) best = q;
    index[i] = best;
    scores[i] = Math.sqrt(d[best]!);
  }
  return { index, scores, width: 1 };
}
