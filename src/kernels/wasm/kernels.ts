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
 * a·b + c per lane. The module is built twice from this file: kernels.wasm with relaxed SIMD, where
 * this is one fused multiply-add (or, on hardware without one, a multiply then an add), and
 * kernels-simd128.wasm for runtimes without relaxed SIMD, where it is always a multiply then an add.
 * So its rounding is not fixed: it is used only where the plain loops need not be matched bit for bit
 * (float32 screening scores, covered by their error bound; the gradient and the exp/log1p polynomials,
 * matched to rounding).
 */
@inline function madd32(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(f64x2.mul(a, b), c);
}

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
 * exp(x) per lane for x ≤ 0 (or NaN), to within a few units in the last place: x = k·ln 2 + r with
 * |r| ≤ ln 2 / 2, exp(r) by its Taylor series to r¹³ (the next term is below 2⁻⁵⁵ relative), times 2ᵏ
 * put into the exponent. Below −700 the result is that of −700 (about 1e−304, where the true value is
 * smaller still): what it feeds, log1p(e) and e/(1 + e), differs from the exact by less than 1e−303,
 * and nothing downstream (e / 2 in log1pUnit) becomes subnormal, which x86 computes with microcode
 * assists at a hundred times the cost.
 */
@inline function expNonPositive(x: v128): v128 {
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
@inline function log1pUnit(e: v128): v128 {
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

/** Rows per block of hessianAccumulate: `tmp` holds HESSIAN_BLOCK standardised rows and their weights. */
export const HESSIAN_BLOCK: i32 = 8;

/**
 * The Newton pass's curvature: H += Σᵢ s[i − start] · x̃ᵢ x̃ᵢᵀ over rows [start, end), where
 * x̃ᵢ = ((xᵢ − mean) · invStd, 1) is the standardised row with the bias's constant 1, and H is the upper
 * triangle of the (dims + 1)² matrix packed row by row (row j holds columns j..dims).
 *
 * That is (dims + 1)(dims + 2)/2 multiply-adds a row, so it is blocked: HESSIAN_BLOCK rows are
 * standardised into `tmp` (float64), then each row of H is loaded and stored once per block while the
 * block's rows are added to it two columns to a vector, their weights s·x̃ⱼ splatted outside the
 * column loop. A short last block is padded with zero rows of zero weight (adding +0 changes nothing).
 * Per entry the additions run in row order, as the plain loop's do. `tmp`: HESSIAN_BLOCK·(dims + 2)·8 bytes.
 */
export function hessianAccumulate(x: usize, dims: i32, start: i32, end: i32, s: usize, mean: usize, invStd: usize, h: usize, tmp: usize): void {
  const n = dims + 1;
  const rowBytes = <usize>dims << 2;
  const stride = <usize>n << 3;
  const weights = tmp + <usize>HESSIAN_BLOCK * stride;
  let i = start;
  while (i < end) {
    const m = min(HESSIAN_BLOCK, end - i);
    for (let b = 0; b < HESSIAN_BLOCK; b++) {
      const dst = tmp + <usize>b * stride;
      if (b < m) {
        const row = x + <usize>(i + b) * rowBytes;
        for (let j = 0; j < dims; j++) {
          store<f64>(dst + (<usize>j << 3), (<f64>load<f32>(row + (<usize>j << 2)) - load<f64>(mean + (<usize>j << 3))) * load<f64>(invStd + (<usize>j << 3)));
        }
        store<f64>(dst + (<usize>dims << 3), 1.0);
        store<f64>(weights + (<usize>b << 3), load<f64>(s + (<usize>(i + b - start) << 3)));
      } else {
        memory.fill(dst, 0, stride);
        store<f64>(weights + (<usize>b << 3), 0.0);
      }
    }
    let hp = h;
    for (let j = 0; j < n; j++) {
      const col = <usize>j << 3;
      // u_b = s_b · x̃_bj, the plain loop's first product.
      const u0 = load<f64>(weights) * load<f64>(tmp + col);
      const u1 = load<f64>(weights, 8) * load<f64>(tmp + stride + col);
      const u2 = load<f64>(weights, 16) * load<f64>(tmp + 2 * stride + col);
      const u3 = load<f64>(weights, 24) * load<f64>(tmp + 3 * stride + col);
      const u4 = load<f64>(weights, 32) * load<f64>(tmp + 4 * stride + col);
      const u5 = load<f64>(weights, 40) * load<f64>(tmp + 5 * stride + col);
      const u6 = load<f64>(weights, 48) * load<f64>(tmp + 6 * stride + col);
      const u7 = load<f64>(weights, 56) * load<f64>(tmp + 7 * stride + col);
      const v0 = f64x2.splat(u0), v1 = f64x2.splat(u1), v2 = f64x2.splat(u2), v3 = f64x2.splat(u3);
      const v4 = f64x2.splat(u4), v5 = f64x2.splat(u5), v6 = f64x2.splat(u6), v7 = f64x2.splat(u7);
      const len = n - j;
      const r0 = tmp + col;
      let k = 0;
      for (; k + 2 <= len; k += 2) {
        const o = <usize>k << 3;
        const p = hp + o;
        const r = r0 + o;
        let acc = madd64(v0, v128.load(r), v128.load(p));
        acc = madd64(v1, v128.load(r + stride), acc);
        acc = madd64(v2, v128.load(r + 2 * stride), acc);
        acc = madd64(v3, v128.load(r + 3 * stride), acc);
        acc = madd64(v4, v128.load(r + 4 * stride), acc);
        acc = madd64(v5, v128.load(r + 5 * stride), acc);
        acc = madd64(v6, v128.load(r + 6 * stride), acc);
        v128.store(p, madd64(v7, v128.load(r + 7 * stride), acc));
      }
      if (k < len) {
        const o = <usize>k << 3;
        const p = hp + o;
        const r = r0 + o;
        let acc = load<f64>(p);
        acc += u0 * load<f64>(r);
        acc += u1 * load<f64>(r + stride);
        acc += u2 * load<f64>(r + 2 * stride);
        acc += u3 * load<f64>(r + 3 * stride);
        acc += u4 * load<f64>(r + 4 * stride);
        acc += u5 * load<f64>(r + 5 * stride);
        acc += u6 * load<f64>(r + 6 * stride);
        acc += u7 * load<f64>(r + 7 * stride);
        store<f64>(p, acc);
      }
      hp += <usize>len << 3;
    }
    i += m;
  }
}

/** Rows per block of the softmax kernels: `tmp` holds them in float64, and their logits. */
export const SOFTMAX_BLOCK: i32 = 8;

/** Bytes of `tmp` the softmax kernels need for `dims` columns and `classes` outputs. */
export function softmaxScratchBytes(dims: i32, classes: i32): i32 {
  return SOFTMAX_BLOCK * ((dims + 2) * 8) + 4 * SOFTMAX_BLOCK * classes * 8 + classes * 8 + 64;
}

/** Rows [i, i + m) of float32 `x` into float64 `dst`, one row every `stride` bytes. */
function widenRows(x: usize, rowBytes: usize, i: i32, m: i32, dims: i32, dst: usize, stride: usize): void {
  for (let b = 0; b < m; b++) {
    const row = x + <usize>(i + b) * rowBytes;
    const out = dst + <usize>b * stride;
    let j = 0;
    for (; j + 4 <= dims; j += 4) {
      const v = v128.load(row + (<usize>j << 2));
      v128.store(out + (<usize>j << 3), f64x2.promote_low_f32x4(v));
      v128.store(out + (<usize>j << 3) + 16, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
    }
    for (; j < dims; j++) store<f64>(out + (<usize>j << 3), <f64>load<f32>(row + (<usize>j << 2)));
  }
}

/**
 * z[b·classes + k] = W_k·x_b + bias_k for the m rows of a widened block (`w`: classes rows of dims
 * weights, then the biases). Two rows × four classes per pass: eight float64x2 chains that share each
 * load of a row pair and of four weight rows. Every row's logit is summed in the same order (pairs of
 * columns into one vector, its two lanes added, then the bias) whichever tile computes it, so a row's
 * logits do not depend on where a thread's range starts (nor on the block a row falls in).
 */
function blockLogits(rows: usize, stride: usize, m: i32, dims: i32, classes: i32, w: usize, z: usize): void {
  const rowW = <usize>dims << 3;
  const biases = w + <usize>classes * rowW;
  const odd = dims & 1;
  const zero = f64x2.splat(0);
  let b = 0;
  for (; b + 1 < m; b += 2) {
    const ra = rows + <usize>b * stride, rb = ra + stride;
    const za = z + <usize>(b * classes) * 8, zb = za + (<usize>classes << 3);
    let k = 0;
    for (; k + 3 < classes; k += 4) {
      const w0 = w + <usize>k * rowW, w1 = w0 + rowW, w2 = w1 + rowW, w3 = w2 + rowW;
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero, c0 = zero, c1 = zero, c2 = zero, c3 = zero;
      const full = dims & ~1;
      for (let j = 0; j < full; j += 2) {
        const o = <usize>j << 3;
        const xa = v128.load(ra + o), xb = v128.load(rb + o);
        const v0 = v128.load(w0 + o), v1 = v128.load(w1 + o), v2 = v128.load(w2 + o), v3 = v128.load(w3 + o);
        a0 = madd64(xa, v0, a0); c0 = madd64(xb, v0, c0);
        a1 = madd64(xa, v1, a1); c1 = madd64(xb, v1, c1);
        a2 = madd64(xa, v2, a2); c2 = madd64(xb, v2, c2);
        a3 = madd64(xa, v3, a3); c3 = madd64(xb, v3, c3);
      }
      if (odd) {
        const o = <usize>(dims - 1) << 3;
        const xa = f64x2.replace_lane(zero, 0, load<f64>(ra + o)), xb = f64x2.replace_lane(zero, 0, load<f64>(rb + o));
        const v0 = f64x2.splat(load<f64>(w0 + o)), v1 = f64x2.splat(load<f64>(w1 + o)), v2 = f64x2.splat(load<f64>(w2 + o)), v3 = f64x2.splat(load<f64>(w3 + o));
        a0 = madd64(xa, v0, a0); c0 = madd64(xb, v0, c0);
        a1 = madd64(xa, v1, a1); c1 = madd64(xb, v1, c1);
        a2 = madd64(xa, v2, a2); c2 = madd64(xb, v2, c2);
        a3 = madd64(xa, v3, a3); c3 = madd64(xb, v3, c3);
      }
      const bk = biases + (<usize>k << 3);
      const o = <usize>k << 3;
      store<f64>(za + o, f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) + load<f64>(bk));
      store<f64>(za + o + 8, f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1) + load<f64>(bk, 8));
      store<f64>(za + o + 16, f64x2.extract_lane(a2, 0) + f64x2.extract_lane(a2, 1) + load<f64>(bk, 16));
      store<f64>(za + o + 24, f64x2.extract_lane(a3, 0) + f64x2.extract_lane(a3, 1) + load<f64>(bk, 24));
      store<f64>(zb + o, f64x2.extract_lane(c0, 0) + f64x2.extract_lane(c0, 1) + load<f64>(bk));
      store<f64>(zb + o + 8, f64x2.extract_lane(c1, 0) + f64x2.extract_lane(c1, 1) + load<f64>(bk, 8));
      store<f64>(zb + o + 16, f64x2.extract_lane(c2, 0) + f64x2.extract_lane(c2, 1) + load<f64>(bk, 16));
      store<f64>(zb + o + 24, f64x2.extract_lane(c3, 0) + f64x2.extract_lane(c3, 1) + load<f64>(bk, 24));
    }
    // Two classes left (10 = 4 + 4 + 2): two rows × two classes, four chains, rather than one chain
    // at a time (latency-bound); the same order of sums per logit.
    for (; k + 1 < classes; k += 2) {
      const w0 = w + <usize>k * rowW, w1 = w0 + rowW;
      let a0 = zero, a1 = zero, c0 = zero, c1 = zero;
      const full = dims & ~1;
      for (let j = 0; j < full; j += 2) {
        const o = <usize>j << 3;
        const xa = v128.load(ra + o), xb = v128.load(rb + o);
        const v0 = v128.load(w0 + o), v1 = v128.load(w1 + o);
        a0 = madd64(xa, v0, a0); c0 = madd64(xb, v0, c0);
        a1 = madd64(xa, v1, a1); c1 = madd64(xb, v1, c1);
      }
      if (odd) {
        const o = <usize>(dims - 1) << 3;
        const xa = f64x2.replace_lane(zero, 0, load<f64>(ra + o)), xb = f64x2.replace_lane(zero, 0, load<f64>(rb + o));
        const v0 = f64x2.splat(load<f64>(w0 + o)), v1 = f64x2.splat(load<f64>(w1 + o));
        a0 = madd64(xa, v0, a0); c0 = madd64(xb, v0, c0);
        a1 = madd64(xa, v1, a1); c1 = madd64(xb, v1, c1);
      }
      const bk = biases + (<usize>k << 3);
      const o = <usize>k << 3;
      store<f64>(za + o, f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) + load<f64>(bk));
      store<f64>(za + o + 8, f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1) + load<f64>(bk, 8));
      store<f64>(zb + o, f64x2.extract_lane(c0, 0) + f64x2.extract_lane(c0, 1) + load<f64>(bk));
      store<f64>(zb + o + 8, f64x2.extract_lane(c1, 0) + f64x2.extract_lane(c1, 1) + load<f64>(bk, 8));
    }
    for (; k < classes; k++) {
      store<f64>(za + (<usize>k << 3), rowLogit(ra, w + <usize>k * rowW, dims) + load<f64>(biases + (<usize>k << 3)));
      store<f64>(zb + (<usize>k << 3), rowLogit(rb, w + <usize>k * rowW, dims) + load<f64>(biases + (<usize>k << 3)));
    }
  }
  for (; b < m; b++) {
    const ra = rows + <usize>b * stride;
    const za = z + <usize>(b * classes) * 8;
    for (let k = 0; k < classes; k++) {
      store<f64>(za + (<usize>k << 3), rowLogit(ra, w + <usize>k * rowW, dims) + load<f64>(biases + (<usize>k << 3)));
    }
  }
}

