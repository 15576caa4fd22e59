import { SpecError } from '../../errors.js';
import type { SvmSpec } from '../../protocol/spec.js';
import type { SvmResult } from '../../protocol/types.js';
import { standardisation } from '../logreg/init.js';
import { headLength, linearFields } from '../logreg/layout.js';
import { newtonStep } from '../logreg/newton.js';
import { acceptedWeights, secondOrderInit, secondOrderPartial, secondOrderPartialLength, secondOrderTailLength } from '../logreg/secondOrder.js';
import { addInto, type Algorithm, type Shape } from '../types.js';
import { squaredHinge } from './loss.js';

/*
 * Linear SVM: mean squared hinge max(0, 1 − y±·(w·x + b))² (y± = 2·label − 1) + (λ/2)·‖v‖² on
 * standardised weights, the smooth primal that LIBLINEAR solves with Newton (its C ↔ λ = 1/(C·n), as
 * for logistic regression). The Hessian is the generalised one, 2·Σ over rows inside the margin of
 * x̃x̃ᵀ; the solver is logistic regression's Newton with its in-round line search (logreg/secondOrder.ts).
 */

export const svm: Algorithm<SvmSpec> = {
  name: 'svm',

  shape(_spec, data): Shape {
    return { algorithm: 'svm', dims: data.dims, k: 1, solver: 'newton' };
  },

  validate(_spec, data) {
    if (!data.labels) throw new SpecError(`a linear SVM needs a label column in ${data.source}`, 'data.labelColumn');
  },

  init(_spec, data) {
    return secondOrderInit(standardisation(data), data.dims, 0);
  },

  modelLength(shape) {
    return headLength(shape.dims) + secondOrderTailLength(shape.dims);
  },

  partialLength(shape) {
    return secondOrderPartialLength(shape, true);
  },

  partial(shape, model, block, out) {
    secondOrderPartial(shape, model, block, out, true, squaredHinge);
  },

  merge: addInto,

  update: newtonStep,

  result(_spec, data, model, last, _merged, rounds): SvmResult {
    return { algorithm: 'svm', ...linearFields(data, acceptedWeights(model, data.dims), last, rounds) };
  },
};
