import { beforeAll, describe, expect, it } from 'vitest';
import { kernelInfo, SharedArena, type WasmBuild } from '../../src/kernels/backend.js';
import { kmeansAccumulate, kmeansAccumulateJs } from '../../src/kernels/kmeans.js';
import { hessianAccumulate, hessianAccumulateJs, logregMargins, logregMarginsJs, packedLength } from '../../src/kernels/curvature.js';
import { localSgdSteps, localSgdStepsJs } from '../../src/kernels/localSgd.js';
import { logregAccumulate, logregAccumulateJs } from '../../src/kernels/logreg.js';
import { softmaxAccumulate, softmaxAccumulateJs, softmaxCurvature, softmaxCurvatureJs } from '../../src/kernels/softmax.js';
import { columnMoments } from '../../src/data/summary.js';
import { columnStats } from '../../src/kernels/columnStats.js';
import { Rng } from '../../src/util/random.js';
import { nearestCentroid } from '../helpers/reference.js';

/*
 * The WebAssembly SIMD kernels against the plain TypeScript loops and an independent reference, on
 * shapes chosen to hit every edge of the SIMD code: dims not a multiple of 4, k not a multiple of 4
 * or 16 (padding lanes, leftover blocks), k = 1, one row, odd row counts (the 2-row blocking's tail),
 * sub-ranges that start inside the data. Run once per build of the module (kernels.test.ts,
 * kernels-simd128.test.ts): each test file gets its own module state, so its own build.
 */

let arena: SharedArena | undefined;

/** The rows copied into shared WebAssembly memory, where the kernels take the WebAssembly path. */
function inWasm(features: Float32Array, labels?: Float32Array) {
  const placed = arena!.place(features, labels);
  if (!placed) throw new Error('test data does not fit the arena');
  return placed;
}

export function randomRows(rng: Rng, rows: number, dims: number, scale: number, offset = 0): Float32Array {
  const x = new Float32Array(rows * dims);
  for (let i = 0; i < x.length; i++) x[i] = offset + scale * rng.normal();
  return x;
}

/** Sums, counts and inertia of rows [start, end) by the independent reference (test/helpers). */
function referenceKmeansPartial(x: Float32Array, dims: number, start: number, end: number, centroids: Float64Array, k: number) {
  const data = { rows: x.length / dims, dims, features: x };
  const sums = new Float64Array(k * dims);
  const counts = new Array<number>(k).fill(0);
  let inertia = 0;
  for (let i = start; i < end; i++) {
    const { index, dist } = nearestCentroid(data, i, centroids, k);
    counts[index]! += 1;
    inertia += dist;
    for (let j = 0; j < dims; j++) sums[index * dims + j] += x[i * dims + j]!;
  }
  return { sums, counts, inertia };
}

function maxRelative(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor));
  }
  return worst;
}

export function runKmeans(kernel: typeof kmeansAccumulate, x: Float32Array, dims: number, start: number, end: number, centroids: Float64Array, k: number) {
  const sums = new Float64Array(k * dims);
  const counts = new Float64Array(k);
  const inertia = kernel(x, dims, start, end, centroids, k, sums, counts);
  return { sums, counts: Array.from(counts), inertia };
}

const KMEANS_SHAPES = [
  { rows: 1, dims: 1, k: 1 },
  { rows: 1, dims: 7, k: 3 },
  { rows: 2, dims: 4, k: 1 },
  { rows: 7, dims: 5, k: 1 },
  { rows: 33, dims: 3, k: 5 },
  { rows: 101, dims: 17, k: 16 },
  { rows: 257, dims: 13, k: 21 },
  { rows: 500, dims: 16, k: 16 },
  { rows: 301, dims: 2, k: 35 },
  { rows: 128, dims: 64, k: 64 },
  { rows: 999, dims: 6, k: 7 },
];

