import { BspmlError } from '../../errors.js';
import { hessianAccumulate, logregMargins, packedLength } from '../../kernels/curvature.js';
import { logregAccumulate } from '../../kernels/logreg.js';

import type { RowBlock, Shape, UpdateResult } from '../types.js';
import { dotProduct, fromStandard, headLength, meanOf, norm, PARTIAL_HEAD, partialHeadLength, penaltyOf, type PenaltySpec, penaltyTerm, standardGradient, stdOf } from './layout.js';

/*
 * What Newton and L-BFGS share: a line search that costs no round of its own.
 *
 * A round evaluates the point θ = base + p (base: the last accepted point, p: the direction chosen
 * there). In the same pass over the rows, workers add the loss at base + α·p for each α of TRIALS
 * (one more margin per row: z − (1 − α)·(p·x)). The aggregator accepts θ when it lowers the
 * objective enough (Armijo: f(θ) ≤ f(base) + c₁·∇f(base)ᵀp), and then has θ's gradient (and, for
 * Newton, Hessian) to choose the next direction: one round per iteration, as a full Newton step
 * would cost. Otherwise the largest trial step that satisfies Armijo becomes the next point to
 * evaluate, accepted without another test (its objective is known): one extra round, only then.
 * When even the shortest trial fails, the direction is shortened by it and tried again.
 *
 * Multinomial L-BFGS (`interpolate`) carries no trial losses: there each costs a second product of
 * the rows with a C × dims matrix, while L-BFGS's full step passes in most rounds. A rejected point
 * still has its objective and gradient in the partial, so the step is cut to the minimum of the
 * cubic through f and f′ at both ends (as the line searches of L-BFGS-B and Moré–Thuente do) and
 * that point is evaluated, and tested, in the next round: also one extra round per rejection.
 *
 * Model tail: base θ (n = dims + 1), direction in θ (n), the same direction in input space (n, what
 * workers read), then f(base), ∇f(base)ᵀp, force (1: accept the point without a test), and the
 * accuracy and gradient norm of base; then the solver's own state (lbfgs.ts). A multinomial model
 * (K outputs, layout.ts) has the same tail with n = K·(dims + 1) and its own partial (multinomial.ts).
 */

export const TRIALS = [0.5, 0.2, 0.05, 0.01] as const;
const ARMIJO = 1e-4;
const SCALARS = 5;

export function secondOrderTailLength(dims: number, outputs = 1): number {
  return 3 * outputs * (dims + 1) + SCALARS;
}

/** Where the parts of the tail start. */
export function tailOffsets(dims: number, outputs = 1) {
  const n = outputs * (dims + 1);
  const base = headLength(dims, outputs);
  return { n, base, dir: base + n, rawDir: base + 2 * n, scalars: base + 3 * n, extra: base + 3 * n + SCALARS };
}

export function secondOrderInit(head: Float64Array, dims: number, extra: number, outputs = 1): Float64Array {
  const model = new Float64Array(headLength(dims, outputs) + secondOrderTailLength(dims, outputs) + extra);
  model.set(head);
  const o = tailOffsets(dims, outputs);
  // Round 0 evaluates the starting point (θ = 0, no direction) and accepts it.
  model[o.scalars] = Infinity;
  model[o.scalars + 2] = 1;
  return model;
}

export function secondOrderPartialLength(shape: Shape, withHessian: boolean): number {
  return shape.dims + PARTIAL_HEAD + TRIALS.length + (withHessian ? packedLength(shape.dims + 1) : 0);
}

/**
 * The gradient sums, loss, accuracy and rows at the model's point (the gradient-descent partial),
 * the losses at the trial steps, and with `withHessian` the Hessian of the summed loss in θ.
 */
