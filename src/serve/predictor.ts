import { compilePredictor, type ModelKind, type Predictor, type RawPredictions } from '../algorithms/predictor.js';

/*
 * The online answers' shape (`present`); the compiled model itself is src/algorithms/predictor.ts.
 */

export { compilePredictor, type ModelKind, type Predictor, type RawPredictions };

/** One batch's answers. `labels` are the model's classes as the training data wrote them. */
export interface Predictions {
  rows: number;
  /** Classifiers: the predicted class of each row, as the data named it. */
  labels?: (string | number)[];
  /** Classifiers but the SVM: P(class) per row, one entry per class in `classes` order. */
  probabilities?: number[][];
  /** SVM: the decision value w·x + b (class 1 where ≥ 0); one-vs-rest: w_k·x + b_k per row, one entry per class in `classes` order (the label is the largest). */
  decision?: number[] | number[][];
  /** k-means: the nearest centroid and its Euclidean distance. */
  cluster?: number[];
  distance?: number[];
}

/** The answers as labels, probabilities, decision values or clusters (the response's fields). */
export function present(predictor: Predictor, raw: RawPredictions, rows: number): Predictions {
  const { index, scores, width } = raw;
  if (predictor.kind === 'kmeans') return { rows, cluster: Array.from(index), distance: Array.from(scores) };
  const classes = predictor.classes!;
  const labels = Array.from(index, (k) => classes[k]!);
  if (predictor.kind === 'svm') return { rows, labels, decision: Array.from(scores) };
  if (predictor.kind === 'svm-ovr') {
    const decision = new Array<number[]>(rows);
    for (let i = 0; i < rows; i++) decision[i] = Array.from(scores.subarray(i * width, (i + 1) * width));
    return { rows, labels, decision };
  }
  const probabilities = new Array<number[]>(rows);
  for (let i = 0; i < rows; i++) {
    // Binary: P(class 0), P(class 1), from P(class 1) as the model gives it.
    probabilities[i] = width === 1 ? [1 - scores[i]!, scores[i]!] : Array.from(scores.subarray(i * width, (i + 1) * width));
  }
  return { rows, labels, probabilities };
}
