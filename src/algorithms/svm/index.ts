import { SpecError } from '../../errors.js';
import type { SvmSpec } from '../../domain/spec.js';
import type { SvmResult } from '../../domain/results.js';
import { standardisation } from '../logreg/init.js';
import { headLength, linearFields, penaltyOf, writtenPenalty } from '../logreg/layout.js';
import { localSgdInit, localSgdModelLength, localSgdPartial, localSgdPartialLength, localSgdSettings, localSgdStep } from '../logreg/localSgd.js';
import { newtonStep } from '../logreg/newton.js';
import { acceptedWeights, secondOrderInit, secondOrderPartial, secondOrderPartialLength, secondOrderTailLength } from '../logreg/secondOrder.js';
import { addInto, type Algorithm, type Shape } from '../types.js';
import { squaredHinge } from './loss.js';

/*
 * Linear SVM: mean squared hinge max(0, 1 − y±·(w·x + b))² (y± = 2·label − 1) + (λ/2)·‖v‖² on
 * standardised weights, the smooth primal that LIBLINEAR solves with Newton (its C ↔ λ = 1/(C·n), as
 * for logistic regression). The Hessian is the generalised one, 2·Σ over rows inside the margin of
 * x̃x̃ᵀ; the solver is logistic regression's Newton with its in-round line search (logreg/secondOrder.ts).
 *
 * `solver: 'local-sgd'` minimises the hinge max(0, 1 − y±·(w·x + b)) + (λ/2)·‖v‖² instead, by
 * logistic regression's local SGD (logreg/localSgd.ts): the loss of the classic SVM (Pegasos,
 * scikit-learn's SGDClassifier), which SGD's subgradient steps handle and Newton cannot, while the
 * squared hinge already has a solver that needs a handful of rounds.
 */

export const svm: Algorithm<SvmSpec> = {
  name: 'svm',

  shape(spec, data): Shape {
    if (spec.solver === 'local-sgd') return { algorithm: 'svm', dims: data.dims, k: 1, solver: 'local-sgd', sgd: localSgdSettings(spec, data.rows, 'hinge') };
    return { algorithm: 'svm', dims: data.dims, k: 1, solver: 'newton' };
  },

  validate(_spec, data) {
    if (!data.labels) throw new SpecError(`a linear SVM needs a label column in ${data.source}`, 'data.labelColumn');
    // The preparation round collected the classes (any labels, indexed 0..C−1 in sorted order).
    const classes = Object.keys(data.labels).length;
    if (classes > 2) {
      throw new SpecError(`${data.source}: field "${data.labelName ?? 'label'}": ${classes} classes; a linear SVM has two (logreg takes more)`, 'data.labelColumn');
    }
  },

  init(spec, data) {
    if (spec.solver === 'local-sgd') return localSgdInit(standardisation(data), data.dims);
    return secondOrderInit(standardisation(data), data.dims, 0);
  },

  modelLength(shape) {
    if (shape.solver === 'local-sgd') return localSgdModelLength(shape.dims);
    return headLength(shape.dims) + secondOrderTailLength(shape.dims);
  },

  partialLength(shape) {
    if (shape.solver === 'local-sgd') return localSgdPartialLength(shape.dims);
    return secondOrderPartialLength(shape, true);
  },

  partial(shape, model, block, out) {
    if (shape.solver === 'local-sgd') localSgdPartial(shape, model, block, out);
    else secondOrderPartial(shape, model, block, out, true, squaredHinge);
  },

  merge: addInto,

  update(spec, shape, model, merged) {
    return shape.solver === 'local-sgd' ? localSgdStep(spec, shape, model, merged, 'local SGD') : newtonStep(spec, shape, model, merged);
  },

  result(spec, data, model, last, _merged, rounds): SvmResult {
    // Local SGD's model is the average after its last round (as logistic regression's); Newton's its last accepted point.
    const lambda = penaltyOf(spec, data.rows);
    const fields = linearFields(data, spec.solver === 'local-sgd' ? model : acceptedWeights(model, data.dims), last, rounds);
    const penalty = writtenPenalty(lambda, [fields.weights], model, data.dims);
    if (spec.solver === 'local-sgd') return { algorithm: 'svm', solver: 'local-sgd', lossFunction: 'hinge', ...fields, penalty };
    return { algorithm: 'svm', solver: 'newton', lossFunction: 'squared_hinge', ...fields, penalty };
  },
};