export function secondOrderPartial(shape: Shape, model: Float64Array, block: RowBlock, out: Float64Array, withHessian: boolean, loss: RowLoss = logistic): void {
  const { dims } = shape;
  const { features, labels, start, end } = block;
  if (!labels) throw new Error(`${shape.algorithm === 'svm' ? 'linear SVM' : 'logistic regression'} partial needs labels`);
  const rows = end - start;
  const z = new Float64Array(rows);
  if (loss === logistic) {
    const { loss: total, correct } = logregAccumulate(features, labels, dims, start, end, model, out);
    out[dims + 1] += total;
    out[dims + 2] += correct;
    if (rows > 0) logregMargins(features, dims, start, end, model, z);
  } else if (rows > 0) {
    logregMargins(features, dims, start, end, model, z);
    rowLossAccumulate(features, labels, dims, start, z, loss, out);
  }
  out[dims + 3] += rows;
  if (rows === 0) return;

  const o = tailOffsets(dims);
  const rawDir = model.subarray(o.rawDir, o.rawDir + o.n);
  if (rawDir.some((v) => v !== 0)) {
    const zp = new Float64Array(rows);
    logregMargins(features, dims, start, end, rawDir, zp);
    const trials = out.subarray(dims + PARTIAL_HEAD, dims + PARTIAL_HEAD + TRIALS.length);
    for (let t = 0; t < TRIALS.length; t++) {
      const back = 1 - TRIALS[t]!;
      let sum = 0;
      for (let i = 0; i < rows; i++) {
        const zt = z[i]! - back * zp[i]!;
        sum += loss.value(zt, labels[start + i]!);
      }
      trials[t] += sum;
    }
  }
  if (withHessian) {
    const s = z;
    for (let i = 0; i < rows; i++) s[i] = loss.curvature(z[i]!, labels[start + i]!);
    const std = stdOf(model, dims);
    const invStd = new Float64Array(dims);
    for (let j = 0; j < dims; j++) invStd[j] = 1 / std[j]!;
    hessianAccumulate(features, dims, start, end, s, meanOf(model, dims), invStd, out.subarray(dims + PARTIAL_HEAD + TRIALS.length));
  }
}

/**
 * The gradient-descent partial head of `loss` (layout.ts: slope sums, loss, rows classified right;
 * not the rows) for rows [start, start + z.length), given their margins z: a loss the gradient kernel does not know.
 */
export function rowLossAccumulate(features: Float32Array, labels: Float32Array, dims: number, start: number, z: Float64Array, loss: RowLoss, out: Float64Array): void {
  let total = 0;
  let correct = 0;
  for (let i = 0; i < z.length; i++) {
    const y = labels[start + i]!;
    const zi = z[i]!;
    total += loss.value(zi, y);
    if ((zi >= 0 ? 1 : 0) === y) correct++;
    const g = loss.slope(zi, y);
    if (g === 0) continue;
    const row = (start + i) * dims;
    for (let j = 0; j < dims; j++) out[j] += g * features[row + j]!;
    out[dims] += g;
  }
  out[dims + 1] += total;
  out[dims + 2] += correct;
}

/** A loss of one row as a function of its margin z = w·x + b and its 0/1 label, with its derivatives in z. */
export interface RowLoss {
  value(z: number, y: number): number;
  slope(z: number, y: number): number;
  curvature(z: number, y: number): number;
}

/** The log-loss softplus(z) − y·z (its value and slope also come from the gradient kernel). */
export const logistic: RowLoss = {
  value: (z, y) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y * z,
  slope: (z, y) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))) - y,
  // σ(z)(1 − σ(z)) = e/(1 + e)² with e = exp(−|z|): no overflow either side.
  curvature: (z) => {
    const e = Math.exp(-Math.abs(z));
    return e / ((1 + e) * (1 + e));
  },
};

/** The accepted point of a round: its θ, objective, gradient in θ. */
export interface Accepted {
  theta: Float64Array;
  objective: number;
  grad: Float64Array;
  gradNorm: number;
  accuracy: number;
  lambda: number;
  rows: number;
}

/**
 * Chooses the next direction at an accepted point (in θ), given the point and the model that was
 * evaluated (with its merged partial and its solver state); may write solver state into `next`.
 */
export type DirectionRule = (accepted: Accepted, model: Float64Array, merged: Float64Array, next: Float64Array) => Float64Array;

/**
 * How a rejected point is shortened: `trials`, from the losses at TRIALS the partial carries;
 * `interpolate`, from the rejected point itself (its objective and slope along p, both in the
 * partial already), for a partial without trial losses (see the comment at the top).
 */
export type LineSearch = 'trials' | 'interpolate';

