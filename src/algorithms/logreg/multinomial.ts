import { SpecError } from '../../errors.js';
import type { PreparedData } from '../../data/summary.js';
import type { DataSummary } from '../../data/types.js';
import { softmaxAccumulate } from '../../kernels/softmax.js';
import type { LogregSpec } from '../../domain/spec.js';
import type { MultinomialResult } from '../../domain/results.js';
import type { RowBlock, Shape, UpdateResult } from '../types.js';
import { standardisation } from './init.js';
import { headLength, partialHeadLength } from './layout.js';
import { giantSolvePartial, giantStateLength, giantThreadRanges, isSolveRound } from './giant.js';
import { lbfgsStateLength } from './lbfgs.js';
import { acceptedWeights, secondOrderInit, secondOrderTailLength, tailOffsets, TRIALS } from './secondOrder.js';

/*
 * Multinomial logistic regression, as scikit-learn fits it when the label column holds 0..C−1 with
 * C > 2: softmax over C linear outputs, mean log-loss + (λ/2)·‖V‖² with V the C rows of weights on
 * standardised columns (biases not penalised; the same λ ↔ C mapping as two classes, layout.ts).
 *
 * Solved by L-BFGS with the in-round line search of secondOrder.ts, on θ = (V, c) of C·(dims + 1)
 * parameters. Not Newton: its Hessian has (C·(dims + 1))² entries, 211,000 packed for the 8 × 8
 * digits (C = 10, 64 columns) against 650 for the gradient, and costs C²·dims² per row; L-BFGS
 * needs partials of the gradient's size and a few more rounds.
 *
 * Two classes keep the binary path (index.ts): one output, its own model and file format.
 *
 * Partial: Σ(p − y)·x (C × dims), Σ(p − y) (C), Σ log-loss, rows whose largest output is their label,
 * rows, then (GIANT only) the losses at the trial steps (secondOrder.ts).
 */

/** Classes of a data set whose labels were accepted by `validateClasses`: 0..C−1, C > 2; undefined for two (or one). */
export function classesOf(data: PreparedData): number | undefined {
  const values = Object.keys(data.labels ?? {}).map(Number);
  const classes = Math.max(-1, ...values) + 1;
  return classes > 2 ? classes : undefined;
}

/**
 * Refuses labels that are not the classes 0..C−1 each with a row (a gap such as {0, 2}, a class
 * no row holds), and a solver other than L-BFGS for more than two classes. Each value was checked
 * as a non-negative integer as the shards loaded (data/labels.ts).
 */
export function validateClasses(spec: LogregSpec, data: PreparedData): void {
  const counts = data.labels ?? {};
  const values = Object.keys(counts).map(Number).sort((a, b) => a - b);
  const classes = Math.max(-1, ...values) + 1;
  if (classes <= 2) return;
  const field = `field "${data.labelName ?? 'label'}"`;
  const missing = [...Array(classes).keys()].filter((c) => !(counts[String(c)]! > 0));
  if (missing.length > 0) {
    const shown = missing.length > 5 ? `${missing.slice(0, 5).join(', ')}, … (${missing.length} in all)` : missing.join(', ');
    throw new SpecError(
      `${data.source}: ${field}: labels must be the classes 0 to ${classes - 1}, each with a row; no row has class ${shown} (the labels hold ${values.length > 8 ? `${values.slice(0, 8).join(', ')}, …` : values.join(', ')})`,
      'data.labelColumn',
    );
  }
  if (spec.solver !== undefined && spec.solver !== 'lbfgs' && spec.solver !== 'giant') {
    throw new SpecError(`invalid job spec: solver: ${spec.solver} is for two classes; ${data.source} has ${classes} (${field}), which lbfgs or giant solve`, 'solver');
  }
}

/**
 * The solver for C > 2 classes: the spec's, else L-BFGS. GIANT is not a default anywhere (measured
 * in docs/algorithms.md, bench:wide): on the wide image-like problem, with a worker's threads
 * summing its Hessian-vector products, it reached L-BFGS's objective after 100 rounds in 9 rounds
 * but 1.4–3.9× the time (a solve round is up to 101 passes over the rows, an L-BFGS round one), so it is
 * worth its rounds only where a round's fixed cost is large or high accuracy is wanted (1e-6 of the
 * optimum in 21 rounds at 1 × 2), which no runtime here measures; `--solver giant` asks for it.
 */
