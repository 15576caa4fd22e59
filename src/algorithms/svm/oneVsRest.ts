import type { DataSummary } from '../../data/types.js';
import type { PreparedData } from '../../data/summary.js';
import { logregMargins } from '../../kernels/curvature.js';
import type { SvmSpec } from '../../domain/spec.js';
import type { SvmOvrResult } from '../../domain/results.js';
import { standardisation } from '../logreg/init.js';
import { headLength, penaltyOf, writtenPenalty } from '../logreg/layout.js';
import { newtonStep } from '../logreg/newton.js';
import { acceptedWeights, secondOrderInit, secondOrderPartial, secondOrderPartialLength, secondOrderTailLength } from '../logreg/secondOrder.js';
import type { RowBlock, Shape, UpdateResult } from '../types.js';
import { weightedPartial } from '../weightedPartial.js';
import { squaredHinge } from './loss.js';

/*
 * One-vs-rest linear SVM for C > 2 classes, as scikit-learn's LinearSVC (LIBLINEAR) fits it: C
 * binary squared-hinge problems, problem k separating class k (+1) from the rest (−1), each with
 * its own Newton step and in-round line search (logreg/secondOrder.ts). All C are solved in the
 * same rounds: the model is the C binary models one after another, a worker's partial the C binary
 * partials of its rows (one task, one partial per worker, whatever C) plus one count, the rows whose
 * largest decision value (over the C points evaluated) is their class; the aggregator steps each
 * problem on its own slice. A problem that has converged stays at its point (a zero direction)
 * while the others go on; the job stops when all have, or at maxRounds.
 *
 * Class weights as LIBLINEAR gives them to one-vs-rest: problem k's positive rows weigh
 * class_weight[k], its rest 1 (its `train`: weighted_C[i] for class i, C for the others).
 *
 * Predicted class: the largest decision value w_k·x + b_k (the first on ties), as LinearSVC's predict.
 */

/** A binary SVM's shape, which each of the problems is. */
function binaryShape(shape: Shape): Shape {
  return { algorithm: 'svm', dims: shape.dims, k: 1, solver: 'newton' };
}

export function ovrModelLength(dims: number, classes: number): number {
  return classes * (headLength(dims) + secondOrderTailLength(dims));
}

export function ovrPartialLength(dims: number, classes: number): number {
  return classes * secondOrderPartialLength(binaryShape({ algorithm: 'svm', dims, k: 1 }), true) + 1;
}

export function ovrInit(data: PreparedData, classes: number): Float64Array {
  const one = secondOrderInit(standardisation(data), data.dims, 0);
  const model = new Float64Array(classes * one.length);
  for (let k = 0; k < classes; k++) model.set(one, k * one.length);
  return model;
}

export function ovrPartial(shape: Shape, model: Float64Array, block: RowBlock, out: Float64Array): void {
  const { dims } = shape;
  const classes = shape.classes!;
  const { labels, start, end, features } = block;
  if (!labels) throw new Error('linear SVM partial needs labels');
  const one = binaryShape(shape);
  const m = headLength(dims) + secondOrderTailLength(dims);
  const p = secondOrderPartialLength(one, true);
  // Problem k's labels: 1 for class k, 0 for the rest (indexed as the shard's rows).
  const binary = new Float32Array(end);
  const rows = end - start;
  const best = new Float64Array(rows).fill(-Infinity);
  const bestClass = new Int32Array(rows);
  const z = new Float64Array(rows);
  for (let k = 0; k < classes; k++) {
    for (let i = start; i < end; i++) binary[i] = labels[i] === k ? 1 : 0;
    const sub = model.subarray(k * m, (k + 1) * m);
    const sums = out.subarray(k * p, (k + 1) * p);
    const rowsOfK = { ...block, labels: binary };
    if (shape.classWeights) {
      weightedPartial([1, shape.classWeights[k]!], rowsOfK, sums, [dims + 2, dims + 3], (b, s) => secondOrderPartial(one, sub, b, s, true, squaredHinge));
    } else {
      secondOrderPartial(one, sub, rowsOfK, sums, true, squaredHinge);
    }
    if (rows === 0) continue;
    logregMargins(features, dims, start, end, sub, z);
    for (let i = 0; i < rows; i++) {
      if (z[i]! > best[i]!) {
        best[i] = z[i]!;
        bestClass[i] = k;
      }
    }
  }
  let correct = 0;
  for (let i = 0; i < rows; i++) if (bestClass[i] === labels[start + i]) correct++;
  out[classes * p] += correct;
}

export function ovrStep(spec: SvmSpec, shape: Shape, model: Float64Array, merged: Float64Array): UpdateResult {
  const { dims } = shape;
  const classes = shape.classes!;
  const one = binaryShape(shape);
  const m = headLength(dims) + secondOrderTailLength(dims);
  const p = secondOrderPartialLength(one, true);
  const next = new Float64Array(model.length);
  let objective = 0;
  let converged = true;
  let gradNorm = 0;
  for (let k = 0; k < classes; k++) {
    const step = newtonStep(spec, one, model.subarray(k * m, (k + 1) * m), merged.subarray(k * p, (k + 1) * p));
    next.set(step.model, k * m);
    objective += step.objective;
    converged &&= step.converged;
    gradNorm = Math.max(gradNorm, step.stats.gradNorm!);
  }
  const rows = merged[dims + 3]!;
  // The accuracy of the points this round evaluated (the accepted ones, once every problem has converged).
  const accuracy = merged[classes * p]! / rows;
  return { model: next, objective, converged, stats: { gradNorm, accuracy } };
}

export function ovrResult(spec: SvmSpec, data: DataSummary, model: Float64Array, last: UpdateResult, rounds: number): SvmOvrResult {
  const { dims } = data;
  const classes = data.classes!;
  const m = headLength(dims) + secondOrderTailLength(dims);
  const weights: number[][] = [];
  const bias: number[] = [];
  for (let k = 0; k < classes; k++) {
    const w = acceptedWeights(model.subarray(k * m, (k + 1) * m), dims);
    weights.push(Array.from(w.subarray(0, dims)));
    bias.push(w[dims]!);
  }
  return {
    algorithm: 'svm',
    solver: 'newton',
    lossFunction: 'squared_hinge',
    multiClass: 'ovr',
    dims,
    featureNames: data.featureNames,
    labelName: data.labelName ?? 'label',
    classes: data.classLabels ?? [...Array(classes).keys()],
    ...(data.classWeights ? { classWeights: data.classWeights } : {}),
    weights,
    bias,
    loss: last.objective,
    penalty: weights.reduce((sum, w, k) => sum + writtenPenalty(penaltyOf(spec, data.rows), [w], model.subarray(k * m, (k + 1) * m), dims), 0),
    accuracy: last.stats.accuracy!,
    gradNorm: last.stats.gradNorm!,
    rounds,
    converged: last.converged,
  };
}
