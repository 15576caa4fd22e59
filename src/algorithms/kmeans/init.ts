import { nearestSquaredDistance } from '../../kernels/kmeans.js';
import { Rng } from '../../util/random.js';

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
