import { BspmlError, SpecError } from '../errors.js';
import { logregAccumulate } from '../kernels/logreg.js';
import type { LogregSpec } from '../protocol/spec.js';
import type { LogregResult } from '../protocol/types.js';
import { addInto, type Algorithm, type Shape } from './types.js';

/*
 * Full-batch gradient descent on the mean log-loss (+ L2 on the weights, not the bias).
 *
 * The step is taken in standardised coordinates (each feature centred and scaled to unit variance),
 * which makes one learning rate work whatever the units of the columns; the model itself is kept in
 * the space of the input columns, so workers compute on raw rows and the weights need no conversion
 * when the model is used. Standardisation stats ride along in the model.
 *
 * Model: weights (dims), bias (1), column means (dims), column std devs (dims).
 * Partial: Σ(p−y)·x (dims), Σ(p−y) (1), Σ log-loss (1), rows classified right (1), rows (1).
 */

export const logreg: Algorithm<LogregSpec> = {
  name: 'logreg',

  shape(_spec, data): Shape {
    return { algorithm: 'logreg', dims: data.dims, k: 1 };
  },

  validate(_spec, data) {
    if (!data.labels) throw new SpecError(`logistic regression needs a label column in ${data.source}`, 'data.labelColumn');
    const other = Object.keys(data.labels).filter((v) => v !== '0' && v !== '1');
    if (other.length > 0) {
      const rows = other.reduce((n, v) => n + data.labels![v]!, 0);
      throw new SpecError(`${data.source}: field "${data.labelName ?? 'label'}": labels must be 0 or 1; ${rows} row(s) hold ${other.join(', ')}`, 'data.labelColumn');
    }
  },

  init(_spec, data) {
    const { dims } = data;
    const model = new Float64Array(3 * dims + 1);
    for (let j = 0; j < dims; j++) {
      const { count, mean, m2 } = data.columns[j]!;
      model[dims + 1 + j] = mean;
      // A constant column has no scale to learn: leave it unscaled rather than divide by zero.
      model[2 * dims + 1 + j] = Math.sqrt(m2 / count) || 1;
    }
    return model;
  },

  partialLength(shape) {
    return shape.dims + 4;
  },

  partial(shape, model, block, out) {
    const { dims } = shape;
    if (!block.labels) throw new Error('logistic regression partial needs labels');
    const { loss, correct } = logregAccumulate(block.features, block.labels, dims, block.start, block.end, model, out);
    out[dims + 1] += loss;
    out[dims + 2] += correct;
    out[dims + 3] += block.end - block.start;
  },

  merge: addInto,

  update(spec, shape, model, merged) {
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
  },

  result(_spec, data, model, last, _merged, rounds): LogregResult {
    const dims = data.dims;
    return {
      algorithm: 'logreg',
      dims,
      featureNames: data.featureNames,
      labelName: data.labelName ?? 'label',
      weights: Array.from(model.subarray(0, dims)),
      bias: model[dims]!,
      loss: last.objective,
      accuracy: last.stats.accuracy!,
      gradNorm: last.stats.gradNorm!,
      rounds,
      converged: last.converged,
    };
  },
};
