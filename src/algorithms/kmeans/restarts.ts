import { kmeansAccumulate } from '../../kernels/kmeans.js';
import { Rng } from '../../util/random.js';
import { kmeansPlusPlus } from './init.js';

/**
 * Lloyd iterations on the sample per restart, at most. `assumption`: enough for the sample's
 * clustering to settle on the data sets of the tests; the full-data rounds refine the chosen one.
 */
export const SAMPLE_LLOYD_ROUNDS = 50;

/**
 * k-means restarts (scikit-learn's n_init), all in the preparation round: `restarts` k-means++
 * initialisations on the initialisation sample, each refined by Lloyd on the sample, and the one
 * of least inertia on the sample kept (its refined centroids start the full-data rounds). The
 * sample is the same rows in the same order whatever W and I, so the choice is too.
 * One restart is k-means++ alone, as before restarts existed: the same model bit for bit.
 * Restart 0 uses the job's seed, restart r > 0 a seed drawn from it.
 */
export function bestOfRestarts(x: Float32Array, m: number, dims: number, k: number, seed: number, restarts: number, tol: number): Float64Array {
  if (restarts <= 1) return kmeansPlusPlus(x, m, dims, k, seed);
  const seeds = new Rng(seed);
  let best: Float64Array | undefined;
  let bestInertia = Infinity;
  for (let r = 0; r < restarts; r++) {
    const centroids = kmeansPlusPlus(x, m, dims, k, r === 0 ? seed : seeds.nextUint32());
    const inertia = lloydOnSample(x, m, dims, k, centroids, tol);
    // Strictly less: on a tie the earlier restart stays, so the result does not depend on float noise order.
    if (inertia < bestInertia) {
      bestInertia = inertia;
      best = centroids;
    }
  }
  return best!;
}

/** Refines `centroids` in place by Lloyd on the `m` sample rows; the inertia of the centroids it leaves. */
export function lloydOnSample(x: Float32Array, m: number, dims: number, k: number, centroids: Float64Array, tol: number): number {
  const sums = new Float64Array(k * dims);
  const counts = new Float64Array(k);
  for (let round = 0; round < SAMPLE_LLOYD_ROUNDS; round++) {
    sums.fill(0);
    counts.fill(0);
    kmeansAccumulate(x, dims, 0, m, centroids, k, sums, counts);
    let shift = 0;
    for (let c = 0; c < k; c++) {
      // An empty cluster keeps its centroid, as in the full-data update.
      if (counts[c] === 0) continue;
      let moved = 0;
      for (let j = 0; j < dims; j++) {
        const value = sums[c * dims + j]! / counts[c]!;
        const diff = value - centroids[c * dims + j]!;
        moved += diff * diff;
        centroids[c * dims + j] = value;
      }
      shift = Math.max(shift, Math.sqrt(moved));
    }
    if (shift <= tol) break;
  }
  sums.fill(0);
  counts.fill(0);
  return kmeansAccumulate(x, dims, 0, m, centroids, k, sums, counts);
}