/** One widened row's W_k·x in blockLogits' order: one float64x2 chain over column pairs, then its lanes. */
function rowLogit(row: usize, wk: usize, dims: i32): f64 {
  let a = f64x2.splat(0);
  const full = dims & ~1;
  for (let j = 0; j < full; j += 2) {
    const o = <usize>j << 3;
    a = madd64(v128.load(row + o), v128.load(wk + o), a);
  }
  if (full < dims) {
    const o = <usize>full << 3;
    a = madd64(f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(row + o)), f64x2.splat(load<f64>(wk + o)), a);
  }
  return f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
}

/**
 * grad[k·dims + j] += Σ_b e[b·classes + k]·x_bj and grad[classes·dims + k] += Σ_b e[b·classes + k]
 * over the m rows of a widened block: four rows × two classes per pass (their eight factors splatted
 * outside the column loop), so each pair of gradient entries is loaded and stored once per four rows.
 */
function blockAccumulate(rows: usize, stride: usize, m: i32, dims: i32, classes: i32, e: usize, grad: usize): void {
  const rowW = <usize>dims << 3;
  const full = dims & ~1;
  let b = 0;
  for (; b + 3 < m; b += 4) {
    const r0 = rows + <usize>b * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
    const e0 = e + <usize>(b * classes) * 8, e1 = e0 + (<usize>classes << 3), e2 = e1 + (<usize>classes << 3), e3 = e2 + (<usize>classes << 3);
    let k = 0;
    for (; k + 1 < classes; k += 2) {
      const o = <usize>k << 3;
      const p0 = v128.load64_splat(e0 + o), p1 = v128.load64_splat(e1 + o), p2 = v128.load64_splat(e2 + o), p3 = v128.load64_splat(e3 + o);
      const q0 = v128.load64_splat(e0 + o + 8), q1 = v128.load64_splat(e1 + o + 8), q2 = v128.load64_splat(e2 + o + 8), q3 = v128.load64_splat(e3 + o + 8);
      const g0 = grad + <usize>k * rowW, g1 = g0 + rowW;
      for (let j = 0; j < full; j += 2) {
        const oj = <usize>j << 3;
        const x0 = v128.load(r0 + oj), x1 = v128.load(r1 + oj), x2 = v128.load(r2 + oj), x3 = v128.load(r3 + oj);
        let s = madd64(p0, x0, v128.load(g0 + oj));
        let t = madd64(q0, x0, v128.load(g1 + oj));
        s = madd64(p1, x1, s); t = madd64(q1, x1, t);
        s = madd64(p2, x2, s); t = madd64(q2, x2, t);
        v128.store(g0 + oj, madd64(p3, x3, s));
        v128.store(g1 + oj, madd64(q3, x3, t));
      }
      if (full < dims) {
        const oj = <usize>full << 3;
        const x0 = load<f64>(r0 + oj), x1 = load<f64>(r1 + oj), x2 = load<f64>(r2 + oj), x3 = load<f64>(r3 + oj);
        store<f64>(g0 + oj, load<f64>(g0 + oj) + f64x2.extract_lane(p0, 0) * x0 + f64x2.extract_lane(p1, 0) * x1 + f64x2.extract_lane(p2, 0) * x2 + f64x2.extract_lane(p3, 0) * x3);
        store<f64>(g1 + oj, load<f64>(g1 + oj) + f64x2.extract_lane(q0, 0) * x0 + f64x2.extract_lane(q1, 0) * x1 + f64x2.extract_lane(q2, 0) * x2 + f64x2.extract_lane(q3, 0) * x3);
      }
    }
    for (; k < classes; k++) {
      const o = <usize>k << 3;
      addWide(r0, grad + <usize>k * rowW, dims, load<f64>(e0 + o));
      addWide(r1, grad + <usize>k * rowW, dims, load<f64>(e1 + o));
      addWide(r2, grad + <usize>k * rowW, dims, load<f64>(e2 + o));
      addWide(r3, grad + <usize>k * rowW, dims, load<f64>(e3 + o));
    }
  }
  for (; b < m; b++) {
    const r0 = rows + <usize>b * stride;
    const e0 = e + <usize>(b * classes) * 8;
    for (let k = 0; k < classes; k++) addWide(r0, grad + <usize>k * rowW, dims, load<f64>(e0 + (<usize>k << 3)));
  }
  const biasGrad = grad + <usize>classes * rowW;
  for (let k = 0; k < classes; k++) {
    let sum = load<f64>(biasGrad + (<usize>k << 3));
    for (let c = 0; c < m; c++) sum += load<f64>(e + <usize>(c * classes + k) * 8);
    store<f64>(biasGrad + (<usize>k << 3), sum);
  }
}

