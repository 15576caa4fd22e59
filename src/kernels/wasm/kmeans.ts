// @ts-nocheck -- AssemblyScript, compiled by `asc` into the modules built from kernels.ts (npm run build:wasm), not by tsc.
/*
 * The k-means kernel: assignment of rows to their nearest centroid and accumulation of the clusters' sums.
 */

import { madd32 } from './simd';

/*
 * k-means assignment and accumulation over rows [start, end).
 *
 * Centroids are scored in float32 with the expanded form ‖c‖² − 2x·c (‖x‖² is the same for every
 * centroid, so it is left out), 16 centroids and 2 rows per pass: each x value is broadcast once and
 * multiplied against 4 vectors that hold one coordinate of 4 centroids each, so no horizontal sums are
 * needed. The centroids are stored pre-multiplied by −2 (exact) and each accumulator starts from ‖c‖²,
 * so the accumulated value is the score itself. Per row, each lane keeps its smallest score,
 * runner-up and winner in vectors, branch-free.
 *
 * Float32 scores could pick a different centroid than the float64 plain loop where two centroids are
 * nearly equidistant. So the kernel also tracks the runner-up score, and when the gap between best and
 * runner-up is within a bound on the float32 rounding error it re-scores that row exactly: the
 * centroids whose float32 score is within that bound of the best (the only ones that can be nearest)
 * get the plain loop's float64 distance, in index order with its strict comparison (rows with NaN or
 * enormous values take the whole plain loop): assignments are then those of the plain loop on every
 * row, ties included. One pass over the row then adds it to its cluster's sums, in row order, and
 * computes its float64 distance to the winner in the plain loop's four chains (see accumulateRow), so
 * sums, counts and inertia are the plain loop's bit for bit: partials do not depend on which kernels
 * computed them.
 *
 *   ct    f32 centroids × −2, transposed in blocks of 4 (kp = k rounded up to a multiple of 4, padding
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
  const blocks = kp >> 2;
  const groups = blocks >> 2;
  // Per-candidate |float32 score − exact score| ≤ (dims + 4)·2⁻²⁴·(2‖c‖² + ‖x‖²) (dims + 1 rounded
  // terms from ‖c‖², the rounding of ‖c‖² and of c to float32). A gap under twice that, with a
  // factor 8 to spare, is re-scored: the window is rel·(2·n + 2·cmax2), where n, ‖x‖² summed in
  // float32, is at least ‖x‖² / 2. Where float32 underflows (values below ~1e-19) these relative
  // bounds fail, but such gaps are below the 1e-30 that assign() always re-scores.
  const rel = <f64>(dims + 8) * 0.00000095367431640625; // 2⁻²⁰
  modelCt = ct;
  modelCn = cn;
  modelKp = kp;
  let inertia: f64 = 0;
  for (let i = start; i < end; i += 2) {
    // Rows in pairs, the last one (if the count is odd) paired with itself.
    const ra = x + <usize>i * rowBytes;
    const rb = i + 1 < end ? ra + rowBytes : ra;
    scorePair(ra, rb, rowBytes, ct, cn, blocks, groups);
    normsSquared(ra, rb, dims);
    const wb = pairWinnerB, gb = pairGapB, lb = pairLowB, nb = normB;
    const a = assign(ra, dims, c64, k, cmax2, rel, pairWinnerA, pairGapA, pairLowA, normA);
    inertia += addToCluster(ra, dims, a, c64, sums, counts);
    if (i + 1 < end) inertia += addToCluster(rb, dims, assign(rb, dims, c64, k, cmax2, rel, wb, gb, lb, nb), c64, sums, counts);
  }
  return inertia;
}

/* What scorePair found (globals are per instance, so per thread). */
let pairWinnerA: i32 = 0;
let pairWinnerB: i32 = 0;
let pairGapA: f64 = 0;
let pairGapB: f64 = 0;
let pairLowA: f64 = 0;
let pairLowB: f64 = 0;

/**
 * Float32 scores of rows ra and rb (which may be the same row) against every centroid: sets each
 * row's float32 winner and the gap to its runner-up.
 */
