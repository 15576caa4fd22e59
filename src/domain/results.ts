import type { LogregSolver, SvmSolver } from './spec.js';

/** The trained model as written to `--out` and stored with a finished job. */
export type ModelResult = KmeansResult | LogregResult | MultinomialResult | SvmResult;

/** A multinomial logistic regression (a row of weights per class), as opposed to a binary one. */
export function isMultinomial(model: ModelResult): model is MultinomialResult {
  return model.algorithm === 'logreg' && Array.isArray(model.bias);
}

/** A classifier's labels for its classes 0..C−1 (files from before any labels: 0, 1, …). */
export function classLabelsOf(model: LogregResult | MultinomialResult | SvmResult): (string | number)[] {
  return model.classes ?? [0, 1];
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
  /** The objective: the data term (mean log-loss) plus `penalty`. */
  loss: number;
  /** (λ/2)·‖v‖² of the written weights (standardised); absent in older files. */
  penalty?: number;
  accuracy: number;
  gradNorm: number;
  rounds: number;
  converged: boolean;
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
