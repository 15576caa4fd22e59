import { nearestRows } from './kmeans/predict.js';
import { packSoftmax, predictLogreg, softmaxPredict, softmaxRows } from './logreg/predict.js';
import { packRows } from './packRows.js';
import { predictSvm, predictSvmOvr } from './svm/predict.js';
import { classLabelsOf, isMultinomial, isOneVsRest, type ModelResult } from '../domain/results.js';

/*
 * A trained model made ready to serve: its weights or centroids packed once into contiguous typed
 * arrays, so that each request only runs the loops, which are `bspml predict`'s own
 * (src/algorithms/*\/predict.ts). Here, below serve/, so that the threads that parse a data set's
 * blocks can predict them too (src/inner/thread.ts: batch predictions).
 */

/** `svm-ovr`: a one-vs-rest SVM (more than two classes, a decision value per class). */
export type ModelKind = 'kmeans' | 'logreg' | 'multinomial' | 'svm' | 'svm-ovr';

export interface Predictor {
  kind: ModelKind;
  dims: number;
  featureNames: readonly string[];
  /** Classifiers: the labels of classes 0..C−1. */
  classes?: readonly (string | number)[];
  /** Raw results into typed arrays: `rows` rows of `dims` float32 features, row after row. */
  run(x: Float32Array, rows: number): RawPredictions;
}

/** What `run` computes: class (or cluster) indices and per-row scores, rows × width. */
export interface RawPredictions {
  index: Int32Array;
  /** Probabilities (rows × C), P(class 1) (rows), the decision value (rows; one-vs-rest: rows × C) or the distance (rows). */
  scores: Float64Array;
  width: number;
}

/**
 * Prepares a parsed model (src/protocol/modelFile.ts) for serving. `plain`: the plain loops even
 * where the WebAssembly kernel runs (the reference `bspml bench predict` times beside it).
 */
export function compilePredictor(model: ModelResult, options: { plain?: boolean } = {}): Predictor {
  const dims = model.dims;
  const base = { dims, featureNames: model.featureNames };
  if (model.algorithm === 'kmeans') {
    const centres = packRows(model.centroids, dims);
    return { ...base, kind: 'kmeans', run: (x, rows) => ({ ...nearestRows(centres, model.centroids.length, dims, x, rows), width: 1 }) };
  }
  const classes = classLabelsOf(model);
  if (isMultinomial(model)) {
    const wb = packSoftmax(model);
    const loop = options.plain ? softmaxRows : softmaxPredict;
    return { ...base, kind: 'multinomial', classes, run: (x, rows) => ({ ...loop(wb, classes.length, dims, x, rows), width: classes.length }) };
  }
  if (isOneVsRest(model)) {
    // The label is the class of the largest w_k·x + b_k, as bspml predict's (ties: the first).
    return {
      ...base,
      kind: 'svm-ovr',
      classes,
      run: (x, rows) => {
        const { label, decision } = predictSvmOvr(model, x, rows);
        return { index: label, scores: decision, width: classes.length };
      },
    };
  }
  const svm = model.algorithm === 'svm';
  return {
    ...base,
    kind: svm ? 'svm' : 'logreg',
    classes,
    run: (x, rows) => {
      const scores = svm ? predictSvm(model, x, rows) : predictLogreg(model, x, rows);
      const threshold = svm ? 0 : 0.5;
      return { index: Int32Array.from(scores, (s) => (s >= threshold ? 1 : 0)), scores, width: 1 };
    },
  };
}