export function multinomialSolverOf(spec: Pick<LogregSpec, 'solver'>): MultinomialSolver {
  return spec.solver === 'giant' ? 'giant' : 'lbfgs';
}

export type MultinomialSolver = 'lbfgs' | 'giant';

export function multinomialInit(data: PreparedData, classes: number, solver: MultinomialSolver): Float64Array {
  const extra = solver === 'giant' ? giantStateLength(data.dims, classes) : lbfgsStateLength(data.dims, classes);
  return secondOrderInit(standardisation(data, classes), data.dims, extra, classes);
}

export function multinomialModelLength(dims: number, classes: number, solver: MultinomialSolver = 'lbfgs'): number {
  const extra = solver === 'giant' ? giantStateLength(dims, classes) : lbfgsStateLength(dims, classes);
  return headLength(dims, classes) + secondOrderTailLength(dims, classes) + extra;
}

/** The partial head, then (GIANT only) the trial losses. */
export function multinomialPartialLength(dims: number, classes: number, solver: MultinomialSolver = 'lbfgs'): number {
  return partialHeadLength(dims, classes) + (solver === 'giant' ? TRIALS.length : 0);
}

/** Back-off of each trial step: the model is base + p, a trial point base + α·p. */
const BACKS = TRIALS.map((alpha) => 1 - alpha);

export function multinomialPartial(shape: Shape, model: Float64Array, block: RowBlock, out: Float64Array): void {
  if (shape.solver === 'giant' && isSolveRound(shape, model)) {
    giantSolvePartial(shape, model, block, out);
    return;
  }
  const { dims } = shape;
  const classes = shape.classes!;
  const { features, labels, start, end } = block;
  if (!labels) throw new Error('logistic regression partial needs labels');
  const width = classes * (dims + 1);
  const o = tailOffsets(dims, classes);
  const rawDir = model.subarray(o.rawDir, o.rawDir + o.n);
  // No direction yet (the first round, or a converged one): no trial points to evaluate. L-BFGS
  // evaluates none: they would cost a second product of the rows with a C × dims matrix, three
  // quarters of the pass's time again, while its full step is accepted in most rounds and a rejected
  // one is shortened by interpolation from the point itself (secondOrder.ts).
  const trials = shape.solver === 'giant' && rawDir.some((v) => v !== 0) ? { dir: rawDir, backs: BACKS, trialLoss: out.subarray(partialHeadLength(dims, classes)) } : {};
  const { loss, correct } = softmaxAccumulate({ x: features, y: labels, dims, classes, start, end, w: model, grad: out, ...trials });
  out[width] += loss;
  out[width + 1] += correct;
  out[width + 2] += end - start;
}

/** What the row pass reads: L-BFGS's, the point's weights and biases alone (it has no trial points along the direction). */
export function multinomialThreadRanges(shape: Shape, model: Float64Array): [number, number][] {
  if (shape.solver === 'giant') return giantThreadRanges(shape, model);
  return [[0, tailOffsets(shape.dims, shape.classes!).n]];
}

export function multinomialResult(data: DataSummary, model: Float64Array, last: UpdateResult, rounds: number, solver: MultinomialSolver): MultinomialResult {
  const { dims } = data;
  const classes = data.classes!;
  const weights = acceptedWeights(model, dims, classes);
  return {
    algorithm: 'logreg',
    solver,
    dims,
    featureNames: data.featureNames,
    labelName: data.labelName ?? 'label',
    classes: data.classLabels ?? [...Array(classes).keys()],
    weights: Array.from({ length: classes }, (_, k) => Array.from(weights.subarray(k * dims, (k + 1) * dims))),
    bias: Array.from(weights.subarray(classes * dims, classes * (dims + 1))),
    ...(data.classWeights ? { classWeights: data.classWeights } : {}),
    loss: last.objective,
    accuracy: last.stats.accuracy!,
    gradNorm: last.stats.gradNorm!,
    rounds,
    converged: last.converged,
  };
}
