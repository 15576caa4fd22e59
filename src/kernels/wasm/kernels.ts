// @ts-nocheck -- AssemblyScript, compiled by `asc` (npm run build:wasm), not by tsc.
/*
 * WebAssembly SIMD kernels. Every pointer is a byte address in the memory the host imports (a
 * shared WebAssembly.Memory whose rows the inner threads read in place); nothing here allocates,
 * and loads and stores are raw, so the inner loops carry no bounds checks beyond the engine's
 * guard pages.
 */

/** Where this module's own static data ends: the host must place nothing below it. */
export function heapBase(): usize {
  return __heap_base;
}

/*
 * k-means assignment and accumulation over rows [start, end).
 *
 * Centroids are scored in float32 with the expanded form ‖c‖² − 2x·c (‖x‖² is the same for every
 * centroid, so it is left out), 16 centroids and 2 rows per pass: each x value is broadcast once and
 * multiplied against 4 vectors that hold one coordinate of 4 centroids each, so no horizontal sums are
 * needed. Per row, each lane keeps its smallest score, runner-up and winner in vectors, branch-free.
 *
 * Float32 scores could pick a different centroid than the float64 plain loop where two centroids are
 * nearly equidistant. So the kernel also tracks the runner-up score, and when the gap between best and
 * runner-up is within a bound on the float32 rounding error it re-scores that row with the exact
 * float64 plain loop (same operations, same order): assignments are then those of the plain loop on
 * every row, ties included. The winner's distance is recomputed in float64 in the plain loop's order,
 * and each row is added to its cluster's sums in row order, so sums, counts and inertia are the plain
 * loop's bit for bit: partials do not depend on which kernels computed them.
 *
 *   ct    f32 centroids, transposed in blocks of 4 (kp = k rounded up to a multiple of 4, padding
 *         zeros): first groups of 4 blocks, dims × (4 blocks × 4 lanes) each, in the order the
 *         16-centroid pass reads them; then each remaining block as dims × 4 lanes.
 *   cn    f32 × kp: ‖c‖² (padding: +Infinity, so a padding centroid never wins)
 *   c64   f64 × k × dims: the centroids themselves
 *   sums  f64 × k × dims, counts f64 × k: added to
 *   cmax2 the largest ‖c‖², for the error bound
 * Returns the summed squared distances.
 */
