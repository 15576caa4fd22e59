import type { LogregResult, MultinomialResult } from '../../protocol/types.js';

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
  const { dims } = model;
  const classes = model.classes.length;
  const label = new Int32Array(rows);
  const probabilities = new Float64Array(rows * classes);
  for (let i = 0; i < rows; i++) {
    const p = probabilities.subarray(i * classes, (i + 1) * classes);
    for (let k = 0; k < classes; k++) {
      const w = model.weights[k]!;
      let z = model.bias[k]!;
      for (let j = 0; j < dims; j++) z += w[j]! * x[i * dims + j]!;
      p[k] = z;
    }
    let best = 0;
    for (let k = 1; k < classes; k++) if (p[k]! > p[best]!) best = k;
    // Shifted by the largest logit: no exp overflows, and the largest term is 1.
    const top = p[best]!;
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += p[k] = Math.exp(p[k]! - top);
    for (let k = 0; k < classes; k++) p[k]! /= sum;
    label[i] = best;
  }
  return { label, probabilities };
}