/** out[j] += scale · x[j] for a widened (float64) row. */
function addWide(row: usize, out: usize, dims: i32, scale: f64): void {
  const sv = f64x2.splat(scale);
  let j = 0;
  for (; j + 2 <= dims; j += 2) {
    const p = out + (<usize>j << 3);
    v128.store(p, madd64(sv, v128.load(row + (<usize>j << 3)), v128.load(p)));
  }
  if (j < dims) {
    const p = out + (<usize>j << 3);
    store<f64>(p, load<f64>(p) + scale * load<f64>(row + (<usize>j << 3)));
  }
}

/** log Σ exp(z[0..classes)) (float64), shifted by the largest so that no exp overflows. */
function logSumExp(z: usize, classes: i32): f64 {
  let top = -Infinity;
  for (let k = 0; k < classes; k++) top = max(top, load<f64>(z + (<usize>k << 3)));
  if (!isFinite(top)) return top;
  let sum = 0.0;
  for (let k = 0; k < classes; k++) sum += Math.exp(load<f64>(z + (<usize>k << 3)) - top);
  return top + Math.log(sum);
}

/**
 * Multinomial logistic regression over rows [start, end) (the plain loop: softmaxAccumulateJs in
 * src/kernels/softmax.ts): logits z of `classes` outputs, the log-loss logsumexp(z) − z_y summed into
 * out[0], rows whose largest logit (the first, on ties) is the label's into out[1], and
 * (softmax(z) − onehot(y))·x added to grad (classes × dims, then classes bias sums); with `trials` > 0,
 * the log-loss at logits z − backs[t]·z′ (z′: the row's logits under `dir`) added to trialLoss[t].
 *
 * Blocked: SOFTMAX_BLOCK rows are widened to float64 once (`tmp`), their logits computed two rows ×
 * four classes at a time against the weights (blockLogits), the softmax taken row by row (scalar exp
 * and log), and the errors added to the gradient four rows × two classes at a time (blockAccumulate).
 * `tmp`: softmaxScratchBytes(dims, classes) bytes.
 */