function scorePair(ra: usize, rb: usize, rowBytes: usize, ct: usize, cn: usize, blocks: i32, groups: i32): void {
  const inf = f32x4.splat(Infinity);
  const four = i32x4.splat(4);
  // Per lane: the smallest score, the runner-up, the centroid of the smallest (lane l sees centroids ≡ l mod 4).
  let ma = inf, sa = inf, ia = i32x4.splat(0);
  let mb = inf, sb = inf, ib = i32x4.splat(0);
  let ci = i32x4(0, 1, 2, 3);
  let lt: v128;
  let blk = 0;
  let p = ct;
  const stop = ra + rowBytes;
  for (let g = 0; g < groups; g++, blk += 4) {
    // Each accumulator starts at ‖c‖² and adds x·(−2c): it ends as the score.
    const nb = cn + (<usize>blk << 4);
    let a0 = v128.load(nb), a1 = v128.load(nb, 16), a2 = v128.load(nb, 32), a3 = v128.load(nb, 48);
    let b0 = a0, b1 = a1, b2 = a2, b3 = a3;
    let pa = ra, pb = rb;
    while (pa < stop) {
      const xa = v128.load32_splat(pa);
      const xb = v128.load32_splat(pb);
      const c0 = v128.load(p), c1 = v128.load(p, 16), c2 = v128.load(p, 32), c3 = v128.load(p, 48);
      a0 = madd32(xa, c0, a0); a1 = madd32(xa, c1, a1);
      a2 = madd32(xa, c2, a2); a3 = madd32(xa, c3, a3);
      b0 = madd32(xb, c0, b0); b1 = madd32(xb, c1, b1);
      b2 = madd32(xb, c2, b2); b3 = madd32(xb, c3, b3);
      pa += 4; pb += 4; p += 64;
    }
    const ci1 = i32x4.add(ci, four), ci2 = i32x4.add(ci1, four), ci3 = i32x4.add(ci2, four);
    lt = f32x4.lt(a0, ma); sa = f32x4.pmin(sa, f32x4.pmax(a0, ma)); ma = f32x4.pmin(ma, a0); ia = v128.bitselect(ci, ia, lt);
    lt = f32x4.lt(a1, ma); sa = f32x4.pmin(sa, f32x4.pmax(a1, ma)); ma = f32x4.pmin(ma, a1); ia = v128.bitselect(ci1, ia, lt);
    lt = f32x4.lt(a2, ma); sa = f32x4.pmin(sa, f32x4.pmax(a2, ma)); ma = f32x4.pmin(ma, a2); ia = v128.bitselect(ci2, ia, lt);
    lt = f32x4.lt(a3, ma); sa = f32x4.pmin(sa, f32x4.pmax(a3, ma)); ma = f32x4.pmin(ma, a3); ia = v128.bitselect(ci3, ia, lt);
    lt = f32x4.lt(b0, mb); sb = f32x4.pmin(sb, f32x4.pmax(b0, mb)); mb = f32x4.pmin(mb, b0); ib = v128.bitselect(ci, ib, lt);
    lt = f32x4.lt(b1, mb); sb = f32x4.pmin(sb, f32x4.pmax(b1, mb)); mb = f32x4.pmin(mb, b1); ib = v128.bitselect(ci1, ib, lt);
    lt = f32x4.lt(b2, mb); sb = f32x4.pmin(sb, f32x4.pmax(b2, mb)); mb = f32x4.pmin(mb, b2); ib = v128.bitselect(ci2, ib, lt);
    lt = f32x4.lt(b3, mb); sb = f32x4.pmin(sb, f32x4.pmax(b3, mb)); mb = f32x4.pmin(mb, b3); ib = v128.bitselect(ci3, ib, lt);
    ci = i32x4.add(ci3, four);
  }
  // Blocks left over after the groups of 4: one block (4 centroids) per pass.
  for (; blk < blocks; blk++) {
    let a0 = v128.load(cn + (<usize>blk << 4));
    let b0 = a0;
    let pa = ra, pb = rb;
    while (pa < stop) {
      const c0 = v128.load(p);
      a0 = madd32(v128.load32_splat(pa), c0, a0);
      b0 = madd32(v128.load32_splat(pb), c0, b0);
      pa += 4; pb += 4; p += 16;
    }
    lt = f32x4.lt(a0, ma); sa = f32x4.pmin(sa, f32x4.pmax(a0, ma)); ma = f32x4.pmin(ma, a0); ia = v128.bitselect(ci, ia, lt);
    lt = f32x4.lt(b0, mb); sb = f32x4.pmin(sb, f32x4.pmax(b0, mb)); mb = f32x4.pmin(mb, b0); ib = v128.bitselect(ci, ib, lt);
    ci = i32x4.add(ci, four);
  }
  pairWinnerA = winner(ma, ia);
  pairWinnerB = winner(mb, ib);
  pairGapA = gap(ma, sa);
  pairGapB = gap(mb, sb);
  pairLowA = <f64>hmin(ma);
  pairLowB = <f64>hmin(mb);
}

