import type { ModelResult } from '../domain/results.js';

/*
 * A model of a given shape with seeded weights, for timing (`bspml bench predict --synthetic
 * 784x10`): the loops' time depends on the shape only, not on what the weights learned.
 */

export type SyntheticKind = 'multinomial' | 'logreg' | 'svm' | 'kmeans';

/** Parses `DIMSxCLASSES[:kind]` (kind: multinomial when CLASSES > 2, else logreg). */
export function parseShape(text: string): { dims: number; classes: number; kind: SyntheticKind } {
  const match = /^(\d+)x(\d+)(?::(multinomial|logreg|svm|kmeans))?$/.exec(text);
  if (!match) throw new Error(`--synthetic ${text}: expected DIMSxCLASSES[:multinomial|logreg|svm|kmeans], e.g. 784x10`);
  const dims = Number(match[1]);
  const classes = Number(match[2]);
  const kind = (match[3] as SyntheticKind | undefined) ?? (classes > 2 ? 'multinomial' : 'logreg');
  if (dims < 1 || classes < 1 || (kind === 'multinomial' && classes < 3) || ((kind === 'logreg' || kind === 'svm') && classes !== 2)) {
    throw new Error(`--synthetic ${text}: ${kind} needs ${kind === 'multinomial' ? 'at least 3 classes' : kind === 'kmeans' ? 'at least 1 centre' : 'exactly 2 classes'} and at least 1 feature`);
  }
  return { dims, classes, kind };
}

export function syntheticModel(shape: { dims: number; classes: number; kind: SyntheticKind }, seed = 7): ModelResult & { jobId: string } {
  let s = seed;
  const r = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  };
  const { dims, classes, kind } = shape;
  const featureNames = Array.from({ length: dims }, (_, j) => `x${j}`);
  const jobId = 'synthetic';
  const fit = { loss: 0, accuracy: 0, gradNorm: 0, rounds: 1, converged: true };
  if (kind === 'kmeans') {
    const centroids = Array.from({ length: classes }, () => Array.from({ length: dims }, r));
    return { algorithm: 'kmeans', k: classes, dims, featureNames, centroids, counts: centroids.map(() => 1), inertia: 0, rounds: 1, converged: true, jobId } as ModelResult & { jobId: string };
  }
  if (kind === 'multinomial') {
    const labels = Array.from({ length: classes }, (_, c) => c);
    return { algorithm: 'logreg', dims, featureNames, labelName: 'y', classes: labels, weights: labels.map(() => Array.from({ length: dims }, r)), bias: labels.map(r), ...fit, jobId } as unknown as ModelResult & { jobId: string };
  }
  return { algorithm: kind, dims, featureNames, labelName: 'y', classes: [0, 1], weights: Array.from({ length: dims }, r), bias: r(), ...fit, jobId } as unknown as ModelResult & { jobId: string };
}
