import type { KmeansResult } from '../../protocol/types.js';

/** Nearest centroid of each row (ties to the lower index) and its Euclidean distance. */
export function predictKmeans(model: KmeansResult, x: Float32Array, rows: number): { cluster: Uint32Array; distance: Float64Array } {
  const dims = model.dims;
  const cluster = new Uint32Array(rows);
  const distance = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let bestDist = Infinity;
    for (let c = 0; c < model.centroids.length; c++) {
      const centroid = model.centroids[c]!;
      let d = 0;
      for (let j = 0; j < dims; j++) {
        const diff = x[i * dims + j]! - centroid[j]!;
        d += diff * diff;
      }
      if (d < bestDist) {
        bestDist = d;
        best = c;
      }
    }
    cluster[i] = best;
    distance[i] = Math.sqrt(bestDist);
  }
  return { cluster, distance };
}