export function kmeansAccumulate(
  x: usize, dims: i32, start: i32, end: i32,
  ct: usize, cn: usize, c64: usize, k: i32, kp: i32, cmax2: f64,
  sums: usize, counts: usize,
): f64 {
  const rowBytes = <usize>dims << 2;
  const blockBytes = <usize>dims << 4;
  const blocks = kp >> 2;
  const groups = blocks >> 2;
  // Per-candidate |float32 score − exact score| ≤ (dims + 4)·2⁻²⁴·(2‖c‖² + ‖x‖²) and
  // ‖x‖² ≤ 2·d(x, c_best) + 2‖c_best‖²; a gap under twice that, with a factor 8 to spare, is re-scored.
  const rel = <f64>(dims + 8) * 0.00000095367431640625; // 2⁻²⁰
  const inf = f32x4.splat(Infinity);
  const four = i32x4.splat(4);
  const lanes = i32x4(0, 1, 2, 3);
  let inertia: f64 = 0;
  let i = start;
  let lt: v128;
  for (; i + 1 < end; i += 2) {
    const ra = x + <usize>i * rowBytes;
    const rb = ra + rowBytes;
    // Per lane: the smallest score, the runner-up, the centroid of the smallest (lane l sees centroids ≡ l mod 4).
    let ma = inf, sa = inf, ia = i32x4.splat(0);
    let mb = inf, sb = inf, ib = i32x4.splat(0);
    let ci = lanes;
    let blk = 0;
    let p = ct;
    for (let g = 0; g < groups; g++, blk += 4) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      let pa = ra, pb = rb;
      const stop = ra + rowBytes;
      while (pa < stop) {
        const xa = v128.load32_splat(pa);
        const xb = v128.load32_splat(pb);
        const c0 = v128.load(p), c1 = v128.load(p, 16), c2 = v128.load(p, 32), c3 = v128.load(p, 48);
        a0 = f32x4.add(a0, f32x4.mul(xa, c0));
        a1 = f32x4.add(a1, f32x4.mul(xa, c1));
        a2 = f32x4.add(a2, f32x4.mul(xa, c2));
        a3 = f32x4.add(a3, f32x4.mul(xa, c3));
        b0 = f32x4.add(b0, f32x4.mul(xb, c0));
        b1 = f32x4.add(b1, f32x4.mul(xb, c1));
        b2 = f32x4.add(b2, f32x4.mul(xb, c2));
        b3 = f32x4.add(b3, f32x4.mul(xb, c3));
        pa += 4; pb += 4; p += 64;
      }
      const nb = cn + (<usize>blk << 4);
      const n0 = v128.load(nb), n1 = v128.load(nb, 16), n2 = v128.load(nb, 32), n3 = v128.load(nb, 48);
      // score = ‖c‖² − 2x·c
      const ci1 = i32x4.add(ci, four), ci2 = i32x4.add(ci1, four), ci3 = i32x4.add(ci2, four);
      let v = f32x4.sub(n0, f32x4.add(a0, a0));
      lt = f32x4.lt(v, ma); sa = f32x4.pmin(sa, f32x4.pmax(v, ma)); ma = f32x4.pmin(ma, v); ia = v128.bitselect(ci, ia, lt);
      v = f32x4.sub(n1, f32x4.add(a1, a1));
      lt = f32x4.lt(v, ma); sa = f32x4.pmin(sa, f32x4.pmax(v, ma)); ma = f32x4.pmin(ma, v); ia = v128.bitselect(ci1, ia, lt);
      v = f32x4.sub(n2, f32x4.add(a2, a2));
      lt = f32x4.lt(v, ma); sa = f32x4.pmin(sa, f32x4.pmax(v, ma)); ma = f32x4.pmin(ma, v); ia = v128.bitselect(ci2, ia, lt);
      v = f32x4.sub(n3, f32x4.add(a3, a3));
      lt = f32x4.lt(v, ma); sa = f32x4.pmin(sa, f32x4.pmax(v, ma)); ma = f32x4.pmin(ma, v); ia = v128.bitselect(ci3, ia, lt);
      v = f32x4.sub(n0, f32x4.add(b0, b0));
      lt = f32x4.lt(v, mb); sb = f32x4.pmin(sb, f32x4.pmax(v, mb)); mb = f32x4.pmin(mb, v); ib = v128.bitselect(ci, ib, lt);
      v = f32x4.sub(n1, f32x4.add(b1, b1));
      lt = f32x4.lt(v, mb); sb = f32x4.pmin(sb, f32x4.pmax(v, mb)); mb = f32x4.pmin(mb, v); ib = v128.bitselect(ci1, ib, lt);
      v = f32x4.sub(n2, f32x4.add(b2, b2));
      lt = f32x4.lt(v, mb); sb = f32x4.pmin(sb, f32x4.pmax(v, mb)); mb = f32x4.pmin(mb, v); ib = v128.bitselect(ci2, ib, lt);
      v = f32x4.sub(n3, f32x4.add(b3, b3));
      lt = f32x4.lt(v, mb); sb = f32x4.pmin(sb, f32x4.pmax(v, mb)); mb = f32x4.pmin(mb, v); ib = v128.bitselect(ci3, ib, lt);
      ci = i32x4.add(ci3, four);
    }
    // Blocks left over after the groups of 4: one block (4 centroids) per pass.
    for (; blk < blocks; blk++) {
      let a0 = f32x4.splat(0), b0 = f32x4.splat(0);
      let pa = ra, pb = rb;
      const stop = ra + rowBytes;
      while (pa < stop) {
        const c0 = v128.load(p);
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(pa), c0));
        b0 = f32x4.add(b0, f32x4.mul(v128.load32_splat(pb), c0));
        pa += 4; pb += 4; p += 16;
      }
      const n0 = v128.load(cn + (<usize>blk << 4));
      let v = f32x4.sub(n0, f32x4.add(a0, a0));
      lt = f32x4.lt(v, ma); sa = f32x4.pmin(sa, f32x4.pmax(v, ma)); ma = f32x4.pmin(ma, v); ia = v128.bitselect(ci, ia, lt);
      v = f32x4.sub(n0, f32x4.add(b0, b0));
      lt = f32x4.lt(v, mb); sb = f32x4.pmin(sb, f32x4.pmax(v, mb)); mb = f32x4.pmin(mb, v); ib = v128.bitselect(ci, ib, lt);
      ci = i32x4.add(ci, four);
    }
    const wa = winner(ma, ia);
    const wb = winner(mb, ib);
    const d = pairDistance(ra, rb, c64 + ((<usize>wa * <usize>dims) << 3), c64 + ((<usize>wb * <usize>dims) << 3), dims);
    inertia += settle(ra, dims, c64, k, cmax2, rel, wa, gap(ma, sa), f64x2.extract_lane(d, 0), sums, counts);
    inertia += settle(rb, dims, c64, k, cmax2, rel, wb, gap(mb, sb), f64x2.extract_lane(d, 1), sums, counts);
  }
  if (i < end) {
    // An odd last row: score it alone, one block of 4 centroids at a time.
    const ra = x + <usize>i * rowBytes;
    let ma = inf, sa = inf, ia = i32x4.splat(0);
    let ci = lanes;
    for (let blk = 0; blk < blocks; blk++) {
      // Within a group of 4 blocks one centroid block is every 4th vector; after the groups, contiguous.
      const grouped = blk < groups << 2;
      const step: usize = grouped ? 64 : 16;
      let p0 = grouped
        ? ct + <usize>(blk >> 2) * (blockBytes << 2) + (<usize>(blk & 3) << 4)
        : ct + <usize>groups * (blockBytes << 2) + <usize>(blk - (groups << 2)) * blockBytes;
      let a0 = f32x4.splat(0);
      let pa = ra;
      for (let j = 0; j < dims; j++) {
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(pa), v128.load(p0)));
        pa += 4; p0 += step;
      }
      const v = f32x4.sub(v128.load(cn + (<usize>blk << 4)), f32x4.add(a0, a0));
      lt = f32x4.lt(v, ma); sa = f32x4.pmin(sa, f32x4.pmax(v, ma)); ma = f32x4.pmin(ma, v); ia = v128.bitselect(ci, ia, lt);
      ci = i32x4.add(ci, four);
    }
    const wa = winner(ma, ia);
    const d = pairDistance(ra, ra, c64 + ((<usize>wa * <usize>dims) << 3), c64 + ((<usize>wa * <usize>dims) << 3), dims);
    inertia += settle(ra, dims, c64, k, cmax2, rel, wa, gap(ma, sa), f64x2.extract_lane(d, 0), sums, counts);
  }
  return inertia;
}