export function softmaxAccumulate(
  x: usize, y: usize, dims: i32, classes: i32, start: i32, end: i32,
  w: usize, dir: usize, grad: usize, tmp: usize, backs: usize, trials: i32, trialLoss: usize, out: usize,
): void {
  const rowBytes = <usize>dims << 2;
  const stride = <usize>(dims + 2) << 3;
  const block = <usize>SOFTMAX_BLOCK * <usize>classes * 8;
  const z = tmp + <usize>SOFTMAX_BLOCK * stride;
  const along = z + block;
  const e = along + block;
  const trial = e + block + block;
  let loss = 0.0, correct = 0.0;
  for (let i = start; i < end; i += SOFTMAX_BLOCK) {
    const m = min(SOFTMAX_BLOCK, end - i);
    widenRows(x, rowBytes, i, m, dims, tmp, stride);
    blockLogits(tmp, stride, m, dims, classes, w, z);
    if (trials > 0) blockLogits(tmp, stride, m, dims, classes, dir, along);
    for (let b = 0; b < m; b++) {
      const zb = z + <usize>(b * classes) * 8;
      const eb = e + <usize>(b * classes) * 8;
      const label = <i32>load<f32>(y + (<usize>(i + b) << 2));
      const lse = logSumExp(zb, classes);
      loss += lse - load<f64>(zb + (<usize>label << 3));
      let best = 0;
      for (let k = 1; k < classes; k++) if (load<f64>(zb + (<usize>k << 3)) > load<f64>(zb + (<usize>best << 3))) best = k;
      if (best == label) correct += 1;
      for (let k = 0; k < classes; k++) {
        store<f64>(eb + (<usize>k << 3), Math.exp(load<f64>(zb + (<usize>k << 3)) - lse) - (k == label ? 1.0 : 0.0));
      }
      if (trials == 0) continue;
      const ab = along + <usize>(b * classes) * 8;
      for (let t = 0; t < trials; t++) {
        const back = load<f64>(backs + (<usize>t << 3));
        for (let k = 0; k < classes; k++) {
          store<f64>(trial + (<usize>k << 3), load<f64>(zb + (<usize>k << 3)) - back * load<f64>(ab + (<usize>k << 3)));
        }
        const tp = trialLoss + (<usize>t << 3);
        store<f64>(tp, load<f64>(tp) + logSumExp(trial, classes) - load<f64>(trial + (<usize>label << 3)));
      }
    }
    blockAccumulate(tmp, stride, m, dims, classes, e, grad);
  }
  store<f64>(out, loss);
  store<f64>(out + 8, correct);
}

