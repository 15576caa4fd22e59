import type { SvmOvrResult, SvmResult } from '../../domain/results.js';

/** The decision value w·x + b of each row (label 1 where it is ≥ 0). */
export function predictSvm(model: SvmResult, x: Float32Array, rows: number): Float64Array {
  const dims = model.dims;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = model.bias;
    for (let j = 0; j < dims; j++) z += model.weights[j]! * x[i * dims + j]!;
    out[i] = z;
  }
  return out;
}

/**
 * A one-vs-rest SVM's decision values w_k·x + b_k (rows × classes, row-major) and each row's class,
 * the largest of them (the first on ties, as LinearSVC's argmax).
 */
export function predictSvmOvr(model: SvmOvrResult, x: Float32Array, rows: number): { label: Int32Array; decision: Float64Array } {
  const dims = model.dims;
  const classes = model.bias.length;
  const decision = new Float64Array(rows * classes);
  const label = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = -Infinity;
    for (let k = 0; k < classes; k++) {
      const w = model.weights[k]!;
      let z = model.bias[k]!;
      for (let j = 0; j < dims; j++) z += w[j]! * x[i * dims + j]!;
      decision[i * classes + k] = z;
      if (z > best) {
        best = z;
        label[i] = k;
      }
    }
  }
  return { label, decision };
}