/** The smallest lane of a float32 vector. */
function hmin(v: v128): f32 {
  const t = f32x4.pmin(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmin(t, v128.shuffle<f32>(t, t, 1, 0, 3, 2)), 0);
}

/**
 * The row's float32 winner from its per-lane minima `m` and winners `idx` (lane l sees centroids
 * ≡ l mod 4). With a tie any of the tied centroids is returned: gap() is then 0, and settle() redoes
 * the row exactly.
 */
function winner(m: v128, idx: v128): i32 {
  const w = v128.and(idx, f32x4.eq(m, f32x4.splat(hmin(m))));
  const w2 = i32x4.max_s(w, v128.shuffle<i32>(w, w, 2, 3, 0, 1));
  return i32x4.extract_lane(i32x4.max_s(w2, v128.shuffle<i32>(w2, w2, 1, 0, 3, 2)), 0);
}

/** Runner-up score minus best score, from per-lane minima `m` and runners-up `sec`; 0 for a tie. */
function gap(m: v128, sec: v128): f64 {
  const low = hmin(m);
  const at = f32x4.eq(m, f32x4.splat(low));
  if (popcnt<i32>(i32x4.bitmask(at)) != 1) return 0;
  const others = hmin(v128.bitselect(f32x4.splat(Infinity), m, at));
  const second = hmin(sec);
  return <f64>(second < others ? second : others) - <f64>low;
}

/**
 * Squared distances of row a to float64 centroid ca and of row b to cb, one per lane, each summed
 * in the plain loop's order (lane by lane it is the same arithmetic), so that the inertia is the plain
 * loop's to the last bit; the two rows share one chain of additions.
 */
function pairDistance(ra: usize, rb: usize, ca: usize, cb: usize, dims: i32): v128 {
  let d = f64x2.splat(0);
  for (let j = 0; j < dims; j++) {
    const x = f64x2.promote_low_f32x4(v128.load32_lane(rb + (<usize>j << 2), v128.load32_zero(ra + (<usize>j << 2)), 1));
    const c = v128.load64_lane(cb + (<usize>j << 3), v128.load64_zero(ca + (<usize>j << 3)), 1);
    const diff = f64x2.sub(x, c);
    d = f64x2.add(d, f64x2.mul(diff, diff));
  }
  return d;
}

