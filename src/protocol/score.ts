import { binaryAuc, classificationMetrics, heldOutInertia, type ClassificationMetrics } from '../metrics/classification.js';
import { classLabelsOf, isMultinomial, isOneVsRest, type ModelResult } from '../domain/results.js';
import { predictKmeans } from '../algorithms/kmeans/predict.js';
import { predictLogreg, predictMultinomial } from '../algorithms/logreg/predict.js';
import { predictSvm, predictSvmOvr } from '../algorithms/svm/predict.js';

/*
 * A trained model scored on held-out rows (`--validation`, `--holdout`): what the report's, the
 * --json output's and the HTML page's `validation` block holds. Shared by the job's last
 * aggregation (protocol/heldOut.ts, which scores it in the round that ends the job) and
 * `bspml train`'s own scoring of a file (cli/validation.ts).
 */

export type ValidationReport =
  | ({ uri: string; algorithm: 'kmeans'; rows: number; inertia: number } & Record<string, unknown>)
  | ({ uri: string; algorithm: 'logreg' | 'svm' } & Omit<ClassificationMetrics, 'logLoss'> & { logLoss?: number });

/**
 * Scores `model` on `rows` rows of `features` (float32, row-major, the model's features in its
 * order) against `truth` (class indices 0..C−1 of the model's classes; absent for k-means).
 */
export function scoreRows(model: ModelResult, features: Float32Array, rows: number, truth: Int32Array | undefined, uri: string): ValidationReport {
  if (model.algorithm === 'kmeans') {
    return { uri, algorithm: 'kmeans', rows, inertia: heldOutInertia(model.centroids, features, rows, model.dims) };
  }
  if (!truth) throw new RangeError('a classifier is scored against its labels');
  const classes = classLabelsOf(model);
  if (isMultinomial(model)) {
    const { probabilities } = predictMultinomial(model, features, rows);
    return { uri, algorithm: 'logreg', ...classificationMetrics(truth, probabilities, classes) };
  }
  if (model.algorithm === 'logreg') {
    const p = predictLogreg(model, features, rows);
    const probabilities = new Float64Array(2 * rows);
    for (let i = 0; i < rows; i++) {
      probabilities[2 * i] = 1 - p[i]!;
      probabilities[2 * i + 1] = p[i]!;
    }
    return { uri, algorithm: 'logreg', ...classificationMetrics(truth, probabilities, classes) };
  }
  if (isOneVsRest(model)) {
    // Decision values, no probabilities: no log-loss, and no AUC for more than two classes.
    const { label } = predictSvmOvr(model, features, rows);
    const C = classes.length;
    const hard = new Float64Array(C * rows);
    for (let i = 0; i < rows; i++) hard[i * C + label[i]!] = 1;
    const { logLoss: _none, ...metrics } = classificationMetrics(truth, hard, classes);
    return { uri, algorithm: 'svm', ...metrics };
  }
  // The SVM has decision values, no probabilities: no log-loss; AUC ranks by the decision value.
  const decision = predictSvm(model, features, rows);
  const hard = new Float64Array(2 * rows);
  for (let i = 0; i < rows; i++) hard[2 * i + (decision[i]! >= 0 ? 1 : 0)] = 1;
  const { logLoss: _none, ...metrics } = classificationMetrics(truth, hard, classes);
  return { uri, algorithm: 'svm', ...metrics, auc: binaryAuc(truth, Float64Array.from(decision)) };
}
