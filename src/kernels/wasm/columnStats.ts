// @ts-nocheck -- AssemblyScript, compiled by `asc` into the modules built from kernels.ts (npm run build:wasm), not by tsc.
/*
 * Per-column statistics of float32 rows (columnStats): sums, extremes and M2, for the data summary.
 */

/** Float64 values per column `columnStats` writes to `out`: sum, minimum, maximum, M2, then the means it used. */
export const COLUMN_STATS_FIELDS: i32 = 5;

/**
 * Column statistics of rows [a, b) of float32 `x` (the plain loop: columnMoments in
 * src/data/summary.ts, reproduced bit for bit): per column the sum, minimum and maximum of its
 * values as float64, then, with mean = sum / rows, M2 = Σ (v − mean)², each summed over the rows in
 * order; the columns, independent of each other, four at a time. `out`: COLUMN_STATS_FIELDS × dims
 * float64 (sums, minima, maxima, M2, means), overwritten. Products and sums are separate operations
 * (no fused multiply-add), as the loop's are.
 */
export function columnStats(x: usize, dims: i32, a: i32, b: i32, out: usize): void {
  const rowBytes = <usize>dims << 2;
  const field = <usize>dims << 3;
  const sum = out, mn = sum + field, mx = mn + field, m2 = mx + field, mean = m2 + field;
  for (let j = 0; j < dims; j++) {
    const o = <usize>j << 3;
    store<f64>(sum + o, 0);
    store<f64>(mn + o, Infinity);
    store<f64>(mx + o, -Infinity);
    store<f64>(m2 + o, 0);
  }
  const full4 = dims & ~3;
  for (let i = a; i < b; i++) {
    const row = x + <usize>i * rowBytes;
    let j = 0;
    for (; j < full4; j += 4) {
      const f = v128.load(row + (<usize>j << 2));
      const lo = f64x2.promote_low_f32x4(f);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(f, f, 2, 3, 2, 3));
      const o = <usize>j << 3;
      v128.store(sum + o, f64x2.add(v128.load(sum + o), lo));
      v128.store(sum + o + 16, f64x2.add(v128.load(sum + o + 16), hi));
      // pmin(m, v) = v < m ? v : m and pmax(m, v) = m < v ? v : m: the loop's `if (v < min) min = v`.
      v128.store(mn + o, f64x2.pmin(v128.load(mn + o), lo));
      v128.store(mn + o + 16, f64x2.pmin(v128.load(mn + o + 16), hi));
      v128.store(mx + o, f64x2.pmax(v128.load(mx + o), lo));
      v128.store(mx + o + 16, f64x2.pmax(v128.load(mx + o + 16), hi));
    }
    for (; j < dims; j++) {
      const o = <usize>j << 3;
      const v = <f64>load<f32>(row + (<usize>j << 2));
      store<f64>(sum + o, load<f64>(sum + o) + v);
      if (v < load<f64>(mn + o)) store<f64>(mn + o, v);
      if (v > load<f64>(mx + o)) store<f64>(mx + o, v);
    }
  }
  const rows = <f64>(b - a);
  for (let j = 0; j < dims; j++) store<f64>(mean + (<usize>j << 3), load<f64>(sum + (<usize>j << 3)) / rows);
  for (let i = a; i < b; i++) {
    const row = x + <usize>i * rowBytes;
    let j = 0;
    for (; j < full4; j += 4) {
      const f = v128.load(row + (<usize>j << 2));
      const o = <usize>j << 3;
      const d0 = f64x2.sub(f64x2.promote_low_f32x4(f), v128.load(mean + o));
      const d1 = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(f, f, 2, 3, 2, 3)), v128.load(mean + o + 16));
      v128.store(m2 + o, f64x2.add(v128.load(m2 + o), f64x2.mul(d0, d0)));
      v128.store(m2 + o + 16, f64x2.add(v128.load(m2 + o + 16), f64x2.mul(d1, d1)));
    }
    for (; j < dims; j++) {
      const o = <usize>j << 3;
      const d = <f64>load<f32>(row + (<usize>j << 2)) - load<f64>(mean + o);
      store<f64>(m2 + o, load<f64>(m2 + o) + d * d);
    }
  }
}
