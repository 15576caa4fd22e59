/*
 * Held-out figures a person decides by, defined as scikit-learn defines them (sklearn.metrics,
 * version 1.2), so that a number here can be checked against theirs: accuracy_score, log_loss,
 * roc_auc_score (two classes), precision/recall/F1 (average "binary" with the second class as the
 * positive one for two classes, "macro" for more; zero_division=0), confusion_matrix; k-means'
 * inertia on held-out rows (KMeans.score's negative). test/metrics/classification.test.ts checks
 * each against test/fixtures/metrics-sklearn.json (scripts/metrics.py).
 */

export interface ClassificationMetrics {
  rows: number;
  /** The model's classes, in its order: the confusion matrix's rows (truth) and columns (prediction). */
  classes: (string | number)[];
  accuracy: number;
  logLoss: number;
  /** Area under the ROC curve of P(second class); two classes only. */
  auc?: number;
  /** `binary`: of the second class; `macro`: the unweighted mean over the classes. */
  average: 'binary' | 'macro';
  precision: number;
  recall: number;
  f1: number;
  /** confusion[t][p]: rows of class t predicted as class p. */
  confusion: number[][];
}

/**
 * sklearn's log_loss clips probabilities to [eps, 1 − eps] (eps: the float64 machine epsilon, its
 * "auto") and renormalises each row before taking logs: a confident mistake costs −log(eps), not ∞.
 */
const EPS = 2.220446049250313e-16;

/**
 * The figures of `probabilities` (rows × C, row-major, each row P(class k)) against `truth`
 * (class indices 0..C−1). The prediction is the most probable class, the first on ties (np.argmax).
 */
export function classificationMetrics(truth: ArrayLike<number>, probabilities: ArrayLike<number>, classes: (string | number)[]): ClassificationMetrics {
  const rows = truth.length;
  const C = classes.length;
  if (rows === 0) throw new RangeError('no rows to score');
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let logLoss = 0;
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let sum = 0;
    for (let k = 0; k < C; k++) {
      const p = probabilities[i * C + k]!;
      if (p > probabilities[i * C + best]!) best = k;
      sum += Math.min(Math.max(p, EPS), 1 - EPS);
    }
    const t = truth[i]!;
    confusion[t]![best]!++;
    logLoss -= Math.log(Math.min(Math.max(probabilities[i * C + t]!, EPS), 1 - EPS) / sum);
  }
  let correct = 0;
  for (let k = 0; k < C; k++) correct += confusion[k]![k]!;
  const scores = (k: number) => {
    let predicted = 0;
    let actual = 0;
    for (let j = 0; j < C; j++) {
      predicted += confusion[j]![k]!;
      actual += confusion[k]![j]!;
    }
    const tp = confusion[k]![k]!;
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = actual > 0 ? tp / actual : 0;
    return { precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
  };
  let precision: number;
  let recall: number;
  let f1: number;
  if (C === 2) ({ precision, recall, f1 } = scores(1));
  else {
    const each = classes.map((_, k) => scores(k));
    precision = each.reduce((s, x) => s + x.precision, 0) / C;
    recall = each.reduce((s, x) => s + x.recall, 0) / C;
    f1 = each.reduce((s, x) => s + x.f1, 0) / C;
  }
  return {
    rows,
    classes,
    accuracy: correct / rows,
    logLoss: logLoss / rows,
    ...(C === 2 ? { auc: binaryAuc(truth, Float64Array.from({ length: rows }, (_, i) => probabilities[i * 2 + 1]!)) } : {}),
    average: C === 2 ? 'binary' : 'macro',
    precision,
    recall,
    f1,
    confusion,
  };
}

/**
 * The area under the ROC curve of `score` for class 1: the Mann–Whitney statistic, a tie between
 * a positive and a negative counting one half (the trapezoids of roc_auc_score). Undefined (NaN)
 * when one class is absent, where scikit-learn raises.
 */
export function binaryAuc(truth: ArrayLike<number>, score: Float64Array): number {
  const order = Array.from(score.keys()).sort((a, b) => score[a]! - score[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    // Rows with equal scores share their mean rank (1-based).
    let j = i;
    while (j + 1 < order.length && score[order[j + 1]!] === score[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (truth[order[k]!] === 1) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** k-means' held-out figure: the sum of squared distances of `rows` rows to their nearest centroid (−KMeans.score). */
export function heldOutInertia(centroids: number[][], features: ArrayLike<number>, rows: number, dims: number): number {
  let inertia = 0;
  for (let i = 0; i < rows; i++) {
    let best = Infinity;
    for (const c of centroids) {
      let d = 0;
      for (let j = 0; j < dims; j++) {
        const e = features[i * dims + j]! - c[j]!;
        d += e * e;
      }
      if (d < best) best = d;
    }
    inertia += best;
  }
  return inertia;
}
