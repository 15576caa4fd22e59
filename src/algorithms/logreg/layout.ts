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
 * Multinomial models (multinomial.ts) have K = C outputs, binary ones K = 1, and the same layouts
 * with one row of weights per output: weights (K × dims, row-major), biases (K), means, std devs;
 * partials Σ(p−y)·x (K × dims), Σ(p−y) (K), loss, rows right, rows; θ = (V (K × dims), c (K)).
 * The functions below take K last, 1 when absent.
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
    // The labels the data holds for class 0 and class 1 (P(class 1) = σ(w·x + b)).
    ...(data.classLabels ? { classes: data.classLabels } : {}),
    ...(data.classWeights ? { classWeights: data.classWeights } : {}),
    weights: Array.from(weights.subarray(0, dims)),
    bias: weights[dims]!,
    loss: last.objective,
    accuracy: last.stats.accuracy!,
    gradNorm: last.stats.gradNorm!,
    rounds,
    converged: last.converged,
  };
}

export function headLength(dims: number, outputs = 1): number {
  return outputs * (dims + 1) + 2 * dims;
}

/** Length of the binary partial head beyond the weights (dims + PARTIAL_HEAD in all). */
export const PARTIAL_HEAD = 4;

/** Length of the partial head for K outputs: gradient sums (K·(dims + 1)), loss, rows right, rows. */
export function partialHeadLength(dims: number, outputs = 1): number {
  return outputs * (dims + 1) + 3;
}

export function meanOf(model: Float64Array, dims: number, outputs = 1): Float64Array {
  const at = outputs * (dims + 1);
  return model.subarray(at, at + dims);
}

export function stdOf(model: Float64Array, dims: number, outputs = 1): Float64Array {
  const at = outputs * (dims + 1) + dims;
  return model.subarray(at, at + dims);
}

/** θ of the model's head (weights and biases). */
export function toStandard(model: Float64Array, dims: number, out = new Float64Array(dims + 1), outputs = 1): Float64Array {
  const mean = meanOf(model, dims, outputs);
  const std = stdOf(model, dims, outputs);
  for (let k = 0; k < outputs; k++) {
    let c = model[outputs * dims + k]!;
    for (let j = 0; j < dims; j++) {
      const w = model[k * dims + j]!;
      out[k * dims + j] = w * std[j]!;
      c += w * mean[j]!;
    }
    out[outputs * dims + k] = c;
  }
  return out;
}

/**
 * Weights and biases in input space for θ, written to out[0..K·(dims + 1)). Linear, so it also maps
 * a direction in θ to the direction workers apply to raw rows.
 */
export function fromStandard(theta: Float64Array, model: Float64Array, dims: number, out: Float64Array, outputs = 1): void {
  const mean = meanOf(model, dims, outputs);
  const std = stdOf(model, dims, outputs);
  for (let k = 0; k < outputs; k++) {
    let b = theta[outputs * dims + k]!;
    for (let j = 0; j < dims; j++) {
      const w = theta[k * dims + j]! / std[j]!;
      out[k * dims + j] = w;
      b -= w * mean[j]!;
    }
    out[outputs * dims + k] = b;
  }
}

/** What the second-order solvers read from a spec (logistic regression's and the SVM's). */
export interface PenaltySpec {
  l2?: number;
  C?: number;
  tol: number;
}

/**
 * The L2 weight of the objective mean log-loss + (λ/2)‖v‖²: `l2`, or from scikit-learn's C, which
 * weighs ½‖v‖² + C·Σ log-loss: dividing that by C·n gives ours with λ = 1/(C·n).
 */
export function penaltyOf(spec: PenaltySpec, rows: number): number {
  return spec.C !== undefined ? 1 / (spec.C * rows) : (spec.l2 ?? 0);
}

/** (λ/2)‖V‖² for θ (biases are not penalised); 0 without a penalty, so huge weights never make 0 × ∞. */
export function penaltyTerm(lambda: number, theta: Float64Array, dims: number, outputs = 1): number {
  if (lambda === 0) return 0;
  let sum = 0;
  for (let j = 0; j < outputs * dims; j++) sum += theta[j]! * theta[j]!;
  return (lambda / 2) * sum;
}

/** The gradient of the objective in θ from a merged partial's sums, at the model whose θ is given. */
export function standardGradient(
  merged: Float64Array,
  model: Float64Array,
  theta: Float64Array,
  dims: number,
  lambda: number,
  out = new Float64Array(dims + 1),
  outputs = 1,
): Float64Array {
  const width = outputs * (dims + 1);
  const n = merged[width + 2]!;
  const mean = meanOf(model, dims, outputs);
  const std = stdOf(model, dims, outputs);
  for (let k = 0; k < outputs; k++) {
    const gradBias = merged[outputs * dims + k]!;
    for (let j = 0; j < dims; j++) out[k * dims + j] = (merged[k * dims + j]! - mean[j]! * gradBias) / (std[j]! * n) + lambda * theta[k * dims + j]!;
    out[outputs * dims + k] = gradBias / n;
  }
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

/**
 * (λ/2)·‖v‖² of a written model: its input-space weights (one row per output) back in standardised
 * coordinates, v_j = w_j·std_j, with the standardisation its model head carries. The file's `loss`
 * less this is the data term (mean log-loss, or the SVM's mean hinge).
 */
export function writtenPenalty(lambda: number, rows: number[][], model: Float64Array, dims: number): number {
  if (lambda === 0) return 0;
  const std = stdOf(model, dims, rows.length);
  let sum = 0;
  for (const w of rows) for (let j = 0; j < dims; j++) sum += (w[j]! * std[j]!) ** 2;
  return (lambda / 2) * sum;
}