/** One round of a line-searched second-order method (see the comment at the top). */
export function secondOrderStep(spec: PenaltySpec, shape: Shape, model: Float64Array, merged: Float64Array, direction: DirectionRule, method: string, search: LineSearch = 'trials'): UpdateResult {
  const { dims } = shape;
  const outputs = shape.classes ?? 1;
  const o = tailOffsets(dims, outputs);
  // The partial head: gradient sums (o.n), then the summed loss, rows classified right, rows, trial losses.
  const lossAt = o.n;
  const trialsAt = partialHeadLength(dims, outputs);
  const n = merged[lossAt + 2]!;
  const lambda = penaltyOf(spec, n);
  const base = model.subarray(o.base, o.base + o.n);
  const dir = model.subarray(o.dir, o.dir + o.n);
  const [f0, slope, force, baseAccuracy, baseGradNorm] = model.subarray(o.scalars, o.scalars + SCALARS) as unknown as number[];
  const next = new Float64Array(model);

  const theta = new Float64Array(o.n);
  for (let j = 0; j < o.n; j++) theta[j] = base[j]! + dir[j]!;
  const objective = merged[lossAt]! / n + penaltyTerm(lambda, theta, dims, outputs);

  // The gradient at θ, whether θ is accepted (for the next direction) or not (for the interpolation).
  const grad = standardGradient(merged, model, theta, dims, lambda, new Float64Array(o.n), outputs);
  if (force === 1 || (Number.isFinite(objective) && objective <= f0! + ARMIJO * slope!) || (search === 'interpolate' && approximatelyWolfe(f0!, slope!, objective, dotProduct(grad, dir)))) {
    const gradNorm = norm(grad);
    const accuracy = merged[lossAt + 1]! / n;
    if (!Number.isFinite(objective) || !Number.isFinite(gradNorm)) {
      throw new BspmlError('E_DIVERGED', `${method} diverged (loss ${objective}, gradient norm ${gradNorm})`);
    }
    const stats = { gradNorm, accuracy, step: force === 1 ? 0 : 1 };
    next.set(theta, o.base);
    next.set([objective, 0, 0, accuracy, gradNorm], o.scalars);
    if (gradNorm <= spec.tol) {
      setDirection(next, dims, new Float64Array(o.n), outputs);
      return { model: next, objective, converged: true, stats };
    }
    const p = direction({ theta, objective, grad, gradNorm, accuracy, lambda, rows: n }, model, merged, next);
    if (!p.every(Number.isFinite)) throw new BspmlError('E_DIVERGED', `${method} diverged: its direction is not finite`);
    next[o.scalars + 1] = dotProduct(grad, p);
    setDirection(next, dims, p, outputs);
    return { model: next, objective, converged: false, stats };
  }

  if (search === 'interpolate') {
    // Rejected: base + α·p is evaluated next, α the minimiser of the cubic through f and its slope
    // at both ends (safeguarded), and tested like any point (f there is not known yet).
    const alpha = interpolatedStep(f0!, slope!, objective, dotProduct(grad, dir));
    next[o.scalars + 1] = alpha * slope!;
    next[o.scalars + 2] = 0;
    if (!(Math.abs(alpha * slope!) > 0)) throw new BspmlError('E_DIVERGED', `${method} stalled: no step along its direction lowers the objective (${f0})`);
    setDirection(next, dims, dir.map((v) => alpha * v), outputs);
    return { model: next, objective: f0!, converged: false, stats: { gradNorm: baseGradNorm!, accuracy: baseAccuracy!, step: alpha } };
  }

  // Rejected: the longest trial step that satisfies Armijo is evaluated next, or the shortest is tried again.
  const trials = merged.subarray(trialsAt, trialsAt + TRIALS.length);
  const point = new Float64Array(o.n);
  let chosen = -1;
  for (let t = 0; t < TRIALS.length && chosen < 0; t++) {
    const alpha = TRIALS[t]!;
    for (let j = 0; j < o.n; j++) point[j] = base[j]! + alpha * dir[j]!;
    const f = trials[t]! / n + penaltyTerm(lambda, point, dims, outputs);
    if (Number.isFinite(f) && f <= f0! + ARMIJO * alpha * slope!) chosen = t;
  }
  const alpha = chosen >= 0 ? TRIALS[chosen]! : TRIALS[TRIALS.length - 1]!;
  const shorter = dir.map((v) => alpha * v);
  next[o.scalars + 1] = alpha * slope!;
  next[o.scalars + 2] = chosen >= 0 ? 1 : 0;
  if (!(Math.abs(alpha * slope!) > 0)) throw new BspmlError('E_DIVERGED', `${method} stalled: no step along its direction lowers the objective (${f0})`);
  setDirection(next, dims, shorter, outputs);
  return { model: next, objective: f0!, converged: false, stats: { gradNorm: baseGradNorm!, accuracy: baseAccuracy!, step: alpha } };
}

