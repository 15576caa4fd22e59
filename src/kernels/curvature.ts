import { scratch, wasmContextOf } from './backend.js';

/*
 * The row passes of the second-order solvers (Newton, L-BFGS): margins of a model or direction on
 * every row, and the Hessian of the log-loss in standardised coordinates. Rows in a shared
 * WebAssembly memory take the kernels of wasm/logreg.ts (margins) and wasm/hessian.ts; other arrays
 * take the plain loops below, which define what the kernels compute (to rounding).
 */

/** Packed length of the upper triangle of an n × n matrix. */
export function packedLength(n: number): number {
  return (n * (n + 1)) / 2;
}

/** out[i − start] = w·xᵢ + w[dims] for rows [start, end). */
export function logregMargins(x: Float32Array, dims: number, start: number, end: number, w: Float64Array, out: Float64Array): void {
  const context = wasmContextOf(x.buffer);
  if (!context || end <= start) {
    logregMarginsJs(x, dims, start, end, w, out);
    return;
  }
  const rows = end - start;
  const wBytes = align16((dims + 1) * 8);
  const wPtr = scratch(context, wBytes + rows * 8);
  const outPtr = wPtr + wBytes;
  new Float64Array(context.memory.buffer, wPtr, dims + 1).set(w.subarray(0, dims + 1));
  context.exports.logregMargins(x.byteOffset, dims, start, end, wPtr, outPtr);
  out.set(new Float64Array(context.memory.buffer, outPtr, rows));
}

export function logregMarginsJs(x: Float32Array, dims: number, start: number, end: number, w: Float64Array, out: Float64Array): void {
  const bias = w[dims]!;
  for (let i = start; i < end; i++) {
    let z = 0;
    for (let j = 0; j < dims; j++) z += w[j]! * x[i * dims + j]!;
    out[i - start] = bias + z;
  }
}

/**
 * h += Σᵢ s[i − start] · x̃ᵢ x̃ᵢᵀ for rows [start, end), x̃ᵢ = ((xᵢ − mean) · invStd, 1); `h` is the
 * upper triangle of the (dims + 1)² matrix packed row by row (see packedLength).
 */
export type HessianKernel = (x: Float32Array, dims: number, start: number, end: number, s: Float64Array, mean: Float64Array, invStd: Float64Array, h: Float64Array) => void;

export const hessianAccumulate: HessianKernel = (x, dims, start, end, s, mean, invStd, h) => {
  const context = wasmContextOf(x.buffer);
  if (!context || end <= start) {
    hessianAccumulateJs(x, dims, start, end, s, mean, invStd, h);
    return;
  }
  const n = dims + 1;
  const rows = end - start;
  const hLength = packedLength(n);
  const sBytes = align16(rows * 8);
  const vBytes = align16(dims * 8);
  const hBytes = align16(hLength * 8);
  const tmpBytes = context.exports.HESSIAN_BLOCK.value * (dims + 2) * 8;
  const sPtr = scratch(context, sBytes + 2 * vBytes + hBytes + tmpBytes + 16);
  const meanPtr = sPtr + sBytes;
  const invPtr = meanPtr + vBytes;
  const hPtr = invPtr + vBytes;
  const tmpPtr = hPtr + hBytes;
  const buffer = context.memory.buffer;
  new Float64Array(buffer, sPtr, rows).set(s.subarray(0, rows));
  new Float64Array(buffer, meanPtr, dims).set(mean.subarray(0, dims));
  new Float64Array(buffer, invPtr, dims).set(invStd.subarray(0, dims));
  const hView = new Float64Array(buffer, hPtr, hLength);
  hView.set(h.subarray(0, hLength));
  context.exports.hessianAccumulate(x.byteOffset, dims, start, end, sPtr, meanPtr, invPtr, hPtr, tmpPtr);
  h.set(hView);
};

/** The plain loop: the fallback, and the definition the WebAssembly kernel must reproduce. */
export const hessianAccumulateJs: HessianKernel = (x, dims, start, end, s, mean, invStd, h) => {
  const n = dims + 1;
  const row = new Float64Array(n);
  row[dims] = 1;
  for (let i = start; i < end; i++) {
    for (let j = 0; j < dims; j++) row[j] = (x[i * dims + j]! - mean[j]!) * invStd[j]!;
    const weight = s[i - start]!;
    let p = 0;
    for (let j = 0; j < n; j++) {
      const u = weight * row[j]!;
      for (let k = j; k < n; k++) h[p++] += u * row[k]!;
    }
  }
};

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
