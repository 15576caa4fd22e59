import type { LogregSolver, SvmSolver } from './spec.js';

/** The trained model as written to `--out` and stored with a finished job. */
export type ModelResult = KmeansResult | LogregResult | MultinomialResult | SvmResult | SvmOvrResult;

/** A one-vs-rest SVM (a row of weights per class), as opposed to a binary one. */
export function isOneVsRest(model: ModelResult): model is SvmOvrResult {
  return model.algorithm === 'svm' && Array.isArray(model.bias);
}

/** A multinomial logistic regression (a row of weights per class), as opposed to a binary one. */
export function isMultinomial(model: ModelResult): model is MultinomialResult {
  return model.algorithm === 'logreg' && Array.isArray(model.bias);
}

/** A classifier's labels for its classes 0..C−1 (files from before any labels: 0, 1, …). */
export function classLabelsOf(model: LogregResult | MultinomialResult | SvmResult | SvmOvrResult): (string | number)[] {
  return model.classes ?? [0, 1];
}

/**
 * A model's figures on held-out rows (protocol/score.ts's ValidationReport), scored by the
 * aggregation that ends the job when its spec has `validation` or `holdout` (protocol/heldOut.ts).
 */
export interface HeldOutFigures {
  uri: string;
  algorithm: 'kmeans' | 'logreg' | 'svm';
  rows: number;
  [figure: string]: unknown;
}

export interface KmeansResult {
  algorithm: 'kmeans';
  k: number;
  dims: number;
  featureNames: string[];
  centroids: number[][];
  /** Cluster sizes from the last assignment pass. */
  counts: number[];
  inertia: number;
  rounds: number;
  converged: boolean;
  /** Held-out figures (spec validation or holdout), scored in the job's last aggregation. */
  validation?: HeldOutFigures;
}

export interface LogregResult {
  algorithm: 'logreg';
  /** How it was trained (absent in models written before solvers existed: gradient descent). */
  solver?: LogregSolver;
  dims: number;
  featureNames: string[];
  labelName: string;
  /**
   * The labels the data holds for class 0 and class 1, sorted as np.unique sorts them (absent in
   * files from before labels could be any: 0 and 1).
   */
  classes?: (string | number)[];
  weights: number[];
  bias: number;
  /** Each class's weight in the loss (--class-weight), classes in `classes`' order; absent: all 1. */
  classWeights?: number[];
  /** The objective: the data term (mean log-loss) plus `penalty`. */
  loss: number;
  /** (λ/2)·‖v‖² of the written weights (standardised); absent in older files. */
  penalty?: number;
  accuracy: number;
  gradNorm: number;
  rounds: number;
  converged: boolean;
  /** Held-out figures (spec validation or holdout), scored in the job's last aggregation. */
  validation?: HeldOutFigures;
}

/**
 * Multinomial logistic regression (labels 0..C−1, C > 2): a row of weights and a bias per class;
 * P(class k) = softmax(W·x + b)_k. Two classes keep LogregResult's format.
 */
export interface MultinomialResult extends Omit<LogregResult, 'weights' | 'bias' | 'classes'> {
  /** The labels of classes 0..C−1, as the data holds them, sorted. */
  classes: (string | number)[];
  weights: number[][];
  bias: number[];
}

/**
 * A linear SVM's file: logistic regression's fields, `loss` being the objective of `lossFunction`
 * (squared hinge with Newton, hinge with local SGD; absent in files from before local SGD: squared
 * hinge); the decision value is w·x + b (label 1 where ≥ 0).
 */
export type SvmResult = Omit<LogregResult, 'algorithm' | 'solver'> & {
  algorithm: 'svm';
  solver?: SvmSolver;
  /** scikit-learn's names (LinearSVC's `loss`). */
  lossFunction?: 'squared_hinge' | 'hinge';
};

/**
 * A one-vs-rest linear SVM (C > 2 classes, algorithms/svm/oneVsRest.ts): a row of weights and a
 * bias per class, problem k separating class k from the rest; the predicted class is the largest
 * w_k·x + b_k. `loss` is the sum of the C problems' objectives, `penalty` the sum of their penalties.
 */
export type SvmOvrResult = Omit<SvmResult, 'weights' | 'bias' | 'classes'> & {
  multiClass: 'ovr';
  classes: (string | number)[];
  weights: number[][];
  bias: number[];
};
