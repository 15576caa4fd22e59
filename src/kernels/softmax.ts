/*
 * The row passes of multinomial logistic regression (algorithms/logreg/multinomial.ts): logits
 * z_k = W_k·x + b_k of K classes, the softmax p = exp(z − logsumexp(z)) and its log-loss
 * logsumexp(z) − z_y. `w` holds K rows of dims weights, then K biases.
 *
 * Plain TypeScript loops, float64 products and sums over the float32 rows, as the binary kernels'
 * definitions in logreg.ts and curvature.ts (no WebAssembly version yet: the binary kernels' is the
 * model to follow).
 */

/** out[(i − start)·K + k] = W_k·xᵢ + b_k for rows [start, end). */
export function softmaxLogits(x: Float32Array, dims: number, classes: number, start: number, end: number, w: Float64Array, out: Float64Array): void {
  const biases = classes * dims;
  for (let i = start; i < end; i++) {
    const row = i * dims;
    const at = (i - start) * classes;
    for (let k = 0; k < classes; k++) {
      const weights = k * dims;
      let z = 0;
      for (let j = 0; j < dims; j++) z += w[weights + j]! * x[row + j]!;
      out[at + k] = w[biases + k]! + z;
    }
  }
}

/** log Σ exp(z[at..at + K)), shifted by the largest so that no exp overflows. */
export function logSumExp(z: Float64Array, at: number, classes: number): number {
  let top = -Infinity;
  for (let k = 0; k < classes; k++) top = Math.max(top, z[at + k]!);
  if (!Number.isFinite(top)) return top;
  let sum = 0;
  for (let k = 0; k < classes; k++) sum += Math.exp(z[at + k]! - top);
  return top + Math.log(sum);
}

/**
 * The gradient pass over rows [start, end): adds (p_k − [y = k])·x to grad[k·dims …] and
 * (p_k − [y = k]) to grad[K·dims + k]; returns the summed log-loss and the rows whose largest logit
 * (the first, on ties) is their label's. The rows' logits are left in `logits` (rows × K).
 */
export function softmaxAccumulate(
  x: Float32Array,
  y: Float32Array,
  dims: number,
  classes: number,
  start: number,
  end: number,
  w: Float64Array,
  grad: Float64Array,
  logits: Float64Array,
): { loss: number; correct: number } {
  softmaxLogits(x, dims, classes, start, end, w, logits);
  const biases = classes * dims;
  let loss = 0;
  let correct = 0;
  for (let i = start; i < end; i++) {
    const at = (i - start) * classes;
    const label = y[i]!;
    const lse = logSumExp(logits, at, classes);
    loss += lse - logits[at + label]!;
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[at + k]! > logits[at + best]!) best = k;
    if (best === label) correct++;
    const row = i * dims;
    for (let k = 0; k < classes; k++) {
      const err = Math.exp(logits[at + k]! - lse) - (k === label ? 1 : 0);
      const weights = k * dims;
      for (let j = 0; j < dims; j++) grad[weights + j] += err * x[row + j]!;
      grad[biases + k] += err;
    }
  }
  return { loss, correct };
}
