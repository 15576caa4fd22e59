import type { KmeansResult, LogregResult } from '../protocol/types.js';

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

/** P(label = 1) of each row. */
export function predictLogreg(model: LogregResult, x: Float32Array, rows: number): Float64Array {
  const dims = model.dims;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = model.bias;
    for (let j = 0; j < dims; j++) z += model.weights[j]! * x[i * dims + j]!;
    out[i] = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
  }
  return out;
}
