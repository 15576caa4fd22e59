import { BspmlError } from '../../errors.js';
import type { LogregSpec } from '../../domain/spec.js';
import type { Shape, UpdateResult } from '../types.js';
import { fromStandard, headLength, norm, penaltyOf, penaltyTerm, standardGradient, toStandard } from './layout.js';

/*
 * Full-batch gradient descent in standardised coordinates, θ ← θ − lr·s·∇f(θ), with a back-off: for
 * a convex L-smooth objective a step below 2/L never raises it, so a round whose objective rose means
 * the step is too long. The step is then retaken from the last point, whose gradient the model keeps,
 * with s cut by quadratic interpolation (between 1/100 and 1/2): no extra round, and `--lr 1e9` ends
 * near the optimum instead of at a huge loss.
 *
 * Model tail: last accepted θ (dims + 1), its gradient (dims + 1), its objective (NaN before the
 * first round), step scale s (1 until a back-off).
 */

export function gdTailLength(dims: number): number {
  return 2 * dims + 4;
}

export function gdInit(head: Float64Array, dims: number): Float64Array {
  const model = new Float64Array(headLength(dims) + gdTailLength(dims));
  model.set(head);
  const t = headLength(dims);
  model[t + 2 * dims + 2] = NaN;
  model[t + 2 * dims + 3] = 1;
  return model;
}

/** A rise of the objective beyond rounding of its sum. */
const RISE = 1e-12;
/** Below this scale the step is no step at all: the objective rises whatever the learning rate. */
const MIN_SCALE = 1e-15;

export function gradientStep(spec: LogregSpec, shape: Shape, model: Float64Array, merged: Float64Array): UpdateResult {
  const { dims } = shape;
  const n = merged[dims + 3]!;
  const lambda = penaltyOf(spec, n);
  const t = headLength(dims);
  const lastTheta = model.subarray(t, t + dims + 1);
  const lastGrad = model.subarray(t + dims + 1, t + 2 * dims + 2);
  const lastObjective = model[t + 2 * dims + 2]!;
  const scale = model[t + 2 * dims + 3]!;
  const next = new Float64Array(model);
  const nextTheta = new Float64Array(dims + 1);

  const theta = toStandard(model, dims);
  const objective = merged[dims + 1]! / n + penaltyTerm(lambda, theta, dims);
  const grad = standardGradient(merged, model, theta, dims, lambda);
  const gradNorm = norm(grad);
  const accuracy = merged[dims + 2]! / n;

  const rose = !Number.isNaN(lastObjective) && !(objective <= lastObjective + RISE * Math.abs(lastObjective));
  if (rose) {
    // f(θ) along the last step: f(0) = lastObjective, f'(0) = −‖g‖², f(η) = objective; the minimiser
    // of the parabola through those, as a fraction of η.
    const eta = spec.lr * scale;
    const g2 = norm(lastGrad) ** 2;
    const rise = objective - lastObjective + eta * g2;
    const fraction = Number.isFinite(rise) && rise > 0 ? (eta * g2) / (2 * rise) : 0;
    const nextScale = scale * Math.min(0.5, Math.max(0.01, fraction));
    if (nextScale < MIN_SCALE) {
      throw new BspmlError('E_DIVERGED', `gradient descent diverged: the objective rises (${objective}) even with the step cut to ${nextScale} × lr = ${spec.lr}`);
    }
    for (let j = 0; j <= dims; j++) nextTheta[j] = lastTheta[j]! - spec.lr * nextScale * lastGrad[j]!;
    fromStandard(nextTheta, model, dims, next);
    next[t + 2 * dims + 3] = nextScale;
    const lastGradNorm = norm(lastGrad);
    finiteOrThrow(next, dims, lastObjective, spec);
    return { model: next, objective: lastObjective, converged: false, stats: { gradNorm: lastGradNorm, accuracy, stepScale: nextScale } };
  }

  for (let j = 0; j <= dims; j++) nextTheta[j] = theta[j]! - spec.lr * scale * grad[j]!;
  fromStandard(nextTheta, model, dims, next);
  next.set(theta, t);
  next.set(grad, t + dims + 1);
  next[t + 2 * dims + 2] = objective;
  finiteOrThrow(next, dims, objective, spec, gradNorm);
  return { model: next, objective, converged: gradNorm <= spec.tol, stats: { gradNorm, accuracy, stepScale: scale } };
}

/**
 * Weights whose squared norm overflows (|v| beyond ~1e154) are numerically meaningless even where the
 * loss happens to stay finite: that, too, is divergence.
 */
function finiteOrThrow(next: Float64Array, dims: number, objective: number, spec: LogregSpec, gradNorm = 0): void {
  let squared = 0;
  for (let j = 0; j < dims; j++) squared += next[j]! * next[j]!;
  if (Number.isFinite(objective) && Number.isFinite(gradNorm) && Number.isFinite(squared) && next.subarray(0, dims + 1).every(Number.isFinite)) return;
  throw new BspmlError('E_DIVERGED', `gradient descent diverged (loss ${objective}, squared weight norm ${squared}): lower the learning rate (lr = ${spec.lr})`);
}
