import { BspmlError } from '../../errors.js';
import type { Shape, UpdateResult } from '../types.js';
import { PARTIAL_HEAD, type PenaltySpec } from './layout.js';
import { secondOrderStep, TRIALS, type Accepted } from './secondOrder.js';

/*
 * Newton's method: partials carry the Hessian of the summed loss in θ (its upper triangle, from the
 * blocked kernel in kernels/curvature.ts) beside the gradient; the aggregator solves
 * (H/n + λ·I′) p = −∇f (I′: identity without the bias) by Cholesky and the line search of
 * secondOrder.ts keeps the step safe. Where the matrix is not positive definite to working precision
 * (no penalty and a constant or duplicated column, or separable data), a ridge is added, growing
 * ×100 from 1e-10 of its largest diagonal: a damped Newton step, towards gradient descent.
 */

/** The default solver while the model has at most this many parameters (the Hessian has its square). */
export const NEWTON_MAX_DIMS = 1000;

export function newtonStep(spec: PenaltySpec, shape: Shape, model: Float64Array, merged: Float64Array): UpdateResult {
  const { dims } = shape;
  const packed = merged.subarray(dims + PARTIAL_HEAD + TRIALS.length);
  return secondOrderStep(spec, shape, model, merged, (accepted) => newtonDirection(packed, accepted, dims), 'Newton');
}

function newtonDirection(packed: Float64Array, accepted: Accepted, dims: number): Float64Array {
  const n = dims + 1;
  const a = new Float64Array(n * n);
  let p = 0;
  for (let j = 0; j < n; j++) {
    for (let k = j; k < n; k++) {
      const value = packed[p++]! / accepted.rows + (j === k && j < dims ? accepted.lambda : 0);
      a[j * n + k] = value;
      a[k * n + j] = value;
    }
  }
  const rhs = accepted.grad.map((g) => -g);
  let largest = 0;
  for (let j = 0; j < n; j++) largest = Math.max(largest, a[j * n + j]!);
  for (let ridge = 0; ridge <= 1e10 * Math.max(largest, 1); ridge = ridge === 0 ? 1e-10 * Math.max(largest, 1e-300) : ridge * 100) {
    const solution = choleskySolve(a, n, ridge, rhs);
    if (solution) return solution;
  }
  throw new BspmlError('E_DIVERGED', 'Newton: the Hessian could not be factored even with a ridge');
}

/** Solves (A + ridge·I) x = b for symmetric A (row-major n × n); undefined when not positive definite. */
export function choleskySolve(a: Float64Array, n: number, ridge: number, b: Float64Array): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let diag = a[j * n + j]! + ridge;
    for (let k = 0; k < j; k++) diag -= l[j * n + k]! ** 2;
    // A pivot lost to cancellation (below 1e-13 of its diagonal) counts as not positive.
    if (!(diag > 1e-13 * (a[j * n + j]! + ridge)) || !Number.isFinite(diag)) return undefined;
    const root = Math.sqrt(diag);
    l[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = sum / root;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * y[k]!;
    y[i] = sum / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  return x;
}
