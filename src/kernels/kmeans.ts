/**
 * The k-means assignment-and-accumulate pass over rows [start, end) of a row-major float32 matrix:
 * each row goes to its nearest centroid (ties to the lower index), its values are added to that
 * cluster's sums and its count incremented; returns the sum of squared distances (inertia).
 * Float64 accumulation keeps sums of many float32 rows accurate enough that any split of the rows
 * gives the same result to rounding.
 */
export function kmeansAccumulate(
  x: Float32Array,
  dims: number,
  start: number,
  end: number,
  centroids: Float64Array,
  k: number,
  sums: Float64Array,
  counts: Float64Array,
): number {
  let inertia = 0;
  for (let i = start; i < end; i++) {
    const row = i * dims;
    let best = 0;
    let bestDist = Infinity;
    for (let c = 0; c < k; c++) {
      const base = c * dims;
      let dist = 0;
      for (let j = 0; j < dims; j++) {
        const diff = x[row + j]! - centroids[base + j]!;
        dist += diff * diff;
      }
      if (dist < bestDist) {
        bestDist = dist;
        best = c;
      }
    }
    const base = best * dims;
    for (let j = 0; j < dims; j++) sums[base + j] += x[row + j]!;
    counts[best] += 1;
    inertia += bestDist;
  }
  return inertia;
}

/** Squared distance from row `i` to the nearest of the first `k` centroids. */
export function nearestSquaredDistance(x: Float32Array, dims: number, i: number, centroids: Float64Array, k: number): number {
  let best = Infinity;
  const row = i * dims;
  for (let c = 0; c < k; c++) {
    const base = c * dims;
    let dist = 0;
    for (let j = 0; j < dims; j++) {
      const diff = x[row + j]! - centroids[base + j]!;
      dist += diff * diff;
    }
    if (dist < best) best = dist;
  }
  return best;
}
