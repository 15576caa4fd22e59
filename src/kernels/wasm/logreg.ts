// @ts-nocheck -- AssemblyScript, compiled by `asc` into the modules built from kernels.ts (npm run build:wasm), not by tsc.
/*
 * The logistic-regression kernels: the gradient pass (logregAccumulate) and the margins (logregMargins).
 */

import { addRow, dot, madd64 } from './simd';
import { expNonPositive, log1pUnit } from './expLog';

/** Most rows per batch of the logistic-regression pass (see logregAccumulate): scratch is 16 bytes a row. */
export const LOGREG_BATCH: i32 = 32;

/**
 * Logistic-regression gradient over rows [start, end): with p = σ(w·x + b), grad[0..dims) += (p − y)·x
 * and grad[dims] += p − y (w holds dims weights then the bias). Writes the summed log-loss to out[0]
 * and the rows classified right to out[1]; `tmp` is scratch for LOGREG_BATCH·16 bytes.
 *
 * Rows go in batches of up to LOGREG_BATCH, in three passes that stay in cache: the dot products (four
 * rows share each load of w), then exp, log1p, loss, accuracy and error two rows to a vector and
 * without branches, then one pass over grad per four rows. The middle pass is a long chain of
 * dependent operations per row pair; run over a batch, its pairs are independent of each other
 * (1M × 32: 17.7 ms, against 18.4–19.2 ms with the three interleaved per four rows). The last rows
 * (up to three) go two, then one, at a time.
 */
