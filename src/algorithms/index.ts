import type { JobSpec } from '../domain/spec.js';
import { kmeans } from './kmeans/index.js';
import { logreg } from './logreg/index.js';
import { svm } from './svm/index.js';
import type { Algorithm, AlgorithmName } from './types.js';

export type { Algorithm, AlgorithmName, RowBlock, Shape, UpdateResult } from './types.js';
export { kmeans } from './kmeans/index.js';
export { kmeansPlusPlus } from './kmeans/init.js';
export { predictKmeans } from './kmeans/predict.js';
export { logreg } from './logreg/index.js';
export { NEWTON_MAX_DIMS } from './logreg/newton.js';
export { svm } from './svm/index.js';
export { predictSvm } from './svm/predict.js';
export { predictLogreg, predictMultinomial } from './logreg/predict.js';

const algorithms: Record<AlgorithmName, Algorithm<any>> = { kmeans, logreg, svm };

/** The algorithm a spec names, typed to that spec. */
export function algorithmFor<S extends JobSpec>(spec: S): Algorithm<S> {
  return algorithms[spec.algorithm] as Algorithm<S>;
}

export function algorithmByName(name: AlgorithmName): Algorithm {
  return algorithms[name];
}