/**
 * The softmax probabilities of rows [start, end) under `w` into probs[(i − start)·classes + k]
 * (float64): what the Hessian-vector products below weigh each row by. `tmp` as softmaxAccumulate's.
 */
export function softmaxProbabilities(x: usize, dims: i32, classes: i32, start: i32, end: i32, w: usize, probs: usize, tmp: usize): void {
  const rowBytes = <usize>dims << 2;
  const stride = <usize>(dims + 2) << 3;
  for (let i = start; i < end; i += SOFTMAX_BLOCK) {
    const m = min(SOFTMAX_BLOCK, end - i);
    const z = probs + <usize>((i - start) * classes) * 8;
    widenRows(x, rowBytes, i, m, dims, tmp, stride);
    blockLogits(tmp, stride, m, dims, classes, w, z);
    for (let b = 0; b < m; b++) {
      const zb = z + <usize>(b * classes) * 8;
      const lse = logSumExp(zb, classes);
      for (let k = 0; k < classes; k++) store<f64>(zb + (<usize>k << 3), Math.exp(load<f64>(zb + (<usize>k << 3)) - lse));
    }
  }
}

/**
 * The Hessian of the summed log-loss times a direction, over rows [start, end): with u = V·x + c (the
 * direction's logits, `v` laid out as the weights) and p the row's probabilities (from
 * softmaxProbabilities), r_k = p_k·(u_k − pᵀu), and out += r ⊗ (x, 1) (classes × dims, then the
 * classes bias sums). `tmp` as softmaxAccumulate's.
 */
