import type { LogregSpec } from '../../domain/spec.js';
import type { Shape, UpdateResult } from '../types.js';
import { secondOrderStep, tailOffsets, type Accepted } from './secondOrder.js';

/*
 * L-BFGS (Nocedal & Wright, Numerical Optimization, algorithm 7.4) for wide data, where the Hessian
 * would not fit: partials are the gradient-descent ones plus (two classes) the trial losses of
 * secondOrder.ts; the aggregator keeps the last HISTORY pairs (MULTINOMIAL_HISTORY for several
 * outputs) s = θₖ₊₁ − θₖ, y = ∇fₖ₊₁ − ∇fₖ in the model's tail and takes the two-loop direction. The
 * first direction is −∇f, cut to unit length when longer.
 *
 * Solver state after the shared tail: ∇f at the accepted point (n), pairs stored, the slot the next
 * pair goes to, then HISTORY slots of (s, y).
 */

export const HISTORY = 10;

/**
 * Pairs kept by multinomial L-BFGS. On the wide image-like problem (bench:wide, 20,000 × 784, 10
 * classes, C = 1) the objective after 100 rounds was 0.2134 with 10 pairs, 0.2058 with 20, 0.1981
 * with 40 (optimum 0.1805), and scikit-learn's 100 iterations (104 evaluations, 10 pairs) 0.2087: 20
 * reaches it within our default 100 rounds. The pairs travel in the model (2·20·C·(dims + 1) floats,
 * 2.5 MB for 784 columns), which the store holds each round, not to the threads (threadRanges).
 */
const MULTINOMIAL_HISTORY = 20;

/** Pairs kept for `outputs` rows of weights. */
export function historyOf(outputs: number): number {
  return outputs > 1 ? MULTINOMIAL_HISTORY : HISTORY;
}

/** State for `outputs` rows of weights (1 unless multinomial, see layout.ts). */
export function lbfgsStateLength(dims: number, outputs = 1): number {
  const n = outputs * (dims + 1);
  return n + 2 + historyOf(outputs) * 2 * n;
}

export function lbfgsStep(spec: LogregSpec, shape: Shape, model: Float64Array, merged: Float64Array): UpdateResult {
  // Multinomial partials carry no trial losses (multinomial.ts): a rejected point is shortened by interpolation.
  const search = shape.classes === undefined ? 'trials' : 'interpolate';
  return secondOrderStep(spec, shape, model, merged, (accepted, before, _merged, next) => lbfgsDirection(accepted, before, next, shape.dims, shape.classes ?? 1), 'L-BFGS', search);
}

function lbfgsDirection(accepted: Accepted, before: Float64Array, next: Float64Array, dims: number, outputs: number): Float64Array {
  const o = tailOffsets(dims, outputs);
  const n = o.n;
  const HISTORY = historyOf(outputs);
  const gradAt = o.extra;
  const countAt = gradAt + n;
  const slotAt = countAt + 1;
  const pairsAt = slotAt + 1;
  // Where pair `slot`'s s and y start in `next`: the loops below index `next` in place, as the
  // subarrays of each pair did (the same products, summed in the same order).
  const sAt = (slot: number) => pairsAt + slot * 2 * n;
  const yAt = (slot: number) => pairsAt + slot * 2 * n + n;

  let count = before[countAt]!;
  let slot = before[slotAt]!;
  // f(base) is infinite until a point has been accepted: before that there is no pair to form.
  if (Number.isFinite(before[o.scalars]!)) {
    // The pair from the previous accepted point (base) to this one; kept only with positive curvature.
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s[j] = accepted.theta[j]! - before[o.base + j]!;
      y[j] = accepted.grad[j]! - before[gradAt + j]!;
    }
    const sy = dotAt(s, 0, y, 0, n);
    if (sy > 1e-10 * dotAt(y, 0, y, 0, n) && sy > 0) {
      next.set(s, sAt(slot));
      next.set(y, yAt(slot));
      slot = (slot + 1) % HISTORY;
      count = Math.min(HISTORY, count + 1);
    }
  }
  next.set(accepted.grad, gradAt);
  next[countAt] = count;
  next[slotAt] = slot;

  const q = Float64Array.from(accepted.grad);
  if (count === 0) {
    const scale = 1 / Math.max(1, accepted.gradNorm);
    return q.map((v) => -scale * v);
  }
  // Two-loop recursion, newest pair first.
  const alphas = new Float64Array(count);
  const rhos = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const at = (slot - 1 - i + HISTORY) % HISTORY;
    const s = sAt(at);
    const y = yAt(at);
    rhos[i] = 1 / dotAt(next, y, next, s, n);
    const alpha = (alphas[i] = rhos[i]! * dotAt(next, s, q, 0, n));
    for (let j = 0; j < n; j++) q[j] -= alpha * next[y + j]!;
  }
  const newest = (slot - 1 + HISTORY) % HISTORY;
  const gamma = dotAt(next, sAt(newest), next, yAt(newest), n) / dotAt(next, yAt(newest), next, yAt(newest), n);
  for (let j = 0; j < n; j++) q[j] *= gamma;
  for (let i = count - 1; i >= 0; i--) {
    const at = (slot - 1 - i + HISTORY) % HISTORY;
    const s = sAt(at);
    const beta = rhos[i]! * dotAt(next, yAt(at), q, 0, n);
    const step = alphas[i]! - beta;
    for (let j = 0; j < n; j++) q[j] += next[s + j]! * step;
  }
  for (let j = 0; j < n; j++) q[j] = -q[j]!;
  // Not a descent direction (rounding on a flat objective): start the history again from −∇f.
  if (!(dotAt(q, 0, accepted.grad, 0, n) < 0)) {
    next[countAt] = 0;
    return accepted.grad.map((v) => -v / Math.max(1, accepted.gradNorm));
  }
  return q;
}

/**
 * Σ a[aAt + j]·b[bAt + j] over j < n, summed in order: dotProduct's sum over two float64 runs
 * given by offset, so the two-loop recursion reads the pairs where the model holds them (no views).
 */
function dotAt(a: Float64Array, aAt: number, b: Float64Array, bAt: number, n: number): number {
  let sum = 0;
  for (let j = 0; j < n; j++) sum += a[aAt + j]! * b[bAt + j]!;
  return sum;
}
