// @ts-nocheck -- AssemblyScript, compiled by `asc` into the modules built from kernels.ts (npm run build:wasm), not by tsc.
/*
 * exp and log1p per float64x2 lane, for the log-loss of logistic regression (logreg.ts).
 */

import { madd64 } from './simd';

/**
 * exp(x) per lane for x ≤ 0 (or NaN), to within a few units in the last place: x = k·ln 2 + r with
 * |r| ≤ ln 2 / 2, exp(r) by its Taylor series to r¹³ (the next term is below 2⁻⁵⁵ relative), times 2ᵏ
 * put into the exponent. Below −700 the result is that of −700 (about 1e−304, where the true value is
 * smaller still): what it feeds, log1p(e) and e/(1 + e), differs from the exact by less than 1e−303,
 * and nothing downstream (e / 2 in log1pUnit) becomes subnormal, which x86 computes with microcode
 * assists at a hundred times the cost.
 */
@inline export function expNonPositive(x: v128): v128 {
  // pmax: one instruction (max's NaN and −0 rules cost several); a NaN x stays NaN either way.
  x = f64x2.pmax(x, f64x2.splat(-700));
  // k = x·log₂e rounded, by adding 1.5·2⁵² (the rounding puts k in the low bits of t's mantissa, so
  // t's bits minus the constant's are k as an integer): cheaper than nearest, truncate and extend.
  const t = f64x2.add(f64x2.mul(x, f64x2.splat(1.4426950408889634)), f64x2.splat(6755399441055744.0));
  const k = f64x2.sub(t, f64x2.splat(6755399441055744.0));
  // ln 2 in two parts (fdlibm's): k·hi is exact for |k| < 2¹¹.
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(k, f64x2.splat(6.93147180369123816490e-01))), f64x2.mul(k, f64x2.splat(1.90821492927058770002e-10)));
  // Σ rⁿ/n!, n ≤ 13, evaluated in Estrin's scheme (short dependency chains).
  const r2 = f64x2.mul(r, r), r4 = f64x2.mul(r2, r2), r8 = f64x2.mul(r4, r4);
  const q0 = f64x2.add(f64x2.splat(1.0), r);
  const q1 = madd64(r, f64x2.splat(1.0 / 6.0), f64x2.splat(1.0 / 2.0));
  const q2 = madd64(r, f64x2.splat(1.0 / 120.0), f64x2.splat(1.0 / 24.0));
  const q3 = madd64(r, f64x2.splat(1.0 / 5040.0), f64x2.splat(1.0 / 720.0));
  const q4 = madd64(r, f64x2.splat(1.0 / 362880.0), f64x2.splat(1.0 / 40320.0));
  const q5 = madd64(r, f64x2.splat(1.0 / 39916800.0), f64x2.splat(1.0 / 3628800.0));
  const q6 = madd64(r, f64x2.splat(1.0 / 6227020800.0), f64x2.splat(1.0 / 479001600.0));
  const s0 = madd64(q1, r2, q0);
  const s1 = madd64(q3, r2, q2);
  const s2 = madd64(q5, r2, q4);
  const u0 = madd64(s1, r4, s0);
  const u1 = madd64(q6, r4, s2);
  const p = madd64(u1, r8, u0);
  // k ∈ [−1010, 0]: add it to the exponent field of p ∈ [0.7, 1.5) (the result stays normal).
  const kk = i64x2.sub(t, i64x2.splat(0x4338000000000000));
  return i64x2.add(p, i64x2.shl(kk, 52));
}

/**
 * log1p(e) per lane for e ∈ [0, 1] (or NaN), to within a few units in the last place:
 * log(1 + e) = 2·atanh(s) with s = e / (2 + e) ≤ 1/3, the odd series to s³³ (next term below 2⁻⁵⁶ relative).
 */
@inline export function log1pUnit(e: v128): v128 {
  const s = f64x2.div(e, f64x2.add(f64x2.splat(2), e));
  // Where s < 2⁻³⁰ the series adds less than 2⁻⁶⁰ relative: t is taken as 0 there (and s² is not
  // computed from s), so that neither s² nor its powers are ever subnormal (see expNonPositive).
  const floor = f64x2.splat(9.313225746154785e-10); // 2⁻³⁰
  const sc = f64x2.pmax(s, floor);
  const t = v128.and(f64x2.mul(sc, sc), f64x2.ge(s, floor));
  // Σ tⁿ/(2n + 3), n ≤ 15, in Estrin's scheme.
  const t2 = f64x2.mul(t, t), t4 = f64x2.mul(t2, t2), t8 = f64x2.mul(t4, t4);
  const h0 = madd64(t, f64x2.splat(1.0 / 5.0), f64x2.splat(1.0 / 3.0));
  const h1 = madd64(t, f64x2.splat(1.0 / 9.0), f64x2.splat(1.0 / 7.0));
  const h2 = madd64(t, f64x2.splat(1.0 / 13.0), f64x2.splat(1.0 / 11.0));
  const h3 = madd64(t, f64x2.splat(1.0 / 17.0), f64x2.splat(1.0 / 15.0));
  const h4 = madd64(t, f64x2.splat(1.0 / 21.0), f64x2.splat(1.0 / 19.0));
  const h5 = madd64(t, f64x2.splat(1.0 / 25.0), f64x2.splat(1.0 / 23.0));
  const h6 = madd64(t, f64x2.splat(1.0 / 29.0), f64x2.splat(1.0 / 27.0));
  const h7 = madd64(t, f64x2.splat(1.0 / 33.0), f64x2.splat(1.0 / 31.0));
  const j0 = madd64(h1, t2, h0);
  const j1 = madd64(h3, t2, h2);
  const j2 = madd64(h5, t2, h4);
  const j3 = madd64(h7, t2, h6);
  const m0 = madd64(j1, t4, j0);
  const m1 = madd64(j3, t4, j2);
  const p = madd64(m1, t8, m0);
  // 2s + 2s·t·p: the leading term exact, the series' rounding only in the small rest.
  const s2 = f64x2.add(s, s);
  return madd64(f64x2.mul(s2, t), p, s2);
}
