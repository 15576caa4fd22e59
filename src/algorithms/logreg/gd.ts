import { BspmlError } from '../../errors.js';
import type { LogregSpec } from '../../protocol/spec.js';
import type { Shape, UpdateResult } from '../types.js';

/** One full-batch gradient-descent step in standardised coordinates (see index.ts for the layouts). */
export function gradientStep(spec: LogregSpec, shape: Shape, model: Float64Array, merged: Float64Array): UpdateResult {
  const { dims } = shape;
  const n = merged[dims + 3]!;
  const gradBias = merged[dims]!;
  const mean = model.subarray(dims + 1, 2 * dims + 1);
  const std = model.subarray(2 * dims + 1);
  const next = new Float64Array(model);

  let standardBias = model[dims]!;
  for (let j = 0; j < dims; j++) standardBias += model[j]! * mean[j]!;
  let penalty = 0;
  let normSq = (gradBias / n) ** 2;
  let shiftBias = 0;
  for (let j = 0; j < dims; j++) {
    const v = model[j]! * std[j]!;
    const g = (merged[j]! - mean[j]! * gradBias) / (std[j]! * n) + spec.l2 * v;
    normSq += g * g;
    penalty += v * v;
    next[j] = (v - spec.lr * g) / std[j]!;
    shiftBias += next[j]! * mean[j]!;
  }
  next[dims] = standardBias - (spec.lr * gradBias) / n - shiftBias;

  // Without a penalty, huge weights must not turn 0 × ∞ into a NaN loss.
  const objective = merged[dims + 1]! / n + (spec.l2 > 0 ? (spec.l2 / 2) * penalty : 0);
  // Weights whose squared norm overflows (|v| beyond ~1e154) are numerically meaningless even
  // where the loss happens to stay finite: that, too, is divergence.
  const finite = Number.isFinite(objective) && Number.isFinite(normSq) && Number.isFinite(penalty) && next.subarray(0, dims + 1).every(Number.isFinite);
  if (!finite) {
    throw new BspmlError(
      'E_DIVERGED',
      `gradient descent diverged (loss ${objective}, squared weight norm ${penalty}): lower the learning rate (lr = ${spec.lr})`,
    );
  }
  const gradNorm = Math.sqrt(normSq);
  return {
    model: next,
    objective,
    converged: gradNorm <= spec.tol,
    stats: { gradNorm, accuracy: merged[dims + 2]! / n },
  };
}
