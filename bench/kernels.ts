/*
 * `npm run bench:kernels`: the kernels alone, called in this thread on rows placed in a shared
 * WebAssembly memory, as an inner thread calls them: the first call of a fresh process, then the
 * fastest of BENCH_REPEATS (default 9). For work on the kernels; `npm run bench` is the suite.
 *
 *   npm run bench:kernels                          the build in use (relaxed SIMD where it runs)
 *   BSPML_KERNELS=simd128 npm run bench:kernels    the build without relaxed SIMD
 *   BENCH_ROWS=100000 npm run bench:kernels        smaller data
 *   BENCH_WSCALE=300 npm run bench:kernels         logistic-regression weights drawn 300 × N(0, 1)
 *                                                  (default 0.1): large |z|, where exp(−|z|) is tiny
 *                                                  (as in late rounds on separable data), to check
 *                                                  for slowdowns from subnormal numbers
 *
 * Each case checks its result against the plain TypeScript loop (k-means: identical counts and
 * inertia; logistic regression: largest relative gradient difference).
 */
import { kernelInfo, SharedArena } from '../src/kernels/backend.js';
import { kmeansAccumulate, kmeansAccumulateJs } from '../src/kernels/kmeans.js';
import { logregAccumulate, logregAccumulateJs } from '../src/kernels/logreg.js';
import { kmeansCase, logregCase } from './cases.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 9);

function time(run: () => void): { firstMs: number; minMs: number } {
  let firstMs = 0;
  let minMs = Infinity;
  for (let r = 0; r <= REPEATS; r++) {
    const started = performance.now();
    run();
    const ms = performance.now() - started;
    if (r === 0) firstMs = ms;
    else minMs = Math.min(minMs, ms);
  }
  return { firstMs, minMs };
}

const info = kernelInfo();
const arena = SharedArena.create();
if (info.kind !== 'wasm' || !arena) throw new Error(`the WebAssembly kernels are not in use: ${info.kind === 'js' ? info.reason : 'no shared memory'}`);
console.log(`kernels: wasm, ${info.build} build; ${ROWS.toLocaleString('en-US')} rows; first call, then fastest of ${REPEATS}`);

for (const dims of [16, 64]) {
  // The cases `npm run bench` times: blobs, centroids drawn from the rows.
  const { data, k, centroids } = kmeansCase(ROWS, dims, dims, dims === 16 ? 1 : 2);
  const placed = arena.place(data.features)!;
  const sums = new Float64Array(k * dims);
  const counts = new Float64Array(k);
  let inertia = 0;
  const t = time(() => {
    sums.fill(0);
    counts.fill(0);
    inertia = kmeansAccumulate(placed.features, dims, 0, ROWS, centroids, k, sums, counts);
  });
  const plainCounts = new Float64Array(k);
  const plain = kmeansAccumulateJs(data.features, dims, 0, ROWS, centroids, k, new Float64Array(k * dims), plainCounts);
  const same = inertia === plain && counts.every((n, c) => n === plainCounts[c]);
  console.log(`k-means ${ROWS}×${dims}, k = ${k}: first ${t.firstMs.toFixed(1)} ms, fastest ${t.minMs.toFixed(1)} ms; plain loop's counts and inertia: ${same ? 'identical' : 'DIFFERENT'}`);
  arena.release(placed.region);
}

{
  const dims = 32;
  const { data, w } = logregCase(ROWS, dims, 3, Number(process.env.BENCH_WSCALE ?? 0.1));
  const placed = arena.place(data.features, data.labels)!;
  const grad = new Float64Array(dims + 1);
  const t = time(() => {
    grad.fill(0);
    logregAccumulate(placed.features, placed.labels!, dims, 0, ROWS, w, grad);
  });
  const plain = new Float64Array(dims + 1);
  logregAccumulateJs(data.features, data.labels!, dims, 0, ROWS, w, plain);
  const worst = Math.max(...Array.from(grad, (g, j) => Math.abs(g - plain[j]!) / Math.max(Math.abs(plain[j]!), 1e-300)));
  console.log(`logistic-regression gradient ${ROWS}×${dims}: first ${t.firstMs.toFixed(1)} ms, fastest ${t.minMs.toFixed(1)} ms; largest relative difference from the plain loop ${worst.toExponential(1)}`);
}
