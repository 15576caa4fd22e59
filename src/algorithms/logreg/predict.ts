import type { LogregResult } from '../../protocol/types.js';

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
