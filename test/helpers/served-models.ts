import type { KmeansResult, LogregResult, MultinomialResult, SvmOvrResult, SvmResult } from '../../src/domain/results.js';

/*
 * Small trained-looking models of each kind, as model files hold them (weights from a seeded
 * generator: what matters here is that serving computes what the training side's predict does).
 */

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  };
}

const common = { loss: 0.1, accuracy: 0.9, gradNorm: 1e-6, rounds: 5, converged: true };

export function multinomialModel(dims = 4, classes: (string | number)[] = ['setosa', 'versicolor', 'virginica'], seed = 7): MultinomialResult & { jobId: string } {
  const r = seeded(seed);
  return {
    algorithm: 'logreg',
    solver: 'lbfgs',
    dims,
    featureNames: Array.from({ length: dims }, (_, j) => `f${j}`),
    labelName: 'species',
    classes,
    weights: classes.map(() => Array.from({ length: dims }, () => 4 * r())),
    bias: classes.map(() => r()),
    ...common,
    jobId: '20261206T010000Z-aaaaaa',
  } as unknown as MultinomialResult & { jobId: string };
}

export function binaryModel(dims = 3, seed = 11): LogregResult & { jobId: string } {
  const r = seeded(seed);
  return {
    algorithm: 'logreg',
    solver: 'newton',
    dims,
    featureNames: Array.from({ length: dims }, (_, j) => `x${j}`),
    labelName: 'y',
    classes: ['no', 'yes'],
    weights: Array.from({ length: dims }, () => 3 * r()),
    bias: r(),
    ...common,
    jobId: '20261206T010100Z-bbbbbb',
  } as unknown as LogregResult & { jobId: string };
}

export function svmModel(dims = 3, seed = 13): SvmResult & { jobId: string } {
  return { ...binaryModel(dims, seed), algorithm: 'svm', classes: [-1, 1], jobId: '20261206T010200Z-cccccc' } as unknown as SvmResult & { jobId: string };
}

/** A one-vs-rest SVM: a row of weights and a bias per class, as `bspml train --algorithm svm` writes it for more than two classes. */
export function svmOvrModel(dims = 4, classes: (string | number)[] = ['setosa', 'versicolor', 'virginica'], seed = 19): SvmOvrResult & { jobId: string } {
  return { ...multinomialModel(dims, classes, seed), algorithm: 'svm', multiClass: 'ovr', solver: undefined, jobId: '20261206T010400Z-eeeeee' } as unknown as SvmOvrResult & { jobId: string };
}

export function kmeansModel(dims = 2, k = 5, seed = 17): KmeansResult & { jobId: string } {
  const r = seeded(seed);
  return {
    algorithm: 'kmeans',
    k,
    dims,
    featureNames: Array.from({ length: dims }, (_, j) => `x${j}`),
    centroids: Array.from({ length: k }, () => Array.from({ length: dims }, () => 10 * r())),
    counts: Array.from({ length: k }, () => 10),
    inertia: 1,
    rounds: 3,
    converged: true,
    jobId: '20261206T010300Z-dddddd',
  } as unknown as KmeansResult & { jobId: string };
}

/** `rows` rows of `dims` features in [-2, 2), as float32. */
export function randomRows(rows: number, dims: number, seed = 3): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: rows * dims }, () => 4 * r());
}
