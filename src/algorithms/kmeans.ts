import { SpecError } from '../errors.js';
import { kmeansAccumulate, nearestSquaredDistance } from '../kernels/kmeans.js';
import type { KmeansSpec } from '../protocol/spec.js';
import type { KmeansResult } from '../protocol/types.js';
import { Rng } from '../util/random.js';
import { addInto, type Algorithm, type Shape } from './types.js';

/*
 * Exact Lloyd. Model: k × dims centroids. Partial: per-cluster sums (k × dims), then counts (k),
 * then inertia (1) — sums and counts, never means, so partials from any split merge exactly.
 */

export const kmeans: Algorithm<KmeansSpec> = {
  name: 'kmeans',

  shape(spec, data): Shape {
    return { algorithm: 'kmeans', dims: data.dims, k: spec.k };
  },

  validate(spec, data) {
    if (spec.k > data.rows) {
      throw new SpecError(`k = ${spec.k} is larger than the ${data.rows} rows of ${data.source}`, 'k');
    }
  },

  init(spec, data) {
    // The bottom-k sample of the summary: the same rows, in the same order, whatever W and I.
    return kmeansPlusPlus(data.sample.features, data.sample.keys.length, data.dims, spec.k, spec.seed);
  },

  partialLength(shape) {
    return shape.k * shape.dims + shape.k + 1;
  },

  partial(shape, model, block, out) {
    const { k, dims } = shape;
    const sums = out.subarray(0, k * dims);
    const counts = out.subarray(k * dims, k * dims + k);
    out[k * dims + k] += kmeansAccumulate(block.features, dims, block.start, block.end, model, k, sums, counts);
  },

  merge: addInto,

  update(spec, shape, model, merged) {
    const { k, dims } = shape;
    const next = new Float64Array(model);
    let shift = 0;
    let empty = 0;
    for (let c = 0; c < k; c++) {
      const count = merged[k * dims + c]!;
      // An empty cluster keeps its centroid: moving it anywhere would depend on data no worker sees.
      if (count === 0) {
        empty++;
        continue;
      }
      let moved = 0;
      for (let j = 0; j < dims; j++) {
        const value = merged[c * dims + j]! / count;
        const diff = value - model[c * dims + j]!;
        moved += diff * diff;
        next[c * dims + j] = value;
      }
      shift = Math.max(shift, Math.sqrt(moved));
    }
    const inertia = merged[k * dims + k]!;
    return { model: next, objective: inertia, converged: shift <= spec.tol, stats: { shift, emptyClusters: empty } };
  },

  result(spec, data, model, last, merged, rounds): KmeansResult {
    const { k } = spec;
    const dims = data.dims;
    const centroids: number[][] = [];
    for (let c = 0; c < k; c++) centroids.push(Array.from(model.subarray(c * dims, (c + 1) * dims)));
    return {
      algorithm: 'kmeans',
      k,
      dims,
      featureNames: data.featureNames,
      centroids,
      counts: Array.from(merged.subarray(k * dims, k * dims + k)),
      inertia: last.objective,
      rounds,
      converged: last.converged,
    };
  },
};

/**
 * Greedy k-means++ (as scikit-learn does it: 2 + ⌊ln k⌋ candidates per step, keep the one that
 * lowers the potential most) on the `m` rows of `x`: the preparation round's initialisation
 * sample (at most `initSample` rows), so that starting a job on millions of rows stays cheap.
 */
export function kmeansPlusPlus(x: Float32Array, m: number, dims: number, k: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const centroids = new Float64Array(k * dims);
  const pick = (c: number, i: number) => {
    for (let j = 0; j < dims; j++) centroids[c * dims + j] = x[i * dims + j]!;
  };
  pick(0, rng.int(m));
  const closest = new Float64Array(m);
  for (let i = 0; i < m; i++) closest[i] = nearestSquaredDistance(x, dims, i, centroids, 1);
  const trials = 2 + Math.floor(Math.log(k));
  const candidate = new Float64Array(dims);
  const cumulative = new Float64Array(m);

  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < m; i++) cumulative[i] = total += closest[i]!;
    let bestIndex = -1;
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      // All rows at distance 0 from the chosen centres (duplicates): any row is as good as another.
      const index = total > 0 ? upperBound(cumulative, rng.next() * total) : rng.int(m);
      for (let j = 0; j < dims; j++) candidate[j] = x[index * dims + j]!;
      let potential = 0;
      for (let i = 0; i < m; i++) {
        const d = nearestSquaredDistance(x, dims, i, candidate, 1);
        potential += Math.min(d, closest[i]!);
      }
      if (potential < bestPotential) {
        bestPotential = potential;
        bestIndex = index;
      }
    }
    pick(c, bestIndex);
    const chosen = centroids.subarray(c * dims, (c + 1) * dims);
    for (let i = 0; i < m; i++) closest[i] = Math.min(closest[i]!, nearestSquaredDistance(x, dims, i, chosen, 1));
  }
  return centroids;
}

/** First index whose cumulative weight exceeds `target` (clamped to the last index). */
function upperBound(cumulative: Float64Array, target: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
