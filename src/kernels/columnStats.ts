import { scratch, wasmContextOf } from './backend.js';

/**
 * Column statistics of rows [a, b) (a shard's summary in the preparation round, src/data/summary.ts):
 * per column the sum, minimum and maximum of its values, then M2 = Σ (v − sum/rows)², all float64,
 * summed over the rows in order. Rows in a shared WebAssembly memory go to the SIMD kernel, four
 * columns at a time, with the results of summary.ts's loop (columnMoments) bit for bit; for others it
 * returns undefined and the caller runs that loop. On 60,000 × 784 image-like rows the loop took
 * 0.5–0.8 s of the preparation round on one thread (one statistics block of 65,536 rows).
 */
export function columnStats(x: Float32Array, dims: number, a: number, b: number): { sum: Float64Array; min: Float64Array; max: Float64Array; m2: Float64Array } | undefined {
  const context = wasmContextOf(x.buffer);
  if (!context || b <= a || dims === 0) return undefined;
  const fields = context.exports.COLUMN_STATS_FIELDS.value;
  const out = scratch(context, fields * dims * 8);
  context.exports.columnStats(x.byteOffset, dims, a, b, out);
  // Copied out of the scratch, which the next kernel call reuses.
  const at = (field: number) => new Float64Array(context.memory.buffer, out + field * dims * 8, dims).slice();
  return { sum: at(0), min: at(1), max: at(2), m2: at(3) };
}
