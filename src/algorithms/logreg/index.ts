import { classLabelProblem } from '../../data/labels.js';
import { SpecError } from '../../errors.js';
import { logregAccumulate } from '../../kernels/logreg.js';
import type { LogregSolver, LogregSpec } from '../../domain/spec.js';
import type { LogregResult, MultinomialResult } from '../../domain/results.js';
import { addInto, type Algorithm, type RowBlock, type Shape } from '../types.js';
import { weightedPartial } from '../weightedPartial.js';
import { gdInit, gdTailLength, gradientStep } from './gd.js';
import { giantStep, giantThreadSumLength } from './giant.js';
import { standardisation } from './init.js';
import { headLength, linearFields, PARTIAL_HEAD, partialHeadLength, penaltyOf, writtenPenalty } from './layout.js';
import { lbfgsStateLength, lbfgsStep } from './lbfgs.js';
import { localSgdInit, localSgdModelLength, localSgdPartial, localSgdPartialLength, localSgdSettings, localSgdStep } from './localSgd.js';
import { classesOf, multinomialInit, multinomialModelLength, multinomialPartial, multinomialPartialLength, multinomialResult, multinomialSolverOf, multinomialThreadRanges, validateClasses } from './multinomial.js';
import { NEWTON_MAX_DIMS, newtonStep } from './newton.js';
import { acceptedWeights, secondOrderInit, secondOrderTailLength, secondOrderPartial, secondOrderPartialLength, tailOffsets } from './secondOrder.js';

/*
 * Logistic regression: mean log-loss + (λ/2)·‖v‖² on standardised weights (bias not penalised),
 * solved by one of newton.ts, lbfgs.ts, gd.ts, localSgd.ts (docs/algorithms.md). Workers compute on raw rows with
 * the weights in input space; the solvers step in standardised coordinates (layout.ts). Labels
 * 0..C−1 with C > 2 make it multinomial (multinomial.ts): shapes with `classes`, solved by L-BFGS or
 * GIANT (giant.ts).
 */

/** The solver a spec runs: its own, or Newton while the Hessian is small, else L-BFGS. */
export function solverOf(spec: Pick<LogregSpec, 'solver'>, dims: number): LogregSolver {
  return spec.solver ?? (dims <= NEWTON_MAX_DIMS ? 'newton' : 'lbfgs');
}

