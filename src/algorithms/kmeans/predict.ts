import type { KmeansResult } from '../../domain/results.js';
import { packRows } from '../packRows.js';

/** Nearest centroid of each row (ties to the lower index) and its Euclidean distance. */
export function predictKmeans(model: KmeansResult, x: Float32Array, rows: number): { cluster: Uint32Array; distance: Float64Array } {
  const { index, scores } = nearestRows(packRows(model.centroids, model.dims), model.centroids.length, model.dims, x, rows);
  // Indices are never negative: the same buffer read as unsigned.
  return { cluster: new Uint32Array(index.buffer, index.byteOffset, index.length), distance: scores };
}

/** The nearest centre of each row (ties to the lower index) and its distance, four centres at a time. */
export function nearestRows(c: Float64Array, k: number, dims: number, x: Float32Array, rows: number): { index: Int32Array; scores: Float64Array } {
  const index = new Int32Array(rows);
  const scores = new Float64Array(rows);
  const d = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    const row = i * dims;
    let m = 0;
    for (; m + 4 <= k; m += 4) {
      const c0 = m * dims;
      const c1 = c0 + dims;
      const c2 = c1 + dims;
      const c3 = c2 + dims;
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let j = 0; j < dims; j++) {
        const v = x[row + j]!;
        const e0 = v - c[c0 + j]!;
        const e1 = v - c[c1 + j]!;
        const e2 = v - c[c2 + j]!;
        const e3 = v - c[c3 + j]!;
        d0 += e0 * e0;
        d1 += e1 * e1;
        d2 += e2 * e2;
        d3 += e3 * e3;
      }
      d[m] = d0;
      d[m + 1] = d1;
      d[m + 2] = d2;
      d[m + 3] = d3;
    }
    for (; m < k; m++) {
      const cm = m * dims;
      let s = 0;
      for (let j = 0; j < dims; j++) {
        const e = x[row + j]! - c[cm + j]!;
        s += e * e;
      }
      d[m] = s;
    }
    let best = 0;
    for (let q = 1; q < k; q++) if (d[q]! < d[best]!) best = q;
    index[i] = best;
    scores[i] = Math.sqrt(d[best]!);
  }
  return { index, scores };
}