export function softmaxHessianProduct(x: usize, dims: i32, classes: i32, start: i32, end: i32, v: usize, probs: usize, out: usize, tmp: usize): void {
  const rowBytes = <usize>dims << 2;
  const stride = <usize>(dims + 2) << 3;
  const block = <usize>SOFTMAX_BLOCK * <usize>classes * 8;
  const u = tmp + <usize>SOFTMAX_BLOCK * stride;
  const r = u + block;
  for (let i = start; i < end; i += SOFTMAX_BLOCK) {
    const m = min(SOFTMAX_BLOCK, end - i);
    widenRows(x, rowBytes, i, m, dims, tmp, stride);
    blockLogits(tmp, stride, m, dims, classes, v, u);
    for (let b = 0; b < m; b++) {
      const ub = u + <usize>(b * classes) * 8;
      const rb = r + <usize>(b * classes) * 8;
      const pb = probs + <usize>((i - start + b) * classes) * 8;
      let pu = 0.0;
      for (let k = 0; k < classes; k++) pu += load<f64>(pb + (<usize>k << 3)) * load<f64>(ub + (<usize>k << 3));
      for (let k = 0; k < classes; k++) {
        store<f64>(rb + (<usize>k << 3), load<f64>(pb + (<usize>k << 3)) * (load<f64>(ub + (<usize>k << 3)) - pu));
      }
    }
    blockAccumulate(tmp, stride, m, dims, classes, r, out);
  }
}