/** The smallest lane of a float32 vector. */
function hmin(v: v128): f32 {
  const t = f32x4.pmin(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmin(t, v128.shuffle<f32>(t, t, 1, 0, 3, 2)), 0);
}

/**
 * The row's float32 winner from its per-lane minima `m` and winners `idx` (lane l sees centroids
 * ≡ l mod 4). With a tie any of the tied centroids is returned: gap() is then 0, and assign() redoes
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

/* The model's float32 side, set by kmeansAccumulate for rescore() (globals are per instance, so per thread). */
let modelCt: usize = 0;
let modelCn: usize = 0;
let modelKp: i32 = 0;

/**
 * The plain loop's centroid for one row: the float32 winner `best`, or when the margin `gap` to the
 * runner-up is too thin to trust, the row re-scored exactly. `low` is the winner's float32 score and
 * `n` the row's ‖x‖² in float32.
 */
function assign(row: usize, dims: i32, c64: usize, k: i32, cmax2: f64, rel: f64, best: i32, gap: f64, low: f64, n: f64): i32 {
  const window = rel * (2 * n + 2 * cmax2);
  // A NaN gap or norm fails the test too; and rows so far out (‖x‖² beyond 1e30) that float32
  // products could overflow go the exact way whatever the scores say.
  if (gap > window + 1e-30 && n <= 1e30) return best;
  // Only centroids whose float32 score is within the window of the best can be the exact nearest.
  if (n <= 1e30 && low - low == 0) return rescore(row, dims, c64, k, <f32>(low + window + 1e-30));
  // The plain loop, operation for operation: its assignment is the reference's by construction.
  let dist = Infinity;
  best = 0;
  for (let c = 0; c < k; c++) {
    const d = exactDistance(row, c64 + ((<usize>c * <usize>dims) << 3), dims);
    if (d < dist) {
      dist = d;
      best = c;
    }
  }
  return best;
}

/**
 * ‖x‖² of float32 rows a and b (which may be the same row), summed in float32, for the error window
 * only (each is at least half the exact value); both rows' chains interleaved, so that their
 * latencies overlap. Left in normA and normB.
 */
function normsSquared(ra: usize, rb: usize, dims: i32): void {
  let a0 = f32x4.splat(0), a1 = a0, b0 = a0, b1 = a0;
  let j = 0;
  for (; j + 8 <= dims; j += 8) {
    const o = <usize>j << 2;
    const u = v128.load(ra + o), v = v128.load(ra + o, 16);
    const p = v128.load(rb + o), q = v128.load(rb + o, 16);
    a0 = madd32(u, u, a0);
    a1 = madd32(v, v, a1);
    b0 = madd32(p, p, b0);
    b1 = madd32(q, q, b1);
  }
  if (j + 4 <= dims) {
    const u = v128.load(ra + (<usize>j << 2));
    const p = v128.load(rb + (<usize>j << 2));
    a0 = madd32(u, u, a0);
    b0 = madd32(p, p, b0);
    j += 4;
  }
  a0 = f32x4.add(a0, a1);
  b0 = f32x4.add(b0, b1);
  let na = f32x4.extract_lane(a0, 0) + f32x4.extract_lane(a0, 1) + f32x4.extract_lane(a0, 2) + f32x4.extract_lane(a0, 3);
  let nb = f32x4.extract_lane(b0, 0) + f32x4.extract_lane(b0, 1) + f32x4.extract_lane(b0, 2) + f32x4.extract_lane(b0, 3);
  for (; j < dims; j++) {
    const u = load<f32>(ra + (<usize>j << 2));
    const p = load<f32>(rb + (<usize>j << 2));
    na += u * u;
    nb += p * p;
  }
  normA = <f64>na;
  normB = <f64>nb;
}

let normA: f64 = 0;
let normB: f64 = 0;

/** Adds row to cluster `best` (its count, then its sums) and returns its squared distance to the centroid. */
@inline function addToCluster(row: usize, dims: i32, best: i32, c64: usize, sums: usize, counts: usize): f64 {
  const cp = counts + (<usize>best << 3);
  store<f64>(cp, load<f64>(cp) + 1);
  const offset = (<usize>best * <usize>dims) << 3;
  return accumulateRow(row, dims, c64 + offset, sums + offset);
}

