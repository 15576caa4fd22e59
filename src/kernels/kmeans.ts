import { scratch, wasmContextOf, type WasmContext } from './backend.js';

/**
 * The k-means assignment-and-accumulate pass over rows [start, end) of a row-major float32 matrix:
 * each row goes to its nearest centroid (ties to the lower index, distances summed in dimension
 * order), its values are added to that cluster's sums and its count incremented; returns the sum of
 * squared distances (inertia, each distance summed in four chains: see chainedDistance).
 * Float64 accumulation keeps sums of many float32 rows accurate enough that any split of the rows
 * gives the same result to rounding.
 *
 * Rows in a shared WebAssembly memory (see backend.ts) go to the SIMD kernel, which assigns every
 * row exactly as this plain loop does; other arrays, or BSPML_KERNELS=js, take the plain loop.
 */
export function kmeansAccumulate(
  x: Float32Array,
  dims: number,
  start: number,
  end: number,
  centroids: Float64Array,
  k: number,
  sums: Float64Array,
  counts: Float64Array,
): number {
  const context = wasmContextOf(x.buffer);
  if (context && end > start) return kmeansAccumulateWasm(context, x, dims, start, end, centroids, k, sums, counts);
  return kmeansAccumulateJs(x, dims, start, end, centroids, k, sums, counts);
}

/** The plain loop: the fallback, and the definition the WebAssembly kernel must reproduce. */
export function kmeansAccumulateJs(
  x: Float32Array,
  dims: number,
  start: number,
  end: number,
  centroids: Float64Array,
  k: number,
  sums: Float64Array,
  counts: Float64Array,
): number {
  let inertia = 0;
  for (let i = start; i < end; i++) {
    const row = i * dims;
    let best = 0;
    let bestDist = Infinity;
    for (let c = 0; c < k; c++) {
      const dist = squaredDistance(x, row, centroids, c * dims, dims);
      if (dist < bestDist) {
        bestDist = dist;
        best = c;
      }
    }
    const base = best * dims;
    for (let j = 0; j < dims; j++) sums[base + j] += x[row + j]!;
    counts[best] += 1;
    inertia += chainedDistance(x, row, centroids, base, dims);
  }
  return inertia;
}

/** Squared distance from row `i` to the nearest of the first `k` centroids. */
export function nearestSquaredDistance(x: Float32Array, dims: number, i: number, centroids: Float64Array, k: number): number {
  let best = Infinity;
  for (let c = 0; c < k; c++) {
    const dist = squaredDistance(x, i * dims, centroids, c * dims, dims);
    if (dist < best) best = dist;
  }
  return best;
}

/**
 * Σ (x[row + j] − c[base + j])² in j order: the distance that picks the nearest centroid, the one
 * the plain loop, k-means++ and the WebAssembly kernel's exact re-scoring all agree on.
 */
function squaredDistance(x: Float32Array, row: number, c: Float64Array, base: number, dims: number): number {
  let dist = 0;
  for (let j = 0; j < dims; j++) {
    const diff = x[row + j]! - c[base + j]!;
    dist += diff * diff;
  }
  return dist;
}

/**
 * The same squared distance summed in four chains, dims ≡ 0, 1, 2, 3 (mod 4) each in order, then
 * (chain 0 + chain 1) + (chain 2 + chain 3): what a partial's inertia adds up. The order lets the
 * WebAssembly kernel compute it in the same pass that adds the row to its cluster's sums, two lanes
 * at a time, and get these bits.
 */
function chainedDistance(x: Float32Array, row: number, c: Float64Array, base: number, dims: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 4 <= dims; j += 4) {
    const d0 = x[row + j]! - c[base + j]!;
    const d1 = x[row + j + 1]! - c[base + j + 1]!;
    const d2 = x[row + j + 2]! - c[base + j + 2]!;
    const d3 = x[row + j + 3]! - c[base + j + 3]!;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  if (j < dims) {
    const d = x[row + j]! - c[base + j]!;
    s0 += d * d;
  }
  if (j + 1 < dims) {
    const d = x[row + j + 1]! - c[base + j + 1]!;
    s1 += d * d;
  }
  if (j + 2 < dims) {
    const d = x[row + j + 2]! - c[base + j + 2]!;
    s2 += d * d;
  }
  return s0 + s1 + (s2 + s3);
}

/**
 * Runs the WebAssembly kernel on rows that already live in the context's memory. Only the model goes
 * into scratch (as float32 centroids × −2 block-transposed for the SIMD scoring, their squared norms, and
 * the float64 centroids for exact distances); the caller's sums and counts are copied in and out so
 * that rows are added to them in the same order as the plain loop would.
 */
function kmeansAccumulateWasm(
  context: WasmContext,
  x: Float32Array,
  dims: number,
  start: number,
  end: number,
  centroids: Float64Array,
  k: number,
  sums: Float64Array,
  counts: Float64Array,
): number {
  const kp = Math.ceil(k / 4) * 4;
  const ctBytes = kp * dims * 4;
  const cnBytes = kp * 4;
  const cBytes = k * dims * 8;
  const ct = scratch(context, ctBytes + cnBytes + 2 * cBytes + k * 8 + 64);
  const cn = ct + align16(ctBytes);
  const c64 = cn + align16(cnBytes);
  const sumsPtr = c64 + align16(cBytes);
  const countsPtr = sumsPtr + align16(cBytes);
  const buffer = context.memory.buffer;
  const ctView = new Float32Array(buffer, ct, kp * dims);
  const cnView = new Float32Array(buffer, cn, kp);
  new Float64Array(buffer, c64, k * dims).set(centroids.subarray(0, k * dims));
  let cmax2 = 0;
  const grouped = Math.floor(kp / 16) * 16;
  for (let c = 0; c < kp; c++) {
    // The order the kernel reads: per group of 16 centroids, for each dim, 16 lanes (4 blocks of 4);
    // the last blocks (fewer than 4) each as dims × 4 lanes.
    const inGroup = c < grouped;
    const block = inGroup ? Math.floor(c / 16) * dims * 16 + ((c >> 2) & 3) * 4 : grouped * dims + ((c - grouped) >> 2) * dims * 4;
    const stride = inGroup ? 16 : 4;
    const lane = block + (c & 3);
    if (c >= k) {
      for (let j = 0; j < dims; j++) ctView[lane + j * stride] = 0;
      cnView[c] = Infinity;
      continue;
    }
    let norm32 = 0;
    let norm = 0;
    for (let j = 0; j < dims; j++) {
      const v = centroids[c * dims + j]!;
      const v32 = Math.fround(v);
      ctView[lane + j * stride] = -2 * v32; // exact: the kernel adds x·(−2c) to ‖c‖²
      norm32 += v32 * v32;
      norm += v * v;
    }
    cnView[c] = norm32;
    if (norm > cmax2) cmax2 = norm;
  }
  const sumsView = new Float64Array(buffer, sumsPtr, k * dims);
  const countsView = new Float64Array(buffer, countsPtr, k);
  sumsView.set(sums.subarray(0, k * dims));
  countsView.set(counts.subarray(0, k));
  // Float32 norms near 1e38 overflow the scores: the kernel would fall back row by row, so skip it.
  const inertia = cmax2 < 1e30
    ? context.exports.kmeansAccumulate(x.byteOffset, dims, start, end, ct, cn, c64, k, kp, cmax2, sumsPtr, countsPtr)
    : kmeansAccumulateJs(x, dims, start, end, centroids, k, sumsView, countsView);
  sums.set(sumsView);
  counts.set(countsView);
  return inertia;
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
