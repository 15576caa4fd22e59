import { scratch, wasmContextOf, type WasmContext } from './backend.js';

/**
 * The logistic-regression gradient pass over rows [start, end): with p = σ(w·x + b) it adds
 * (p − y)·x to grad[0..dims) and (p − y) to grad[dims], and returns the summed log-loss and the
 * number of rows classified correctly (p ≥ 0.5 ⇔ label 1). `w` holds dims weights then the bias.
 *
 * Rows in a shared WebAssembly memory (see backend.ts) go to the SIMD kernel (float64 products and
 * sums throughout, in batches of rows, exp and log1p as float64 polynomials accurate to a few units in
 * the last place, so results match this loop to rounding); other arrays take this loop.
 */
export function logregAccumulate(
  x: Float32Array,
  y: Float32Array,
  dims: number,
  start: number,
  end: number,
  w: Float64Array,
  grad: Float64Array,
): { loss: number; correct: number } {
  const context = wasmContextOf(x.buffer);
  if (context && y.buffer === x.buffer && end > start) return logregAccumulateWasm(context, x, y, dims, start, end, w, grad);
  return logregAccumulateJs(x, y, dims, start, end, w, grad);
}

/** The plain loop: the fallback, and the definition the WebAssembly kernel must reproduce. */
export function logregAccumulateJs(
  x: Float32Array,
  y: Float32Array,
  dims: number,
  start: number,
  end: number,
  w: Float64Array,
  grad: Float64Array,
): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  const bias = w[dims]!;
  for (let i = start; i < end; i++) {
    const row = i * dims;
    let z = bias;
    for (let j = 0; j < dims; j++) z += w[j]! * x[row + j]!;
    const label = y[i]!;
    // softplus(z) − y·z is the log-loss, written so that neither exp overflows for large |z|.
    const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    loss += softplus - label * z;
    const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    if ((z >= 0 ? 1 : 0) === label) correct++;
    const err = p - label;
    for (let j = 0; j < dims; j++) grad[j] += err * x[row + j]!;
    grad[dims] += err;
  }
  return { loss, correct };
}

/** Runs the WebAssembly kernel on rows in the context's memory; weights and gradient go through scratch. */
function logregAccumulateWasm(
  context: WasmContext,
  x: Float32Array,
  y: Float32Array,
  dims: number,
  start: number,
  end: number,
  w: Float64Array,
  grad: Float64Array,
): { loss: number; correct: number } {
  const n = dims + 1;
  const bytes = Math.ceil((n * 8) / 16) * 16;
  // The kernel's batch scratch: 16 bytes per row of its largest batch.
  const wPtr = scratch(context, 2 * bytes + 16 + context.exports.LOGREG_BATCH.value * 16);
  const gradPtr = wPtr + bytes;
  const outPtr = gradPtr + bytes;
  const tmpPtr = outPtr + 16;
  const buffer = context.memory.buffer;
  new Float64Array(buffer, wPtr, n).set(w.subarray(0, n));
  const gradView = new Float64Array(buffer, gradPtr, n);
  gradView.set(grad.subarray(0, n));
  context.exports.logregAccumulate(x.byteOffset, y.byteOffset, dims, start, end, wPtr, gradPtr, outPtr, tmpPtr);
  grad.set(gradView);
  const out = new Float64Array(buffer, outPtr, 2);
  return { loss: out[0]!, correct: out[1]! };
}
