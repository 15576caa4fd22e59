import { SpecError } from '../../errors.js';
import { logregAccumulate } from '../../kernels/logreg.js';
import type { LogregSpec } from '../../protocol/spec.js';
import type { LogregResult } from '../../protocol/types.js';
import { addInto, type Algorithm, type Shape } from '../types.js';
import { gradientStep } from './gd.js';
import { standardisation } from './init.js';

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
  },

  init(_spec, data) {
    return standardisation(data);
  },

  modelLength(shape) {
    return 3 * shape.dims + 1;
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

  update: gradientStep,

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
