// @ts-nocheck -- AssemblyScript, compiled by `asc` into the modules built from kernels.ts (npm run build:wasm), not by tsc.
/*
 * SIMD helpers every kernel family shares: the multiply-adds whose rounding depends on the build, and a
 * float32 row's dot product with, and addition into, float64 vectors. Pointers are byte addresses in
 * the imported memory, as everywhere in these kernels (see kernels.ts).
 */

/*
 * a·b + c per lane. The module is built twice (from kernels.ts, which imports this file): kernels.wasm with relaxed SIMD, where
 * this is one fused multiply-add (or, on hardware without one, a multiply then an add), and
 * kernels-simd128.wasm for runtimes without relaxed SIMD, where it is always a multiply then an add.
 * So its rounding is not fixed: it is used only where the plain loops need not be matched bit for bit
 * (float32 screening scores, covered by their error bound; the gradient and the exp/log1p polynomials,
 * matched to rounding).
 */
@inline export function madd32(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline export function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(f64x2.mul(a, b), c);
}

/** out[j] += scale · x[j] for a float32 row into float64 sums (scale 1 adds exactly as x[j] would). */
export function addRow(row: usize, out: usize, dims: i32, scale: f64): void {
  const sv = f64x2.splat(scale);
  let j = 0;
  for (; j + 2 <= dims; j += 2) {
    const p = out + (<usize>j << 3);
    v128.store(p, f64x2.add(v128.load(p), f64x2.mul(sv, f64x2.promote_low_f32x4(v128.load64_zero(row + (<usize>j << 2))))));
  }
  for (; j < dims; j++) {
    const p = out + (<usize>j << 3);
    store<f64>(p, load<f64>(p) + scale * <f64>load<f32>(row + (<usize>j << 2)));
  }
}

/** w·x in float64 for a float32 row and float64 weights. */
export function dot(row: usize, w: usize, dims: i32): f64 {
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= dims; j += 4) {
    acc0 = f64x2.add(acc0, f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(row + (<usize>j << 2))), v128.load(w + (<usize>j << 3))));
    acc1 = f64x2.add(acc1, f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(row + (<usize>j << 2) + 8)), v128.load(w + (<usize>j << 3) + 16)));
  }
  const acc = f64x2.add(acc0, acc1);
  let z = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; j < dims; j++) z += load<f64>(w + (<usize>j << 3)) * <f64>load<f32>(row + (<usize>j << 2));
  return z;
}