/** The WebAssembly kernels' tests, on the given build of the module. */
export function describeWasmKernels(build: WasmBuild): void {
describe(`WebAssembly kernels (${build} build)`, () => {
  beforeAll(() => {
    arena = SharedArena.create();
  });

  it('are the ones in use: npm test builds the module first', () => {
    // Prepare / Act
    const info = kernelInfo();

    // Assess
    expect(info).toEqual({ kind: 'wasm', build });
    expect(arena).toBeDefined();
  });

  describe('k-means assignment and accumulation', () => {
    it.each(KMEANS_SHAPES)('matches the plain loop and the reference on $rows rows × $dims dims, k = $k', ({ rows, dims, k }) => {
      // Prepare: centroids drawn from the rows, so clusters are near the data as in Lloyd rounds
      const rng = new Rng(rows * 1000 + dims * 10 + k);
      const x = randomRows(rng, rows, dims, 3);
      const centroids = new Float64Array(k * dims);
      for (let c = 0; c < k; c++) for (let j = 0; j < dims; j++) centroids[c * dims + j] = x[(c % rows) * dims + j]! + 0.5 * rng.normal();
      const placed = inWasm(x);

      // Act
      const wasm = runKmeans(kmeansAccumulate, placed.features, dims, 0, rows, centroids, k);
      const js = runKmeans(kmeansAccumulateJs, x, dims, 0, rows, centroids, k);
      const reference = referenceKmeansPartial(x, dims, 0, rows, centroids, k);

      // Assess: the same rows in the same clusters, added in the same order: bit for bit the plain loop
      expect(wasm).toEqual(js);
      expect(wasm.counts).toEqual(reference.counts);
      expect(Math.abs(wasm.inertia - reference.inertia)).toBeLessThanOrEqual(1e-12 * reference.inertia);
      expect(maxRelative(wasm.sums, reference.sums)).toBeLessThanOrEqual(1e-12);
    });

    it('covers only rows [start, end), and adds to the sums and counts it is given', () => {
      // Prepare
      const rng = new Rng(7);
      const dims = 5;
      const k = 6;
      const x = randomRows(rng, 40, dims, 2);
      const centroids = Float64Array.from(x.subarray(0, k * dims));
      const placed = inWasm(x);
      const sums = new Float64Array(k * dims).fill(1);
      const counts = new Float64Array(k).fill(2);

      // Act: an odd start and an odd length
      const inertia = kmeansAccumulate(placed.features, dims, 3, 30, centroids, k, sums, counts);

      // Assess
      const reference = referenceKmeansPartial(x, dims, 3, 30, centroids, k);
      expect(Array.from(counts)).toEqual(reference.counts.map((n) => n + 2));
      expect(maxRelative(sums, reference.sums.map((v) => v + 1))).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(inertia - reference.inertia)).toBeLessThanOrEqual(1e-12 * reference.inertia);
      expect(inertia).toBe(kmeansAccumulateJs(x, dims, 3, 30, centroids, k, new Float64Array(k * dims), new Float64Array(k)));
    });

    it('assigns ties as the plain loop does: to the lowest index, duplicate centroids included', () => {
      // Prepare: centroid 2 duplicates centroid 0; 9 rows lie on the plane x = 0, equidistant from
      // all three; 5 rows near (−2, 0, 0) tie between 0 and 2; 4 rows near (2, 0, 0) go to 1.
      const dims = 3;
      const k = 3;
      const centroids = new Float64Array([-2, 0, 0, 2, 0, 0, -2, 0, 0]);
      const rows: number[] = [];
      for (let i = 0; i < 9; i++) rows.push(0, i - 4, 0.5 * i);
      for (let i = 0; i < 5; i++) rows.push(-2 + 0.1 * i, 0.25, -0.5);
      for (let i = 0; i < 4; i++) rows.push(2 - 0.1 * i, 0, 1);
      const x = Float32Array.from(rows);
      const placed = inWasm(x);

      // Act
      const wasm = runKmeans(kmeansAccumulate, placed.features, dims, 0, 18, centroids, k);

      // Assess
      expect(wasm.counts).toEqual([14, 4, 0]);
      const reference = referenceKmeansPartial(x, dims, 0, 18, centroids, k);
      expect(wasm.counts).toEqual(reference.counts);
      expect(maxRelative(wasm.sums, reference.sums)).toBeLessThanOrEqual(1e-12);
    });

    it('keeps float64 assignments where float32 scores cannot tell centroids apart', () => {
      // Prepare: data far from the origin (‖x‖² ≈ 4e8) and centroids 1e-3 apart: float32 scores
      // (7 digits) cannot separate them, so the kernel must re-score these rows in float64.
      const rng = new Rng(99);
      const dims = 4;
      const k = 8;
      const x = randomRows(rng, 301, dims, 0.01, 1e4);
      const centroids = new Float64Array(k * dims);
      for (let c = 0; c < k; c++) for (let j = 0; j < dims; j++) centroids[c * dims + j] = 1e4 + 0.001 * rng.normal();
      const placed = inWasm(x);

      // Act
      const wasm = runKmeans(kmeansAccumulate, placed.features, dims, 0, 301, centroids, k);

      // Assess
      const reference = referenceKmeansPartial(x, dims, 0, 301, centroids, k);
      expect(wasm.counts).toEqual(reference.counts);
      expect(reference.counts.filter((n) => n > 0).length).toBeGreaterThan(1);
      expect(wasm).toEqual(runKmeans(kmeansAccumulateJs, x, dims, 0, 301, centroids, k));
    });

    it('takes the plain loop for rows whose float32 scores would overflow, and for NaN rows', () => {
      // Prepare: ordinary rows with one row of values near 1e20 (‖x‖² overflows float32) and one
      // NaN row in between, at odd and even positions of the row pairs
      const rng = new Rng(17);
      const dims = 6;
      const k = 5;
      const x = randomRows(rng, 23, dims, 2);
      for (let j = 0; j < dims; j++) x[7 * dims + j] = 1e20 * (j + 1);
      x[10 * dims + 2] = NaN;
      const centroids = Float64Array.from(x.subarray(0, k * dims));
      const placed = inWasm(x);

      // Act
      const wasm = runKmeans(kmeansAccumulate, placed.features, dims, 0, 23, centroids, k);

      // Assess: the plain loop's result, NaN inertia included; the far row went to the nearest centroid
      const js = runKmeans(kmeansAccumulateJs, x, dims, 0, 23, centroids, k);
      expect(wasm).toEqual(js);
      expect(Number.isNaN(wasm.inertia)).toBe(true);
      expect(wasm.counts.reduce((a, b) => a + b, 0)).toBe(23);
      const withoutNaN = Float32Array.from(x);
      withoutNaN[10 * dims + 2] = 0;
      const finite = runKmeans(kmeansAccumulate, inWasm(withoutNaN).features, dims, 0, 23, centroids, k);
      expect(finite).toEqual(runKmeans(kmeansAccumulateJs, withoutNaN, dims, 0, 23, centroids, k));
      expect(finite.inertia).toBeGreaterThan(1e40);
    });

    it('re-scores rows so small that their float32 scores underflow', () => {
      // Prepare: values around 1e-22 (squares near 1e-44, below float32's normal range)
      const rng = new Rng(23);
      const dims = 5;
      const k = 4;
      const x = randomRows(rng, 41, dims, 1e-22);
      const centroids = new Float64Array(k * dims);
      for (let i = 0; i < centroids.length; i++) centroids[i] = 1e-22 * rng.normal();
      const placed = inWasm(x);

      // Act
      const wasm = runKmeans(kmeansAccumulate, placed.features, dims, 0, 41, centroids, k);

      // Assess: the plain loop's clusters, and more than one of them used
      expect(wasm).toEqual(runKmeans(kmeansAccumulateJs, x, dims, 0, 41, centroids, k));
      expect(wasm.counts.filter((n) => n > 0).length).toBeGreaterThan(1);
    });

    it('re-scores thin margins among many centroids exactly: near-duplicate centroids in groups and leftover blocks', () => {
      // Prepare: k = 37 (2 groups of 16 and 2 leftover blocks of 4 after padding to 40); centroids in
      // near-identical pairs or triples (1e-4 apart) far from the others, rows near each of them: most
      // rows have a margin float32 cannot trust, with only a few candidates among 37 centroids.
      const rng = new Rng(4242);
      const dims = 9;
      const k = 37;
      const centroids = new Float64Array(k * dims);
      for (let c = 0; c < k; c++) {
        const twin = c % 3 === 0 ? -1 : c - 1; // c ≡ 1, 2 (mod 3) sit next to c − 1
        for (let j = 0; j < dims; j++) {
          centroids[c * dims + j] = twin < 0 ? 40 * rng.normal() : centroids[twin * dims + j]! + 1e-4 * rng.normal();
        }
      }
      const rows = 403;
      const x = new Float32Array(rows * dims);
      for (let i = 0; i < rows; i++) {
        const c = rng.int(k);
        for (let j = 0; j < dims; j++) x[i * dims + j] = centroids[c * dims + j]! + (i % 5 === 0 ? 1e-5 : 0.3) * rng.normal();
      }
      const placed = inWasm(x);

      // Act
      const wasm = runKmeans(kmeansAccumulate, placed.features, dims, 0, rows, centroids, k);
      const partly = runKmeans(kmeansAccumulate, placed.features, dims, 5, rows - 2, centroids, k);

      // Assess: bit for bit the plain loop, on the whole range and on one that starts mid-quad
      expect(wasm).toEqual(runKmeans(kmeansAccumulateJs, x, dims, 0, rows, centroids, k));
      expect(partly).toEqual(runKmeans(kmeansAccumulateJs, x, dims, 5, rows - 2, centroids, k));
      const reference = referenceKmeansPartial(x, dims, 0, rows, centroids, k);
      expect(wasm.counts).toEqual(reference.counts);
      expect(Math.abs(wasm.inertia - reference.inertia)).toBeLessThanOrEqual(1e-12 * reference.inertia);
    });
  });

  describe('logistic-regression gradient', () => {
    // Rows in batches of up to 32 (fewer for wide rows: 4 at 701 dims), then 2- and 1-row tails;
    // odd dims take the last dimension apart.
    const LOGREG_SHAPES = [
      { rows: 1, dims: 1 },
      { rows: 2, dims: 3 },
      { rows: 3, dims: 4 },
      { rows: 101, dims: 5 },
      { rows: 256, dims: 32 },
      { rows: 77, dims: 33 },
      { rows: 150, dims: 5 },
      { rows: 13, dims: 701 },
    ];

    it.each(LOGREG_SHAPES)('matches the plain loop on $rows rows × $dims dims', ({ rows, dims }) => {
      // Prepare: weights large enough that some |z| are big (both branches of the stable log-loss)
      const rng = new Rng(rows * 100 + dims);
      const x = randomRows(rng, rows, dims, 2, 0.5);
      const y = new Float32Array(rows);
      for (let i = 0; i < rows; i++) y[i] = rng.next() < 0.5 ? 1 : 0;
      const w = new Float64Array(dims + 1);
      for (let j = 0; j <= dims; j++) w[j] = 3 * rng.normal();
      const placed = inWasm(x, y);
      const wasmGrad = new Float64Array(dims + 4).fill(0.25);
      const jsGrad = new Float64Array(dims + 4).fill(0.25);

      // Act
      const wasm = logregAccumulate(placed.features, placed.labels!, dims, 0, rows, w, wasmGrad);
      const js = logregAccumulateJs(x, y, dims, 0, rows, w, jsGrad);

      // Assess: the gradient is added to what was there; nothing past grad[dims] is touched
      expect(wasm.correct).toBe(js.correct);
      expect(Math.abs(wasm.loss - js.loss)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(js.loss)));
      expect(maxRelative(wasmGrad, jsGrad)).toBeLessThanOrEqual(1e-12);
      expect(Array.from(wasmGrad.subarray(dims + 1))).toEqual([0.25, 0.25, 0.25]);
    });

    it('covers only rows [start, end)', () => {
      // Prepare
      const rng = new Rng(3);
      const dims = 6;
      const x = randomRows(rng, 50, dims, 1);
      const y = new Float32Array(50).map((_, i) => i % 2);
      const w = Float64Array.from({ length: dims + 1 }, () => rng.normal());
      const placed = inWasm(x, y);
      const wasmGrad = new Float64Array(dims + 1);
      const jsGrad = new Float64Array(dims + 1);

      // Act
      const wasm = logregAccumulate(placed.features, placed.labels!, dims, 11, 40, w, wasmGrad);
      const js = logregAccumulateJs(x, y, dims, 11, 40, w, jsGrad);

      // Assess
      expect(wasm.correct).toBe(js.correct);
      expect(Math.abs(wasm.loss - js.loss)).toBeLessThanOrEqual(1e-12 * js.loss);
      expect(maxRelative(wasmGrad, jsGrad)).toBeLessThanOrEqual(1e-12);
    });

    it('matches the plain loop from tiny to huge |z|, where exp(−|z|) underflows', () => {
      // Prepare: margins from 0 to about ±2000 (exp(−|z|) down to 0 in float64), both labels
      const rng = new Rng(11);
      const dims = 3;
      const rows = 203;
      const x = new Float32Array(rows * dims);
      const y = new Float32Array(rows);
      for (let i = 0; i < rows; i++) {
        const scale = i % 4 === 0 ? 1e-6 : 10 ** (4 * rng.next() - 1);
        for (let j = 0; j < dims; j++) x[i * dims + j] = scale * rng.normal();
        y[i] = rng.next() < 0.5 ? 1 : 0;
      }
      const w = new Float64Array([200, -150, 90, 0.01]);
      const placed = inWasm(x, y);
      const wasmGrad = new Float64Array(dims + 1);
      const jsGrad = new Float64Array(dims + 1);

      // Act
      const wasm = logregAccumulate(placed.features, placed.labels!, dims, 0, rows, w, wasmGrad);
      const js = logregAccumulateJs(x, y, dims, 0, rows, w, jsGrad);

      // Assess
      expect(wasm.correct).toBe(js.correct);
      expect(Math.abs(wasm.loss - js.loss)).toBeLessThanOrEqual(1e-12 * js.loss);
      expect(maxRelative(wasmGrad, jsGrad)).toBeLessThanOrEqual(1e-12);
    });
  });

  describe('multinomial (softmax) pass', () => {
    const SOFTMAX_SHAPES = [
      { rows: 1, dims: 1, classes: 3, start: 0 },
      { rows: 37, dims: 5, classes: 3, start: 4 },
      { rows: 120, dims: 64, classes: 10, start: 0 },
      { rows: 51, dims: 33, classes: 7, start: 9 },
      // Blocks of 8 rows with a short last one, pairs and single rows, 4-class tiles and leftovers, odd dims
      { rows: 29, dims: 2, classes: 5, start: 3 },
      { rows: 43, dims: 131, classes: 10, start: 1 },
      { rows: 16, dims: 4, classes: 4, start: 0 },
    ];

    it.each(SOFTMAX_SHAPES)('matches the plain loop on rows [$start, $rows) × $dims dims, $classes classes, with and without trial points', ({ rows, dims, classes, start }) => {
      // Prepare: weights large enough that some logits are far apart (exp underflows for the others)
      const rng = new Rng(rows * 1000 + dims * 10 + classes);
      const x = randomRows(rng, rows, dims, 2, 0.5);
      const y = Float32Array.from({ length: rows }, () => Math.floor(rng.next() * classes));
      const n = classes * (dims + 1);
      const w = Float64Array.from({ length: n }, () => 3 * rng.normal());
      const dir = Float64Array.from({ length: n }, () => rng.normal());
      const backs = [0.5, 0.8, 0.95, 0.99];
      const placed = inWasm(x, y);
      const run = (kernel: typeof softmaxAccumulate, features: Float32Array, labels: Float32Array, trials: boolean) => {
        const grad = new Float64Array(n + 2).fill(0.25);
        const trialLoss = new Float64Array(backs.length).fill(1);
        const figures = kernel({ x: features, y: labels, dims, classes, start, end: rows, w, grad, ...(trials ? { dir, backs, trialLoss } : {}) });
        return { ...figures, grad, trialLoss };
      };

      for (const trials of [false, true]) {
        // Act
        const wasm = run(softmaxAccumulate, placed.features, placed.labels!, trials);
        const js = run(softmaxAccumulateJs, x, y, trials);

        // Assess: sums added to what was there; nothing past the gradient touched; trial losses only with a direction
        expect(wasm.correct).toBe(js.correct);
        expect(Math.abs(wasm.loss - js.loss)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(js.loss)));
        // Gradient entries are sums of terms of both signs (cancellation), and the kernel sums each
        // logit over column pairs in two lanes where the loop runs one chain: rounding, a few 1e-12.
        expect(maxRelative(wasm.grad, js.grad)).toBeLessThanOrEqual(1e-11);
        expect(Array.from(wasm.grad.subarray(n))).toEqual([0.25, 0.25]);
        expect(maxRelative(wasm.trialLoss, js.trialLoss)).toBeLessThanOrEqual(1e-12);
        if (!trials) expect(Array.from(wasm.trialLoss)).toEqual([1, 1, 1, 1]);
        else expect(wasm.trialLoss.every((v) => v > 1)).toBe(true);
      }
    });

    it.each([
      { rows: 1, dims: 1, classes: 3, start: 0 },
      { rows: 37, dims: 5, classes: 3, start: 4 },
      { rows: 43, dims: 131, classes: 10, start: 1 },
      { rows: 29, dims: 6, classes: 7, start: 2 },
    ])('Hessian-vector products match the plain loop on rows [$start, $rows) × $dims dims, $classes classes', ({ rows, dims, classes, start }) => {
      // Prepare
      const rng = new Rng(rows * 31 + dims * 7 + classes);
      const x = randomRows(rng, rows, dims, 2, 0.5);
      const n = classes * (dims + 1);
      const w = Float64Array.from({ length: n }, () => rng.normal());
      const vs = [0, 1].map(() => Float64Array.from({ length: n }, () => rng.normal()));
      const placed = inWasm(x);
      const wasmCurvature = softmaxCurvature(placed.features, dims, classes, start, rows, w);
      const jsCurvature = softmaxCurvatureJs(x, dims, classes, start, rows, w);

      for (const v of vs) {
        // Act: added to what was there, two products in a row on the same curvature
        const wasmOut = new Float64Array(n).fill(0.5);
        const jsOut = new Float64Array(n).fill(0.5);
        wasmCurvature.times(v, wasmOut);
        jsCurvature.times(v, jsOut);

        // Assess: to rounding (sums of terms of both signs, summed in another order)
        expect(maxRelative(wasmOut, jsOut)).toBeLessThanOrEqual(1e-11);
      }
    });

    it('Hessian-vector products equal finite differences of the gradient', () => {
      // Prepare
      const rng = new Rng(8);
      const rows = 20, dims = 3, classes = 4;
      const x = randomRows(rng, rows, dims, 1);
      const y = Float32Array.from({ length: rows }, (_, i) => i % classes);
      const n = classes * (dims + 1);
      const w = Float64Array.from({ length: n }, () => rng.normal());
      const v = Float64Array.from({ length: n }, () => rng.normal());
      const placed = inWasm(x, y);
      const gradAt = (point: Float64Array) => {
        const grad = new Float64Array(n);
        softmaxAccumulate({ x: placed.features, y: placed.labels!, dims, classes, start: 0, end: rows, w: point, grad });
        return grad;
      };
      const h = 1e-6;

      // Act
      const hv = new Float64Array(n);
      softmaxCurvature(placed.features, dims, classes, 0, rows, w).times(v, hv);
      const plus = gradAt(w.map((value, i) => value + h * v[i]!));
      const minus = gradAt(w.map((value, i) => value - h * v[i]!));

      // Assess: central differences, accurate to about h²
      for (let i = 0; i < n; i++) expect(hv[i]!).toBeCloseTo((plus[i]! - minus[i]!) / (2 * h), 6);
    });

    it('equals an independent softmax computation', () => {
      // Prepare: 3 classes, 2 dims, 4 rows
      const x = Float32Array.from([1, 2, -1, 0.5, 0, 0, 3, -2]);
      const y = Float32Array.from([0, 2, 1, 2]);
      const w = Float64Array.from([0.5, -1, 0.25, 0.75, -0.5, 0.1, 0.2, -0.3, 0.4]);
      const placed = inWasm(x, y);
      const grad = new Float64Array(9);

      // Act
      const { loss, correct } = softmaxAccumulate({ x: placed.features, y: placed.labels!, dims: 2, classes: 3, start: 0, end: 4, w, grad });

      // Assess: log-loss and gradient written out row by row here
      let expectedLoss = 0;
      let expectedCorrect = 0;
      const expectedGrad = new Array<number>(9).fill(0);
      for (let i = 0; i < 4; i++) {
        const z = [0, 1, 2].map((k) => w[6 + k]! + w[k * 2]! * x[i * 2]! + w[k * 2 + 1]! * x[i * 2 + 1]!);
        const e = z.map(Math.exp);
        const sum = e[0]! + e[1]! + e[2]!;
        expectedLoss += Math.log(sum) - z[y[i]!]!;
        if (z.indexOf(Math.max(...z)) === y[i]) expectedCorrect++;
        for (let k = 0; k < 3; k++) {
          const err = e[k]! / sum - (k === y[i] ? 1 : 0);
          expectedGrad[k * 2] += err * x[i * 2]!;
          expectedGrad[k * 2 + 1] += err * x[i * 2 + 1]!;
          expectedGrad[6 + k] += err;
        }
      }
      expect(correct).toBe(expectedCorrect);
      expect(Math.abs(loss - expectedLoss)).toBeLessThanOrEqual(1e-12 * expectedLoss);
      expect(maxRelative(grad, expectedGrad, 1e-9)).toBeLessThanOrEqual(1e-12);
    });
  });

  describe('Newton curvature: margins and the blocked Hessian', () => {
    // Blocks of 8 rows (a padded last block when rows are not a multiple of 8), two columns to a
    // vector with an odd last column when dims + 1 is odd.
    const SHAPES = [
      { rows: 1, dims: 1 },
      { rows: 7, dims: 2 },
      { rows: 8, dims: 3 },
      { rows: 9, dims: 4 },
      { rows: 61, dims: 5 },
      { rows: 200, dims: 30 },
      { rows: 33, dims: 64 },
    ];

    it.each(SHAPES)('match the plain loops, and the Hessian is Σ s·x̃x̃ᵀ, on $rows rows × $dims dims', ({ rows, dims }) => {
      // Prepare: offset, scaled columns; rows [2, rows) when there are enough, to cover start > 0.
      const rng = new Rng(rows * 7 + dims);
      const x = randomRows(rng, rows, dims, 3, 1.5);
      const placed = inWasm(x);
      const start = rows > 4 ? 2 : 0;
      const w = Float64Array.from({ length: dims + 1 }, () => rng.normal());
      const s = Float64Array.from({ length: rows - start }, () => rng.next() / 4);
      const mean = Float64Array.from({ length: dims }, () => 1.5 + rng.normal() / 10);
      const invStd = Float64Array.from({ length: dims }, () => 1 / (2 + rng.next()));
      const n = dims + 1;
      const wasmMargins = new Float64Array(rows - start);
      const jsMargins = new Float64Array(rows - start);
      const wasmH = new Float64Array(packedLength(n)).fill(0.5);
      const jsH = new Float64Array(packedLength(n)).fill(0.5);

      // Act
      logregMargins(placed.features, dims, start, rows, w, wasmMargins);
      logregMarginsJs(x, dims, start, rows, w, jsMargins);
      hessianAccumulate(placed.features, dims, start, rows, s, mean, invStd, wasmH);
      hessianAccumulateJs(x, dims, start, rows, s, mean, invStd, jsH);

      // Assess: against the plain loops, and the plain loop against the definition (added to 0.5).
      expect(maxRelative(wasmMargins, jsMargins)).toBeLessThanOrEqual(1e-12);
      expect(maxRelative(wasmH, jsH)).toBeLessThanOrEqual(1e-12);
      let p = 0;
      for (let j = 0; j < n; j++) {
        for (let k = j; k < n; k++) {
          let sum = 0.5;
          for (let i = start; i < rows; i++) {
            const xj = j === dims ? 1 : (x[i * dims + j]! - mean[j]!) * invStd[j]!;
            const xk = k === dims ? 1 : (x[i * dims + k]! - mean[k]!) * invStd[k]!;
            sum += s[i - start]! * xj * xk;
          }
          expect(Math.abs(jsH[p++]! - sum)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(sum)));
        }
      }
    });
  });

  describe('local SGD steps', () => {
    // Dot products four columns at a time with a tail, row additions two at a time with a tail;
    // batches that do not divide the rows (a short last batch), and fewer steps than batches.
    const SHAPES = [
      { rows: 1, dims: 1, batch: 1, steps: 1 },
      { rows: 37, dims: 3, batch: 5, steps: 8 },
      { rows: 100, dims: 7, batch: 16, steps: 4 },
      { rows: 300, dims: 30, batch: 64, steps: 5 },
    ];

    it.each(SHAPES.flatMap((shape) => [{ ...shape, loss: 'logistic' as const }, { ...shape, loss: 'hinge' as const }]))(
      'match the plain loop ($loss, $rows rows × $dims dims, batch $batch, $steps steps)',
      ({ rows, dims, batch, steps, loss }) => {
        // Prepare: offset, scaled columns; a shuffled order that skips row 0 when there are rows to spare.
        const rng = new Rng(rows * 13 + dims);
        const x = randomRows(rng, rows, dims, 3, 1.5);
        const y = Float32Array.from({ length: rows }, () => (rng.next() < 0.5 ? 1 : 0));
        const placed = inWasm(x, y);
        const order = Int32Array.from({ length: rows > 1 ? rows - 1 : 1 }, (_, k) => (rows > 1 ? k + 1 : 0));
        for (let i = order.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const mean = Float64Array.from({ length: dims }, () => 1.5 + rng.normal() / 10);
        const invStd = Float64Array.from({ length: dims }, () => 1 / (3 + rng.next()));
        const start = Float64Array.from({ length: dims + 1 }, () => rng.normal() / 2);
        const wasmTheta = Float64Array.from(start);
        const jsTheta = Float64Array.from(start);
        const settings = { loss, lr: 0.3, lambda: 0.01, batch, steps };

        // Act
        localSgdSteps(placed.features, placed.labels!, dims, order, wasmTheta, mean, invStd, settings);
        localSgdStepsJs(x, y, dims, order, jsTheta, mean, invStd, settings);

        // Assess: the same steps to rounding, and steps really taken.
        expect(maxRelative(wasmTheta, jsTheta)).toBeLessThanOrEqual(1e-12);
        expect(maxRelative(jsTheta, start)).toBeGreaterThan(1e-6);
      },
    );
  });

  describe('column statistics (the preparation round)', () => {
    const STATS_SHAPES = [
      { rows: 1, dims: 1, start: 0 },
      { rows: 9, dims: 2, start: 3 },
      { rows: 40, dims: 3, start: 0 },
      { rows: 33, dims: 4, start: 1 },
      { rows: 50, dims: 7, start: 5 },
      { rows: 64, dims: 785, start: 2 },
    ];

    it.each(STATS_SHAPES)('match the plain loop bit for bit on $rows rows × $dims dims from row $start', ({ rows, dims, start }) => {
      // Prepare: offset, scaled columns, with signed zeros, repeated values and a constant column
      // (the cases where a min/max or a sum could differ by order or by sign)
      const rng = new Rng(rows * 31 + dims);
      const x = randomRows(rng, rows, dims, 1e3, 250);
      for (let i = 0; i < rows; i++) {
        x[i * dims] = i % 3 === 0 ? -0 : i % 3 === 1 ? 0 : Math.round(x[i * dims]! / 500);
        if (dims > 2) x[i * dims + 2] = 7.25;
      }
      const placed = inWasm(x);

      // Act
      const wasm = columnStats(placed.features, dims, start, rows);
      const js = columnMoments(x, dims, start, rows);

      // Assess: the same sums in the same order: equal, signed zeros included
      expect(wasm).toBeDefined();
      for (const field of ['sum', 'min', 'max', 'm2'] as const) {
        expect(Array.from(wasm![field], (v) => (Object.is(v, -0) ? '-0' : v))).toEqual(Array.from(js[field], (v) => (Object.is(v, -0) ? '-0' : v)));
      }
      if (dims > 2) expect(js.m2[2]).toBe(0);
      expect(js.min[0]).toBeLessThanOrEqual(0);
    });

    it('leave rows outside WebAssembly memory, and empty ranges, to the loop', () => {
      // Prepare
      const x = Float32Array.from([1, 2, 3, 4]);

      // Act / Assess
      expect(columnStats(x, 2, 0, 2)).toBeUndefined();
      expect(columnStats(inWasm(x).features, 2, 1, 1)).toBeUndefined();
    });
  });
});
}