/**
 * Local SGD's mini-batch steps (src/kernels/localSgd.ts holds the plain loop this follows, and the
 * method): step s takes rows order[s·batch, min((s + 1)·batch, count)), adds the loss's slope r at
 * each row's margin times the row to `grad` (hinge = 1: r = −y± inside the margin; else the log-loss's
 * σ(z) − y), then moves θ = (v, c) in standardised coordinates:
 * v ← v − lr·((Σ r·x − mean·Σ r)·invStd / |batch| + λ·v), c ← c − lr·Σ r / |batch|, and refreshes
 * the input-space weights w = v·invStd, b = c − w·mean that the next margins use.
 *
 * Rows come in shuffled order, so each is read once, scattered: the work per row is one SIMD dot
 * product and one SIMD row addition (skipped where r = 0), in float64 from float32 rows.
 *   order  i32 × count; theta f64 × (dims + 1), updated in place; mean, invStd f64 × dims;
 *   w      f64 × dims and grad f64 × dims: scratch.
 */
export function localSgdSteps(
  x: usize, y: usize, dims: i32, order: usize, count: i32, batch: i32, steps: i32,
  theta: usize, mean: usize, invStd: usize, w: usize, grad: usize, hinge: i32, lr: f64, lambda: f64,
): void {
  const rowBytes = <usize>dims << 2;
  const gradBytes = <usize>dims << 3;
  let b = sgdInputSpace(theta, mean, invStd, w, dims);
  for (let s = 0; s < steps; s++) {
    const from = s * batch;
    const to = min(from + batch, count);
    if (to <= from) break;
    memory.fill(grad, 0, gradBytes);
    let gradBias = 0.0;
    for (let k = from; k < to; k++) {
      const i = load<i32>(order + (<usize>k << 2));
      const row = x + <usize>i * rowBytes;
      const z = b + dot(row, w, dims);
      const label = <f64>load<f32>(y + (<usize>i << 2));
      let r: f64;
      if (hinge) {
        const sign = 2 * label - 1;
        r = sign * z < 1 ? -sign : 0;
      } else {
        r = (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))) - label;
      }
      if (r == 0) continue;
      addRow(row, grad, dims, r);
      gradBias += r;
    }
    const scale = 1.0 / <f64>(to - from);
    for (let j = 0; j < dims; j++) {
      const o = <usize>j << 3;
      const t = load<f64>(theta + o);
      const g = (load<f64>(grad + o) - load<f64>(mean + o) * gradBias) * load<f64>(invStd + o) * scale + lambda * t;
      store<f64>(theta + o, t - lr * g);
    }
    const c = theta + gradBytes;
    store<f64>(c, load<f64>(c) - lr * gradBias * scale);
    b = sgdInputSpace(theta, mean, invStd, w, dims);
  }
}

/** w = v·invStd into `w`; returns b = c − w·mean. */
function sgdInputSpace(theta: usize, mean: usize, invStd: usize, w: usize, dims: i32): f64 {
  let b = load<f64>(theta + (<usize>dims << 3));
  for (let j = 0; j < dims; j++) {
    const o = <usize>j << 3;
    const v = load<f64>(theta + o) * load<f64>(invStd + o);
    store<f64>(w + o, v);
    b -= v * load<f64>(mean + o);
  }
  return b;
}

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
