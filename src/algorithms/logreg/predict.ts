import type { LogregResult, MultinomialResult } from '../../domain/results.js';
import { kernelInfo } from '../../kernels/backend.js';
import { softmaxProbabilitiesWasm } from '../../kernels/softmaxPredict.js';

/*
 * The prediction loops, one copy for `bspml predict`, validation and the online endpoint
 * (src/serve/predictor.ts, which packs a model once and calls the row loops directly). Every sum of
 * the plain loops runs bias first, then feature by feature, in float64 over the float32 rows. The
 * multinomial's probabilities go to the WebAssembly SIMD kernel where it runs
 * (kernels/softmaxPredict.ts: the same float64 sums in another order, so equal to rounding).
 */

/** P(label = 1) of each row. */
export function predictLogreg(model: LogregResult, x: Float32Array, rows: number): Float64Array {
  const dims = model.dims;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = model.bias;
    for (let j = 0; j < dims; j++) z += model.weights[j]! * x[i * dims + j]!;
    out[i] = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
  }
  return out;
}

/**
 * Each row's class (the most probable, the first on ties) and the probabilities of the model's
 * classes, softmax(W·x + b), rows × C.
 */
export function predictMultinomial(model: MultinomialResult, x: Float32Array, rows: number): { label: Int32Array; probabilities: Float64Array } {
  const { index, scores } = softmaxPredict(packSoftmax(model), model.classes.length, model.dims, x, rows);
  return { label: index, probabilities: scores };
}

/** The multinomial's weights packed for the loops: C rows of dims weights, then the C biases. */
export function packSoftmax(model: Pick<MultinomialResult, 'weights' | 'bias' | 'dims'>): Float64Array {
  const { dims } = model;
  const classes = model.weights.length;
  const packed = new Float64Array(classes * (dims + 1));
  model.weights.forEach((row, k) => packed.set(row, k * dims));
  packed.set(model.bias, classes * dims);
  return packed;
}

/** Which loops the multinomial's probabilities run on here: the WebAssembly kernel (which build), or the plain loop and why. */
export function softmaxKernels(): string {
  const info = kernelInfo();
  return info.kind === 'wasm' ? `WebAssembly (${info.build})` : `plain loops (${info.reason})`;
}

/**
 * Each row's class and probabilities: on the WebAssembly kernel where it runs, else the plain loop
 * (softmaxRows). With the kernel, the class is the most probable one (the first on ties) read from
 * the probabilities; the loop reads it from the logits, which orders the same but for logits closer
 * than exp's rounding.
 */
export function softmaxPredict(wb: Float64Array, classes: number, dims: number, x: Float32Array, rows: number): { index: Int32Array; scores: Float64Array } {
  const scores = softmaxProbabilitiesWasm(wb, classes, dims, x, rows);
  if (!scores) return softmaxRows(wb, classes, dims, x, rows);
  const index = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const out = r * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[out + c]! > scores[out + best]!) best = c;
    index[r] = best;
  }
  return { index, scores };
}

/**
 * Logits of two rows and four classes at a time (each its own sum, in feature order: every weight
 * read serves two rows, every row value four classes), then softmax shifted by the largest.
 */
export function softmaxRows(w: Float64Array, classes: number, dims: number, x: Float32Array, rows: number): { index: Int32Array; scores: Float64Array } {
  const b = w.subarray(classes * dims, classes * (dims + 1));
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
    // The most probable class, the first on ties (scikit-learn's argmax).
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[out + c]! > scores[out + best]!) best = c;
    const top = scores[out + best]!;
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += scores[out + c] = Math.exp(scores[out + c]! - top);
    for (let c = 0; c < classes; c++) scores[out + c]! /= sum;
    index[r] = best;
  }
  return { index, scores };
}
