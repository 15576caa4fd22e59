import { scratch, wasmContextOf } from './backend.js';

/*
 * The step loop of local SGD (src/algorithms/logreg/localSgd.ts). Rows in a shared WebAssembly
 * memory take the kernel in wasm/localSgd.ts (a SIMD dot product and row addition per row); other
 * arrays take the plain loop below, which defines what the kernel computes (to rounding: the kernel
 * sums the dot product in another order and has its own exp).
 */

/** The loss of one row as a function of its margin z = w·x + b and its 0/1 label. */
export type SgdLoss = 'logistic' | 'hinge';

export interface SgdSteps {
  loss: SgdLoss;
  /** Step size of this round. */
  lr: number;
  /** L2 weight on the standardised weights (not the bias). */
  lambda: number;
  batch: number;
  /** Mini-batches to take from `order`: consecutive slices of `batch` indices (the last may be shorter). */
  steps: number;
}

/**
 * Mini-batch SGD in standardised coordinates θ = (v, c) (see logreg/layout.ts), in place on `theta`:
 * each step takes the next slice of `order` (row indices into `x`), and with r_i the slope of the
 * loss at row i's margin sets v ← v − lr·(Σ r_i·x̃_i / |batch| + λ·v), c ← c − lr·Σ r_i / |batch|,
 * where x̃ = (x − mean)·invStd. Margins are computed on raw rows with the input-space weights
 * w = v·invStd, b = c − w·mean, refreshed after each step (d operations per step, not per row).
 */
export function localSgdSteps(x: Float32Array, y: Float32Array, dims: number, order: Int32Array, theta: Float64Array, mean: Float64Array, invStd: Float64Array, settings: SgdSteps): void {
  const context = wasmContextOf(x.buffer);
  if (!context || y.buffer !== x.buffer || order.length === 0) {
    localSgdStepsJs(x, y, dims, order, theta, mean, invStd, settings);
    return;
  }
  // Scratch: the order, then θ, mean, invStd, w and grad, each 16-byte aligned.
  const orderBytes = align16(order.length * 4);
  const vector = align16((dims + 1) * 8);
  const orderPtr = scratch(context, orderBytes + 5 * vector);
  const [thetaPtr, meanPtr, invStdPtr, wPtr, gradPtr] = [0, 1, 2, 3, 4].map((k) => orderPtr + orderBytes + k * vector) as [number, number, number, number, number];
  const buffer = context.memory.buffer;
  new Int32Array(buffer, orderPtr, order.length).set(order);
  const thetaView = new Float64Array(buffer, thetaPtr, dims + 1);
  thetaView.set(theta.subarray(0, dims + 1));
  new Float64Array(buffer, meanPtr, dims).set(mean.subarray(0, dims));
  new Float64Array(buffer, invStdPtr, dims).set(invStd.subarray(0, dims));
  const { lr, lambda, batch, steps } = settings;
  context.exports.localSgdSteps(x.byteOffset, y.byteOffset, dims, orderPtr, order.length, batch, steps, thetaPtr, meanPtr, invStdPtr, wPtr, gradPtr, settings.loss === 'hinge' ? 1 : 0, lr, lambda);
  theta.set(thetaView);
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** The plain loop: the fallback, and the definition the WebAssembly kernel must reproduce. */
export function localSgdStepsJs(x: Float32Array, y: Float32Array, dims: number, order: Int32Array, theta: Float64Array, mean: Float64Array, invStd: Float64Array, settings: SgdSteps): void {
  const { lr, lambda, batch, steps } = settings;
  const hinge = settings.loss === 'hinge';
  const w = new Float64Array(dims);
  const grad = new Float64Array(dims);
  let b = inputSpace(theta, mean, invStd, dims, w);
  for (let s = 0; s < steps; s++) {
    const from = s * batch;
    const to = Math.min(from + batch, order.length);
    if (to <= from) break;
    grad.fill(0);
    let gradBias = 0;
    for (let k = from; k < to; k++) {
      const i = order[k]!;
      const row = i * dims;
      let z = b;
      for (let j = 0; j < dims; j++) z += w[j]! * x[row + j]!;
      const label = y[i]!;
      let r: number;
      if (hinge) {
        const sign = 2 * label - 1;
        r = sign * z < 1 ? -sign : 0;
      } else {
        r = (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))) - label;
      }
      if (r === 0) continue;
      for (let j = 0; j < dims; j++) grad[j] += r * x[row + j]!;
      gradBias += r;
    }
    const scale = 1 / (to - from);
    for (let j = 0; j < dims; j++) {
      // Σ r·(x_j − mean_j)·invStd_j = (Σ r·x_j − mean_j·Σ r)·invStd_j
      const g = (grad[j]! - mean[j]! * gradBias) * invStd[j]! * scale + lambda * theta[j]!;
      theta[j] = theta[j]! - lr * g;
    }
    theta[dims] = theta[dims]! - lr * gradBias * scale;
    b = inputSpace(theta, mean, invStd, dims, w);
  }
}

/** w = v·invStd into `w`; returns b = c − w·mean. */
function inputSpace(theta: Float64Array, mean: Float64Array, invStd: Float64Array, dims: number, w: Float64Array): number {
  let b = theta[dims]!;
  for (let j = 0; j < dims; j++) {
    w[j] = theta[j]! * invStd[j]!;
    b -= w[j]! * mean[j]!;
  }
  return b;
}