/**
 * Finishes one row: confirms the float32 winner `best` at float64 distance `dist` (or re-scores the
 * row exactly when the margin `gap` is too thin to trust it), adds the row to its cluster and returns
 * its squared distance.
 */
function settle(row: usize, dims: i32, c64: usize, k: i32, cmax2: f64, rel: f64, best: i32, gap: f64, dist: f64, sums: usize, counts: usize): f64 {
  // A NaN gap fails the test too; and rows so far out (‖x‖ beyond ~1e15) that float32 products could
  // overflow go the exact way whatever the scores say.
  if (!(gap > rel * (2 * dist + 4 * cmax2) + 1e-30) || dist > 1e30) {
    // The plain loop, operation for operation: its assignment is the reference's by construction.
    dist = Infinity;
    best = 0;
    for (let c = 0; c < k; c++) {
      const base = c64 + ((<usize>c * <usize>dims) << 3);
      let d: f64 = 0;
      for (let j = 0; j < dims; j++) {
        const diff = <f64>load<f32>(row + (<usize>j << 2)) - load<f64>(base + (<usize>j << 3));
        d += diff * diff;
      }
      if (d < dist) {
        dist = d;
        best = c;
      }
    }
  }
  // Each sum gets the same additions in the same order as in the plain loop: bit for bit the same.
  const out = sums + ((<usize>best * <usize>dims) << 3);
  let j = 0;
  for (; j + 2 <= dims; j += 2) {
    const p = out + (<usize>j << 3);
    v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(v128.load64_zero(row + (<usize>j << 2)))));
  }
  if (j < dims) {
    const p = out + (<usize>j << 3);
    store<f64>(p, load<f64>(p) + <f64>load<f32>(row + (<usize>j << 2)));
  }
  const cp = counts + (<usize>best << 3);
  store<f64>(cp, load<f64>(cp) + 1);
  return dist;
}

/** out[j] += scale · x[j] for a float32 row into float64 sums (scale 1 adds exactly as x[j] would). */
function addRow(row: usize, out: usize, dims: i32, scale: f64): void {
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
function dot(row: usize, w: usize, dims: i32): f64 {
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

/**
 * Logistic-regression gradient over rows [start, end): with p = σ(w·x + b), grad[0..dims) += (p − y)·x
 * and grad[dims] += p − y (w holds dims weights then the bias). Two rows share each pass over grad,
 * halving its loads and stores. Writes the summed log-loss to out[0] and the rows classified right
 * to out[1].
 */
export function logregAccumulate(x: usize, y: usize, dims: i32, start: i32, end: i32, w: usize, grad: usize, out: usize): void {
  const rowBytes = <usize>dims << 2;
  const bias = load<f64>(w + (<usize>dims << 3));
  let loss: f64 = 0;
  let correct: f64 = 0;
  let errBias: f64 = 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    const ra = x + <usize>i * rowBytes;
    const rb = ra + rowBytes;
    const za = bias + dot(ra, w, dims);
    const zb = bias + dot(rb, w, dims);
    const ya = <f64>load<f32>(y + (<usize>i << 2));
    const yb = <f64>load<f32>(y + (<usize>(i + 1) << 2));
    // softplus(z) − y·z with e = exp(−|z|): neither exp can overflow, one exp and one log1p per row.
    const ea = Math.exp(-Math.abs(za));
    const eb = Math.exp(-Math.abs(zb));
    loss += (za > 0 ? za + Math.log1p(ea) : Math.log1p(ea)) - ya * za;
    loss += (zb > 0 ? zb + Math.log1p(eb) : Math.log1p(eb)) - yb * zb;
    const pa = za >= 0 ? 1 / (1 + ea) : ea / (1 + ea);
    const pb = zb >= 0 ? 1 / (1 + eb) : eb / (1 + eb);
    if ((za >= 0 ? 1.0 : 0.0) == ya) correct += 1;
    if ((zb >= 0 ? 1.0 : 0.0) == yb) correct += 1;
    const ga = pa - ya;
    const gb = pb - yb;
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
