import { SpecError } from '../../errors.js';
import type { SvmSpec } from '../../domain/spec.js';
import type { SvmOvrResult, SvmResult } from '../../domain/results.js';
import { standardisation } from '../logreg/init.js';
import { headLength, linearFields, penaltyOf, writtenPenalty } from '../logreg/layout.js';
import { localSgdInit, localSgdModelLength, localSgdPartial, localSgdPartialLength, localSgdSettings, localSgdStep } from '../logreg/localSgd.js';
import { newtonStep } from '../logreg/newton.js';
import { acceptedWeights, secondOrderInit, secondOrderPartial, secondOrderPartialLength, secondOrderTailLength } from '../logreg/secondOrder.js';
import { addInto, type Algorithm, type Shape } from '../types.js';
import { weightedPartial } from '../weightedPartial.js';
import { squaredHinge } from './loss.js';
import { ovrInit, ovrModelLength, ovrPartial, ovrPartialLength, ovrResult, ovrStep } from './oneVsRest.js';

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
    return {
      algorithm: 'svm',
      dims: data.dims,
      k: 1,
      solver: 'newton',
      ...(data.classes !== undefined ? { classes: data.classes } : {}),
      ...(data.classWeights ? { classWeights: data.classWeights } : {}),
    };
  },

  validate(spec, data) {
    if (!data.labels) throw new SpecError(`a linear SVM needs a label column in ${data.source}`, 'data.labelColumn');
    // The preparation round collected the classes (any labels, indexed 0..C−1 in sorted order).
    const classes = Object.keys(data.labels).length;
    if (classes > 2 && spec.solver === 'local-sgd') {
      throw new SpecError(`invalid job spec: solver: local-sgd trains a two-class SVM; ${data.source} has ${classes} classes (field "${data.labelName ?? 'label'}"), which newton fits one-vs-rest`, 'solver');
    }
  },

  // More than two classes: one-vs-rest, a row of weights per class.
  classes: (_spec, data) => {
    const classes = Object.keys(data.labels ?? {}).length;
    return classes > 2 ? classes : undefined;
  },

  init(spec, data) {
    if (spec.solver === 'local-sgd') return localSgdInit(standardisation(data), data.dims);
    const classes = Object.keys(data.labels ?? {}).length;
    if (classes > 2) return ovrInit(data, classes);
    return secondOrderInit(standardisation(data), data.dims, 0);
  },

  modelLength(shape) {
    if (shape.solver === 'local-sgd') return localSgdModelLength(shape.dims);
    if (shape.classes !== undefined) return ovrModelLength(shape.dims, shape.classes);
    return headLength(shape.dims) + secondOrderTailLength(shape.dims);
  },

  partialLength(shape) {
    if (shape.solver === 'local-sgd') return localSgdPartialLength(shape.dims);
    if (shape.classes !== undefined) return ovrPartialLength(shape.dims, shape.classes);
    return secondOrderPartialLength(shape, true);
  },

  partial(shape, model, block, out) {
    if (shape.solver === 'local-sgd') localSgdPartial(shape, model, block, out);
    else if (shape.classes !== undefined) ovrPartial(shape, model, block, out);
    else if (shape.classWeights) {
      // Rows classified right and rows are counts, not weighted (weightedPartial.ts).
      weightedPartial(shape.classWeights, block, out, [shape.dims + 2, shape.dims + 3], (rows, sums) => secondOrderPartial(shape, model, rows, sums, true, squaredHinge));
    } else secondOrderPartial(shape, model, block, out, true, squaredHinge);
  },

  merge: addInto,

  update(spec, shape, model, merged) {
    if (shape.solver === 'local-sgd') return localSgdStep(spec, shape, model, merged, 'local SGD');
    return shape.classes !== undefined ? ovrStep(spec, shape, model, merged) : newtonStep(spec, shape, model, merged);
  },

  result(spec, data, model, last, _merged, rounds): SvmResult | SvmOvrResult {
    if (data.classes !== undefined) return ovrResult(spec, data, model, last, rounds);
    // Local SGD's model is the average after its last round (as logistic regression's); Newton's its last accepted point.
    const lambda = penaltyOf(spec, data.rows);
    const fields = linearFields(data, spec.solver === 'local-sgd' ? model : acceptedWeights(model, data.dims), last, rounds);
    const penalty = writtenPenalty(lambda, [fields.weights], model, data.dims);
    if (spec.solver === 'local-sgd') return { algorithm: 'svm', solver: 'local-sgd', lossFunction: 'hinge', ...fields, penalty };
    return { algorithm: 'svm', solver: 'newton', lossFunction: 'squared_hinge', ...fields, penalty };
  },
};