/**
 * Adds a float32 row to float64 sums `out` (each value in turn, as the plain loop does) and returns
 * its squared distance to float64 centroid `c` in the plain loop's four chains: dims ≡ 0, 1, 2, 3
 * (mod 4) each summed in order, then (chain 0 + chain 1) + (chain 2 + chain 3). Plain multiplies and
 * adds, never fused: the plain loop must get the same bits.
 */
function accumulateRow(row: usize, dims: i32, c: usize, out: usize): f64 {
  let d01 = f64x2.splat(0), d23 = d01;
  let j = 0;
  for (; j + 4 <= dims; j += 4) {
    const v = v128.load(row + (<usize>j << 2));
    const x01 = f64x2.promote_low_f32x4(v);
    const x23 = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    const p = out + (<usize>j << 3);
    v128.store(p, f64x2.add(v128.load(p), x01));
    v128.store(p, f64x2.add(v128.load(p, 16), x23), 16);
    const e01 = f64x2.sub(x01, v128.load(c + (<usize>j << 3)));
    const e23 = f64x2.sub(x23, v128.load(c + (<usize>j << 3), 16));
    d01 = f64x2.add(d01, f64x2.mul(e01, e01));
    d23 = f64x2.add(d23, f64x2.mul(e23, e23));
  }
  let s0 = f64x2.extract_lane(d01, 0), s1 = f64x2.extract_lane(d01, 1);
  let s2 = f64x2.extract_lane(d23, 0);
  const s3 = f64x2.extract_lane(d23, 1);
  // At most 3 dims left: they continue chains 0, 1, 2.
  for (let r = 0; j < dims; j++, r++) {
    const v = <f64>load<f32>(row + (<usize>j << 2));
    const p = out + (<usize>j << 3);
    store<f64>(p, load<f64>(p) + v);
    const e = v - load<f64>(c + (<usize>j << 3));
    if (r == 0) s0 += e * e;
    else if (r == 1) s1 += e * e;
    else s2 += e * e;
  }
  return (s0 + s1) + (s2 + s3);
}

/** Σ (x[j] − c[j])² in j order, in float64: the plain loop's distance, operation for operation. */
function exactDistance(row: usize, base: usize, dims: i32): f64 {
  let d: f64 = 0;
  for (let j = 0; j < dims; j++) {
    const diff = <f64>load<f32>(row + (<usize>j << 2)) - load<f64>(base + (<usize>j << 3));
    d += diff * diff;
  }
  return d;
}

/**
 * The plain loop's assignment of a row whose float32 margin was thin. Every float32 score is within
 * E of the exact one and the window is at least 2E (see kmeansAccumulate), so a centroid scoring above
 * `limit` (best float32 score + window) is strictly farther than the float32 winner: the exact nearest,
 * lowest index first on ties, is among those at or below it. Those get the exact distance, in index
 * order with the plain loop's strict comparison.
 */
function rescore(row: usize, dims: i32, c64: usize, k: i32, limit: f32): i32 {
  const blocks = modelKp >> 2;
  const groups = blocks >> 2;
  const blockBytes = <usize>dims << 4;
  const lim = f32x4.splat(limit);
  let dist = Infinity;
  let best = 0;
  for (let blk = 0; blk < blocks; blk++) {
    // Within a group of 4 blocks one centroid block is every 4th vector; after the groups, contiguous.
    const grouped = blk < groups << 2;
    const step: usize = grouped ? 64 : 16;
    let p = grouped
      ? modelCt + <usize>(blk >> 2) * (blockBytes << 2) + (<usize>(blk & 3) << 4)
      : modelCt + <usize>groups * (blockBytes << 2) + <usize>(blk - (groups << 2)) * blockBytes;
    let score = v128.load(modelCn + (<usize>blk << 4));
    for (let j = 0; j < dims; j++) {
      score = madd32(v128.load32_splat(row + (<usize>j << 2)), v128.load(p), score);
      p += step;
    }
    let mask = i32x4.bitmask(f32x4.le(score, lim));
    while (mask != 0) {
      const c = (blk << 2) + ctz<i32>(mask);
      mask &= mask - 1;
      if (c >= k) break;
      const d = exactDistance(row, c64 + ((<usize>c * <usize>dims) << 3), dims);
      if (d < dist) {
        dist = d;
        best = c;
      }
    }
  }
  return best;
}