/** How far f may rise, relative, on a step that passes the approximate Wolfe test: rounding of the summed loss. */
const ROUNDING = 1e-12;

/**
 * Hager and Zhang's approximate Wolfe test (SIAM J. Optim. 16(1), 2005), for the last steps, where
 * the decrease Armijo asks for (10⁻⁴ of a slope of ‖∇f‖²-size) is below the rounding of f itself and
 * a good step would be refused round after round: the step passes when f did not rise beyond
 * rounding and the slope at the new point along p, d1, has not turned up past −0.8 of the slope at
 * the base d0 (Hager–Zhang's (2δ − 1)·d0 with δ = 0.1): the step did not overshoot the minimum along p.
 */
function approximatelyWolfe(f0: number, d0: number, f1: number, d1: number): boolean {
  return Number.isFinite(f1) && f1 <= f0 + ROUNDING * Math.abs(f0) && d1 <= -0.8 * d0;
}

/** Where the step along p is cut to after f(1) failed Armijo's test: at least a tenth, at most half of it. */
const SHORTEST = 0.1;
const LONGEST = 0.5;

/**
 * The step α ∈ [0.1, 0.5] at the minimum of the cubic that matches f(0) = f0, f′(0) = d0 < 0,
 * f(1) = f1, f′(1) = d1 (Nocedal & Wright, Numerical Optimization, eq. 3.59); the quadratic through
 * f0, d0 and f1 where the cubic has no minimum or d1 is not finite; the shortest where f1 is not
 * finite either (the point overflowed). The safeguards are the usual backtracking ones: a rejected
 * f(1) lies above the Armijo line, so the minimum is short of 1, and a tenth keeps the next point
 * from collapsing onto the base.
 */
export function interpolatedStep(f0: number, d0: number, f1: number, d1: number): number {
  if (!Number.isFinite(f1)) return SHORTEST;
  const safe = (alpha: number) => (Number.isFinite(alpha) ? Math.min(LONGEST, Math.max(SHORTEST, alpha)) : LONGEST);
  const e = d0 + d1 - 3 * (f1 - f0);
  const root = e * e - d0 * d1;
  if (Number.isFinite(d1) && root >= 0) {
    const r = Math.sqrt(root);
    const denominator = d1 - d0 + 2 * r;
    if (denominator !== 0) return safe(1 - (d1 + r - e) / denominator);
  }
  const curvature = f1 - f0 - d0;
  return curvature > 0 ? safe(-d0 / (2 * curvature)) : SHORTEST;
}

/** Writes direction p (in θ) into the model's tail and the point base + p into its head. */
export function setDirection(next: Float64Array, dims: number, p: Float64Array, outputs: number): void {
  const o = tailOffsets(dims, outputs);
  next.set(p, o.dir);
  const raw = new Float64Array(o.n);
  fromStandard(p, next, dims, raw, outputs);
  next.set(raw, o.rawDir);
  const point = new Float64Array(o.n);
  for (let j = 0; j < o.n; j++) point[j] = next[o.base + j]! + p[j]!;
  fromStandard(point, next, dims, next, outputs);
}

/** The last accepted point's weights and biases in input space (the model a finished job reports). */
export function acceptedWeights(model: Float64Array, dims: number, outputs = 1): Float64Array {
  const o = tailOffsets(dims, outputs);
  const out = new Float64Array(o.n);
  fromStandard(model.subarray(o.base, o.base + o.n), model, dims, out, outputs);
  return out;
}
