import type { DataSummary } from '../../data/types.js';
import type { UpdateResult } from '../types.js';

/*
 * Layouts shared by every logistic-regression solver.
 *
 * Model head (what workers and predict read): weights (dims), bias (1), column means (dims), column
 * std devs (dims). Each solver appends its own state after the head (see gd.ts, secondOrder.ts).
 *
 * Partial head: Σ(p−y)·x (dims), Σ(p−y) (1), Σ log-loss (1), rows classified right (1), rows (1).
 *
 * The solvers step in standardised coordinates θ = (v, c): v_j = w_j·std_j, c = b + Σ w_j·mean_j,
 * the parameters of the same model on centred, unit-variance columns. One step size then works
 * whatever the units of the columns, and the L2 penalty is on v, as scikit-learn's is on standardised data.
 */

/** The fields a linear model's file shares (logistic regression, SVM): weights and bias in input space and the last round's figures. */
export function linearFields(data: DataSummary, weights: Float64Array, last: UpdateResult, rounds: number) {
  const dims = data.dims;
  return {
    dims,
    featureNames: data.featureNames,
    labelName: data.labelName ?? 'label',
    weights: Array.from(weights.subarray(0, dims)),
    bias: weights[dims]!,
    loss: last.objective,
    accuracy: last.stats.accuracy!,
    gradNorm: last.stats.gradNorm!,
    rounds,
    converged: last.converged,
  };
}

export function headLength(dims: number): number {
  return 3 * dims + 1;
}

export const PARTIAL_HEAD = 4;

export function meanOf(model: Float64Array, dims: number): Float64Array {
  return model.subarray(dims + 1, 2 * dims + 1);
}

export function stdOf(model: Float64Array, dims: number): Float64Array {
  return model.subarray(2 * dims + 1, 3 * dims + 1);
}

/** θ of the model's head (weights and bias). */
export function toStandard(model: Float64Array, dims: number, out = new Float64Array(dims + 1)): Float64Array {
  const mean = meanOf(model, dims);
  const std = stdOf(model, dims);
  let c = model[dims]!;
  for (let j = 0; j < dims; j++) {
    out[j] = model[j]! * std[j]!;
    c += model[j]! * mean[j]!;
  }
  out[dims] = c;
  return out;
}

/**
 * Weights and bias in input space for θ, written to out[0..dims]. Linear, so it also maps a
 * direction in θ to the direction workers apply to raw rows.
 */
export function fromStandard(theta: Float64Array, model: Float64Array, dims: number, out: Float64Array): void {
  const mean = meanOf(model, dims);
  const std = stdOf(model, dims);
  let b = theta[dims]!;
  for (let j = 0; j < dims; j++) {
    out[j] = theta[j]! / std[j]!;
    b -= out[j]! * mean[j]!;
  }
  out[dims] = b;
}

/** What the second-order solvers read from a spec (logistic regression's and the SVM's). */
export interface PenaltySpec {
  l2: number;
  C?: number;
  tol: number;
}

/**
 * The L2 weight of the objective mean log-loss + (λ/2)‖v‖²: `l2`, or from scikit-learn's C, which
 * weighs ½‖v‖² + C·Σ log-loss: dividing that by C·n gives ours with λ = 1/(C·n).
 */
export function penaltyOf(spec: PenaltySpec, rows: number): number {
  return spec.C !== undefined ? 1 / (spec.C * rows) : spec.l2;
}

/** (λ/2)‖v‖² for θ (the bias is not penalised); 0 without a penalty, so huge weights never make 0 × ∞. */
export function penaltyTerm(lambda: number, theta: Float64Array, dims: number): number {
  if (lambda === 0) return 0;
  let sum = 0;
  for (let j = 0; j < dims; j++) sum += theta[j]! * theta[j]!;
  return (lambda / 2) * sum;
}

/** The gradient of the objective in θ from a merged partial's sums, at the model whose θ is given. */
export function standardGradient(merged: Float64Array, model: Float64Array, theta: Float64Array, dims: number, lambda: number, out = new Float64Array(dims + 1)): Float64Array {
  const n = merged[dims + 3]!;
  const gradBias = merged[dims]!;
  const mean = meanOf(model, dims);
  const std = stdOf(model, dims);
  for (let j = 0; j < dims; j++) out[j] = (merged[j]! - mean[j]! * gradBias) / (std[j]! * n) + lambda * theta[j]!;
  out[dims] = gradBias / n;
  return out;
}

export function norm(v: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  return Math.sqrt(sum);
}

export function dotProduct(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
