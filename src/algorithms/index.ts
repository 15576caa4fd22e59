import type { JobSpec } from '../protocol/spec.js';
import { kmeans } from './kmeans.js';
import { logreg } from './logreg.js';
import type { Algorithm, AlgorithmName } from './types.js';

export type { Algorithm, AlgorithmName, RowBlock, Shape, UpdateResult } from './types.js';
export { kmeans, kmeansPlusPlus } from './kmeans.js';
export { logreg } from './logreg.js';

const algorithms: Record<AlgorithmName, Algorithm<any>> = { kmeans, logreg };

/** The algorithm a spec names, typed to that spec. */
export function algorithmFor<S extends JobSpec>(spec: S): Algorithm<S> {
  return algorithms[spec.algorithm] as Algorithm<S>;
}

export function algorithmByName(name: AlgorithmName): Algorithm {
  return algorithms[name];
}
