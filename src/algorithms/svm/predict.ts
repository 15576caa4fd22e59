import type { SvmResult } from '../../domain/results.js';

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