export function logregAccumulate(x: usize, y: usize, dims: i32, start: i32, end: i32, w: usize, grad: usize, out: usize, tmp: usize): void {
  const rowBytes = <usize>dims << 2;
  const bias = load<f64>(w + (<usize>dims << 3));
  const even = dims & ~1;
  const zero = f64x2.splat(0), one = f64x2.splat(1), biasV = f64x2.splat(bias);
  const zs = tmp, gs = tmp + (<usize>LOGREG_BATCH << 3);
  let lossV = zero, right = zero, err = zero;
  // A batch's rows (about 8 KB of them, 4 to LOGREG_BATCH rows) stay in the L1 cache between the
  // first pass and the third (measured at 32 dims: 128 rows per batch ran 20% slower than 16 to 64).
  const batch = max(4, min(LOGREG_BATCH, <i32>(8192 / rowBytes) & ~3));
  let i = start;
  while (i + 3 < end) {
    const n = min(batch, (end - i) & ~3);
    const first = x + <usize>i * rowBytes;
    // 1. z = w·x + b, four rows at a time: four independent chains sharing each load of w.
    for (let b = 0; b < n; b += 4) {
      const r0 = first + <usize>b * rowBytes;
      const r1 = r0 + rowBytes;
      const r2 = r1 + rowBytes;
      const r3 = r2 + rowBytes;
      let d0 = zero, d1 = zero, d2 = zero, d3 = zero;
      for (let j = 0; j < even; j += 2) {
        const o4 = <usize>j << 2;
        const wv = v128.load(w + (<usize>j << 3));
        d0 = madd64(f64x2.promote_low_f32x4(v128.load64_zero(r0 + o4)), wv, d0);
        d1 = madd64(f64x2.promote_low_f32x4(v128.load64_zero(r1 + o4)), wv, d1);
        d2 = madd64(f64x2.promote_low_f32x4(v128.load64_zero(r2 + o4)), wv, d2);
        d3 = madd64(f64x2.promote_low_f32x4(v128.load64_zero(r3 + o4)), wv, d3);
      }
      // z for rows (0, 1) and (2, 3): each lane the sum of its row's two chains.
      let z01 = f64x2.add(v128.shuffle<f64>(d0, d1, 0, 2), v128.shuffle<f64>(d0, d1, 1, 3));
      let z23 = f64x2.add(v128.shuffle<f64>(d2, d3, 0, 2), v128.shuffle<f64>(d2, d3, 1, 3));
      if (even < dims) {
        const wl = f64x2.splat(load<f64>(w + (<usize>even << 3)));
        const o4 = <usize>even << 2;
        z01 = madd64(wl, f64x2.promote_low_f32x4(v128.load32_lane(r1 + o4, v128.load32_zero(r0 + o4), 1)), z01);
        z23 = madd64(wl, f64x2.promote_low_f32x4(v128.load32_lane(r3 + o4, v128.load32_zero(r2 + o4), 1)), z23);
      }
      v128.store(zs + (<usize>b << 3), f64x2.add(z01, biasV));
      v128.store(zs + (<usize>b << 3), f64x2.add(z23, biasV), 16);
    }
    // 2. Two rows per vector: loss, accuracy and the error p − y.
    for (let b = 0; b < n; b += 2) {
      const z = v128.load(zs + (<usize>b << 3));
      const yv = f64x2.promote_low_f32x4(v128.load64_zero(y + (<usize>(i + b) << 2)));
      const e = expNonPositive(f64x2.neg(f64x2.abs(z)));
      // softplus(z) − y·z with softplus(z) = max(z, 0) + log1p(e): the plain loop's value, row by row.
      lossV = f64x2.add(lossV, f64x2.sub(f64x2.add(f64x2.pmax(zero, z), log1pUnit(e)), f64x2.mul(yv, z)));
      // Predicted label (z ≥ 0) as 1.0 or 0.0, compared with y.
      const pos = f64x2.ge(z, zero);
      right = f64x2.add(right, v128.and(f64x2.eq(v128.and(pos, one), yv), one));
      // p − y, with p = 1/(1 + e) for z ≥ 0 and e/(1 + e) below.
      const q = f64x2.div(one, f64x2.add(one, e));
      const g = f64x2.sub(v128.bitselect(q, f64x2.mul(e, q), pos), yv);
      err = f64x2.add(err, g);
      v128.store(gs + (<usize>b << 3), g);
    }
    // 3. One pass over grad per four rows.
    for (let b = 0; b < n; b += 4) {
      const r0 = first + <usize>b * rowBytes;
      const r1 = r0 + rowBytes;
      const r2 = r1 + rowBytes;
      const r3 = r2 + rowBytes;
      const gb = gs + (<usize>b << 3);
      const v0 = v128.load64_splat(gb), v1 = v128.load64_splat(gb, 8), v2 = v128.load64_splat(gb, 16), v3 = v128.load64_splat(gb, 24);
      for (let j = 0; j < even; j += 2) {
        const p = grad + (<usize>j << 3);
        const o4 = <usize>j << 2;
        let acc = madd64(v0, f64x2.promote_low_f32x4(v128.load64_zero(r0 + o4)), v128.load(p));
        acc = madd64(v1, f64x2.promote_low_f32x4(v128.load64_zero(r1 + o4)), acc);
        acc = madd64(v2, f64x2.promote_low_f32x4(v128.load64_zero(r2 + o4)), acc);
        v128.store(p, madd64(v3, f64x2.promote_low_f32x4(v128.load64_zero(r3 + o4)), acc));
      }
      if (even < dims) {
        const p = grad + (<usize>even << 3);
        const o4 = <usize>even << 2;
        store<f64>(p, load<f64>(p) + f64x2.extract_lane(v0, 0) * <f64>load<f32>(r0 + o4) + f64x2.extract_lane(v1, 0) * <f64>load<f32>(r1 + o4)
          + f64x2.extract_lane(v2, 0) * <f64>load<f32>(r2 + o4) + f64x2.extract_lane(v3, 0) * <f64>load<f32>(r3 + o4));
      }
    }
    i += n;
  }
  let loss = f64x2.extract_lane(lossV, 0) + f64x2.extract_lane(lossV, 1);
  let correct = f64x2.extract_lane(right, 0) + f64x2.extract_lane(right, 1);
  let errBias = f64x2.extract_lane(err, 0) + f64x2.extract_lane(err, 1);
  for (; i + 1 < end; i += 2) {
    const ra = x + <usize>i * rowBytes;
    const rb = ra + rowBytes;
    const za = bias + dot(ra, w, dims);
    const zb = bias + dot(rb, w, dims);
    const ya = <f64>load<f32>(y + (<usize>i << 2));
    const yb = <f64>load<f32>(y + (<usize>(i + 1) << 2));
    // Both rows' exp and log1p at once, lane by lane: softplus(z) − y·z with e = exp(−|z|).
    const zv = f64x2.replace_lane(f64x2.splat(za), 1, zb);
    const ev = expNonPositive(f64x2.neg(f64x2.abs(zv)));
    const lv = log1pUnit(ev);
    const qv = f64x2.div(f64x2.splat(1), f64x2.add(f64x2.splat(1), ev)); // 1 / (1 + e)
    const pv = v128.bitselect(qv, f64x2.mul(ev, qv), f64x2.ge(zv, f64x2.splat(0)));
    loss += (za > 0 ? za + f64x2.extract_lane(lv, 0) : f64x2.extract_lane(lv, 0)) - ya * za;
    loss += (zb > 0 ? zb + f64x2.extract_lane(lv, 1) : f64x2.extract_lane(lv, 1)) - yb * zb;
    if ((za >= 0 ? 1.0 : 0.0) == ya) correct += 1;
    if ((zb >= 0 ? 1.0 : 0.0) == yb) correct += 1;
    const ga = f64x2.extract_lane(pv, 0) - ya;
    const gb = f64x2.extract_lane(pv, 1) - yb;
    errBias += ga;
    errBias += gb;
    const va = f64x2.splat(ga), vb = f64x2.splat(gb);
    let j = 0;
    for (; j + 2 <= dims; j += 2) {
      const p = grad + (<usize>j << 3);
      const xa = f64x2.promote_low_f32x4(v128.load64_zero(ra + (<usize>j << 2)));
      const xb = f64x2.promote_low_f32x4(v128.load64_zero(rb + (<usize>j << 2)));
      v128.store(p, f64x2.add(f64x2.add(v128.load(p), f64x2.mul(va, xa)), f64x2.mul(vb, xb)));
    }
    for (; j < dims; j++) {
      const p = grad + (<usize>j << 3);
      store<f64>(p, load<f64>(p) + ga * <f64>load<f32>(ra + (<usize>j << 2)) + gb * <f64>load<f32>(rb + (<usize>j << 2)));
    }
  }
  if (i < end) {
    const ra = x + <usize>i * rowBytes;
    const za = bias + dot(ra, w, dims);
    const ya = <f64>load<f32>(y + (<usize>i << 2));
    const ea = Math.exp(-Math.abs(za));
    loss += (za > 0 ? za + Math.log1p(ea) : Math.log1p(ea)) - ya * za;
    const pa = za >= 0 ? 1 / (1 + ea) : ea / (1 + ea);
    if ((za >= 0 ? 1.0 : 0.0) == ya) correct += 1;
    const ga = pa - ya;
    errBias += ga;
    addRow(ra, grad, dims, ga);
  }
  const bp = grad + (<usize>dims << 3);
  store<f64>(bp, load<f64>(bp) + errBias);
  store<f64>(out, loss);
  store<f64>(out + 8, correct);
}

/**
 * z = w·x + w[dims] (float64) for rows [start, end) into out[0 .. end − start): the margins of a model,
 * or of a direction, on which the Newton and L-BFGS passes evaluate losses at several step lengths.
 */
export function logregMargins(x: usize, dims: i32, start: i32, end: i32, w: usize, out: usize): void {
  const rowBytes = <usize>dims << 2;
  const bias = load<f64>(w + (<usize>dims << 3));
  for (let i = start; i < end; i++) {
    store<f64>(out + (<usize>(i - start) << 3), bias + dot(x + <usize>i * rowBytes, w, dims));
  }
}
