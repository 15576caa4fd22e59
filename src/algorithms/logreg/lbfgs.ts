import type { LogregSpec } from '../../domain/spec.js';
import type { Shape, UpdateResult } from '../types.js';
import { dotProduct } from './layout.js';
import { secondOrderStep, tailOffsets, type Accepted } from './secondOrder.js';

/*
 * L-BFGS (Nocedal & Wright, Numerical Optimization, algorithm 7.4) for wide data, where the Hessian
 * would not fit: partials are the gradient-descent ones plus the trial losses of secondOrder.ts; the
 * aggregator keeps the last HISTORY pairs s = θₖ₊₁ − θₖ, y = ∇fₖ₊₁ − ∇fₖ in the model's tail and takes
 * the two-loop direction. The first direction is −∇f, cut to unit length when longer.
 *
 * Solver state after the shared tail: ∇f at the accepted point (n), pairs stored, the slot the next
 * pair goes to, then HISTORY slots of (s, y).
 */

export const HISTORY = 10;

/** State for `outputs` rows of weights (1 unless multinomial, see layout.ts). */
export function lbfgsStateLength(dims: number, outputs = 1): number {
  const n = outputs * (dims + 1);
  return n + 2 + HISTORY * 2 * n;
}

export function lbfgsStep(spec: LogregSpec, shape: Shape, model: Float64Array, merged: Float64Array): UpdateResult {
  // Multinomial partials carry no trial losses (multinomial.ts): a rejected point is shortened by interpolation.
  const search = shape.classes === undefined ? 'trials' : 'interpolate';
  return secondOrderStep(spec, shape, model, merged, (accepted, before, _merged, next) => lbfgsDirection(accepted, before, next, shape.dims, shape.classes ?? 1), 'L-BFGS', search);
}

function lbfgsDirection(accepted: Accepted, before: Float64Array, next: Float64Array, dims: number, outputs: number): Float64Array {
  const o = tailOffsets(dims, outputs);
  const n = o.n;
  const gradAt = o.extra;
  const countAt = gradAt + n;
  const slotAt = countAt + 1;
  const pairsAt = slotAt + 1;
  const pair = (slot: number) => ({
    s: next.subarray(pairsAt + slot * 2 * n, pairsAt + slot * 2 * n + n),
    y: next.subarray(pairsAt + slot * 2 * n + n, pairsAt + (slot + 1) * 2 * n),
  });

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
    const sy = dotProduct(s, y);
    if (sy > 1e-10 * dotProduct(y, y) && sy > 0) {
      const target = pair(slot);
      target.s.set(s);
      target.y.set(y);
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
    const { s, y } = pair((slot - 1 - i + HISTORY) % HISTORY);
    rhos[i] = 1 / dotProduct(y, s);
    alphas[i] = rhos[i]! * dotProduct(s, q);
    for (let j = 0; j < n; j++) q[j] -= alphas[i]! * y[j]!;
  }
  const newest = pair((slot - 1 + HISTORY) % HISTORY);
  const gamma = dotProduct(newest.s, newest.y) / dotProduct(newest.y, newest.y);
  for (let j = 0; j < n; j++) q[j] *= gamma;
  for (let i = count - 1; i >= 0; i--) {
    const { s, y } = pair((slot - 1 - i + HISTORY) % HISTORY);
    const beta = rhos[i]! * dotProduct(y, q);
    for (let j = 0; j < n; j++) q[j] += s[j]! * (alphas[i]! - beta);
  }
  const p = q.map((v) => -v);
  // Not a descent direction (rounding on a flat objective): start the history again from −∇f.
  if (!(dotProduct(p, accepted.grad) < 0)) {
    next[countAt] = 0;
    return accepted.grad.map((v) => -v / Math.max(1, accepted.gradNorm));
  }
  return p;
}