export const logreg: Algorithm<LogregSpec> = {
  name: 'logreg',

  shape(spec, data): Shape {
    const weighted = data.classWeights ? { classWeights: data.classWeights } : {};
    if (data.classes !== undefined) return { algorithm: 'logreg', dims: data.dims, k: 1, solver: multinomialSolverOf(spec), classes: data.classes, ...weighted };
    const solver = solverOf(spec, data.dims);
    const shape: Shape = { algorithm: 'logreg', dims: data.dims, k: 1, solver, ...weighted };
    if (solver === 'local-sgd') shape.sgd = localSgdSettings(spec, data.rows, 'logistic');
    return shape;
  },

  // Checked as the shards load, so that a bad label is named by its file, line and column; the
  // classes as a whole (no gap) once the summaries are merged, in validate.
  labelRule: classLabelProblem,

  validate(spec, data) {
    if (!data.labels) throw new SpecError(`logistic regression needs a label column in ${data.source}`, 'data.labelColumn');
    const other = Object.keys(data.labels).filter((v) => classLabelProblem(Number(v)) !== undefined);
    if (other.length > 0) {
      const rows = other.reduce((n, v) => n + data.labels![v]!, 0);
      throw new SpecError(`${data.source}: field "${data.labelName ?? 'label'}": labels must be classes 0, 1, 2, …; ${rows} row(s) hold ${other.join(', ')}`, 'data.labelColumn');
    }
    validateClasses(spec, data);
    if (spec.solver === 'giant' && classesOf(data) === undefined) {
      throw new SpecError(`invalid job spec: solver: giant is for more than two classes; ${data.source} has two (field "${data.labelName ?? 'label'}"): use newton or lbfgs`, 'solver');
    }
  },

  classes: (_spec, data) => classesOf(data),

  init(spec, data) {
    const classes = classesOf(data);
    if (classes !== undefined) return multinomialInit(data, classes, multinomialSolverOf(spec));
    const head = standardisation(data);
    switch (solverOf(spec, data.dims)) {
      case 'gd':
        return gdInit(head, data.dims);
      case 'newton':
        return secondOrderInit(head, data.dims, 0);
      case 'lbfgs':
        return secondOrderInit(head, data.dims, lbfgsStateLength(data.dims));
      case 'local-sgd':
        return localSgdInit(head, data.dims);
      case 'giant':
        throw new SpecError('invalid job spec: solver: giant is for more than two classes', 'solver');
    }
  },

  modelLength(shape) {
    const { dims } = shape;
    if (shape.classes !== undefined) return multinomialModelLength(dims, shape.classes, shape.solver === 'giant' ? 'giant' : 'lbfgs');
    switch (shape.solver) {
      case 'newton':
        return headLength(dims) + secondOrderTailLength(dims);
      case 'lbfgs':
        return headLength(dims) + secondOrderTailLength(dims) + lbfgsStateLength(dims);
      case 'local-sgd':
        return localSgdModelLength(dims);
      default:
        return headLength(dims) + gdTailLength(dims);
    }
  },

  partialLength(shape) {
    if (shape.classes !== undefined) return multinomialPartialLength(shape.dims, shape.classes, shape.solver === 'giant' ? 'giant' : 'lbfgs');
    // A shape without a solver (one made by hand, as the benches do) is gradient descent's.
    if (shape.solver === 'local-sgd') return localSgdPartialLength(shape.dims);
    return shape.solver === 'newton' || shape.solver === 'lbfgs' ? secondOrderPartialLength(shape, shape.solver === 'newton') : shape.dims + PARTIAL_HEAD;
  },

  threadSumLength(shape, model) {
    return shape.classes !== undefined && shape.solver === 'giant' ? giantThreadSumLength(shape, model) : 0;
  },

  threadRanges(shape, model) {
    if (shape.classes !== undefined) return multinomialThreadRanges(shape, model);
    if (shape.solver === 'newton' || shape.solver === 'lbfgs') {
      // Weights, means and std devs (the Hessian standardises rows), and the direction in input space.
      const o = tailOffsets(shape.dims);
      return [
        [0, headLength(shape.dims)],
        [o.rawDir, o.rawDir + o.n],
      ];
    }
    return [[0, model.length]];
  },

  partial(shape, model, block, out) {
    if (shape.classWeights) {
      // The partial head ends with rows classified right and rows: counts, not weighted.
      const head = partialHeadLength(shape.dims, shape.classes ?? 1);
      weightedPartial(shape.classWeights, block, out, [head - 2, head - 1], (rows, sums) => unweightedPartial(shape, model, rows, sums));
      return;
    }
    unweightedPartial(shape, model, block, out);
  },

  merge: addInto,

  update(spec, shape, model, merged) {
    switch (shape.solver) {
      case 'giant':
        return giantStep(spec, shape, model, merged);
      case 'newton':
        return newtonStep(spec, shape, model, merged);
      case 'lbfgs':
        return lbfgsStep(spec, shape, model, merged);
      case 'local-sgd':
        return localSgdStep(spec, shape, model, merged, 'local SGD');
      default:
        return gradientStep(spec, shape, model, merged);
    }
  },

  result(spec, data, model, last, _merged, rounds): LogregResult | MultinomialResult {
    if (data.classes !== undefined) {
      const result = multinomialResult(data, model, last, rounds, multinomialSolverOf(spec));
      return { ...result, penalty: writtenPenalty(penaltyOf(spec, data.rows), result.weights, model, data.dims) };
    }
    const dims = data.dims;
    const solver = solverOf(spec, dims);
    // Gradient descent and local SGD report the model after their last step, as gradient descent
    // always has; the line-searched solvers their last accepted point, whose figures the last round measured.
    const weights = solver === 'gd' || solver === 'local-sgd' ? model : acceptedWeights(model, dims);
    const fields = linearFields(data, weights, last, rounds);
    return { algorithm: 'logreg', solver, ...fields, penalty: writtenPenalty(penaltyOf(spec, data.rows), [fields.weights], model, dims) };
  },
};

/** The partial of `block`'s rows, every row weighing 1. */
function unweightedPartial(shape: Shape, model: Float64Array, block: RowBlock, out: Float64Array): void {
  if (shape.classes !== undefined) {
    multinomialPartial(shape, model, block, out);
    return;
  }
  if (shape.solver === 'newton' || shape.solver === 'lbfgs') {
    secondOrderPartial(shape, model, block, out, shape.solver === 'newton');
    return;
  }
  if (shape.solver === 'local-sgd') {
    localSgdPartial(shape, model, block, out);
    return;
  }
  const { dims } = shape;
  if (!block.labels) throw new Error('logistic regression partial needs labels');
  const { loss, correct } = logregAccumulate(block.features, block.labels, dims, block.start, block.end, model, out);
  out[dims + 1] += loss;
  out[dims + 2] += correct;
  out[dims + 3] += block.end - block.start;
}
