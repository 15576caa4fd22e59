// @ts-nocheck -- AssemblyScript, compiled by `asc` into the modules built from kernels.ts (npm run build:wasm), not by tsc.
/*
 * Local SGD's mini-batch steps (localSgdSteps).
 */

import { addRow, dot } from './simd';

/**
 * Local SGD's mini-batch steps (src/kernels/localSgd.ts holds the plain loop this follows, and the
 * method): step s takes rows order[s·batch, min((s + 1)·batch, count)), adds the loss's slope r at
 * each row's margin times the row to `grad` (hinge = 1: r = −y± inside the margin; else the log-loss's
 * σ(z) − y), then moves θ = (v, c) in standardised coordinates:
 * v ← v − lr·((Σ r·x − mean·Σ r)·invStd / |batch| + λ·v), c ← c − lr·Σ r / |batch|, and refreshes
 * the input-space weights w = v·invStd, b = c − w·mean that the next margins use.
 *
 * Rows come in shuffled order, so each is read once, scattered: the work per row is one SIMD dot
 * product and one SIMD row addition (skipped where r = 0), in float64 from float32 rows.
 *   order  i32 × count; theta f64 × (dims + 1), updated in place; mean, invStd f64 × dims;
 *   w      f64 × dims and grad f64 × dims: scratch.
 */
export function localSgdSteps(
  x: usize, y: usize, dims: i32, order: usize, count: i32, batch: i32, steps: i32,
  theta: usize, mean: usize, invStd: usize, w: usize, grad: usize, hinge: i32, lr: f64, lambda: f64,
): void {
  const rowBytes = <usize>dims << 2;
  const gradBytes = <usize>dims << 3;
  let b = sgdInputSpace(theta, mean, invStd, w, dims);
  for (let s = 0; s < steps; s++) {
    const from = s * batch;
    const to = min(from + batch, count);
    if (to <= from) break;
    memory.fill(grad, 0, gradBytes);
    let gradBias = 0.0;
    for (let k = from; k < to; k++) {
      const i = load<i32>(order + (<usize>k << 2));
      const row = x + <usize>i * rowBytes;
      const z = b + dot(row, w, dims);
      const label = <f64>load<f32>(y + (<usize>i << 2));
      let r: f64;
      if (hinge) {
        const sign = 2 * label - 1;
        r = sign * z < 1 ? -sign : 0;
      } else {
        r = (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))) - label;
      }
      if (r == 0) continue;
      addRow(row, grad, dims, r);
      gradBias += r;
    }
    const scale = 1.0 / <f64>(to - from);
    for (let j = 0; j < dims; j++) {
      const o = <usize>j << 3;
      const t = load<f64>(theta + o);
      const g = (load<f64>(grad + o) - load<f64>(mean + o) * gradBias) * load<f64>(invStd + o) * scale + lambda * t;
      store<f64>(theta + o, t - lr * g);
    }
    const c = theta + gradBytes;
    store<f64>(c, load<f64>(c) - lr * gradBias * scale);
    b = sgdInputSpace(theta, mean, invStd, w, dims);
  }
}

/** w = v·invStd into `w`; returns b = c − w·mean. */
function sgdInputSpace(theta: usize, mean: usize, invStd: usize, w: usize, dims: i32): f64 {
  let b = load<f64>(theta + (<usize>dims << 3));
  for (let j = 0; j < dims; j++) {
    const o = <usize>j << 3;
    const v = load<f64>(theta + o) * load<f64>(invStd + o);
    store<f64>(w + o, v);
    b -= v * load<f64>(mean + o);
  }
  return b;
}
