/*
 * Plain sequential reference implementations, written independently of src/algorithms and
 * src/kernels, so that tests can compare the distributed system against one process doing the
 * same rounds over the same float32 rows. Everything is accumulated in float64.
 */
import { Rng } from '../../src/util/random.js';

export interface ReferenceData {
  rows: number;
  dims: number;
  features: Float32Array;
  labels?: Float32Array;
}

/** Index of the centroid nearest to row `i` (squared Euclidean distance, ties to the lower index). */
export function nearestCentroid(data: ReferenceData, i: number, centroids: ArrayLike<number>, k: number): { index: number; dist: number } {
  const { dims, features } = data;
  let index = 0;
  let dist = Infinity;
  for (let c = 0; c < k; c++) {
    let d = 0;
    for (let j = 0; j < dims; j++) {
      const diff = features[i * dims + j]! - centroids[c * dims + j]!;
      d += diff * diff;
    }
    if (d < dist) {
      dist = d;
      index = c;
    }
  }
  return { index, dist };
}

/** The cluster of every row under `centroids`. */
export function assignAll(data: ReferenceData, centroids: ArrayLike<number>, k: number): Int32Array {
  const out = new Int32Array(data.rows);
  for (let i = 0; i < data.rows; i++) out[i] = nearestCentroid(data, i, centroids, k).index;
  return out;
}

export interface ReferenceKmeans {
  /** k × dims, row-major: the centroids after the last update. */
  centroids: Float64Array;
  /** Cluster of each row in the last assignment pass (against the centroids that entered the last round). */
  assignments: Int32Array;
  /** Cluster sizes of the last assignment pass. */
  counts: number[];
  /** Inertia of the last assignment pass. */
  inertia: number;
  rounds: number;
  converged: boolean;
}

/**
 * Lloyd's algorithm from `initial` centroids: each round assigns every row to its nearest
 * centroid, sums and counts per cluster, moves each non-empty cluster to its mean (an empty
 * cluster keeps its centroid), and stops once the largest centroid shift is ≤ tol or after
 * maxRounds rounds.
 */
export function referenceKmeans(data: ReferenceData, initial: ArrayLike<number>, k: number, options: { tol: number; maxRounds: number }): ReferenceKmeans {
  const { rows, dims } = data;
  let centroids = Float64Array.from(initial);
  let assignments = new Int32Array(rows);
  let counts: number[] = [];
  let inertia = 0;
  let rounds = 0;
  let converged = false;
  while (rounds < options.maxRounds) {
    const sums = new Float64Array(k * dims);
    const count = new Array<number>(k).fill(0);
    inertia = 0;
    assignments = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const { index, dist } = nearestCentroid(data, i, centroids, k);
      assignments[i] = index;
      count[index]! += 1;
      inertia += dist;
      for (let j = 0; j < dims; j++) sums[index * dims + j] += data.features[i * dims + j]!;
    }
    const next = Float64Array.from(centroids);
    let maxShift = 0;
    for (let c = 0; c < k; c++) {
      if (count[c] === 0) continue;
      let sq = 0;
      for (let j = 0; j < dims; j++) {
        const mean = sums[c * dims + j]! / count[c]!;
        sq += (mean - centroids[c * dims + j]!) ** 2;
        next[c * dims + j] = mean;
      }
      maxShift = Math.max(maxShift, Math.sqrt(sq));
    }
    centroids = next;
    counts = count;
    rounds++;
    if (maxShift <= options.tol) {
      converged = true;
      break;
    }
  }
  return { centroids, assignments, counts, inertia, rounds, converged };
}

export interface ReferenceLogreg {
  /** Weights in the space of the input columns. */
  weights: Float64Array;
  bias: number;
  rounds: number;
  converged: boolean;
  /** Gradient norm (in standardised coordinates) of the model that entered the last round. */
  gradNorm: number;
  /** Regularised mean log-loss of the model that entered the last round. */
  loss: number;
}

/** Column means and population standard deviations; a constant column gets std 1. */
export function columnStats(data: ReferenceData): { mean: Float64Array; std: Float64Array } {
  const { rows, dims, features } = data;
  const mean = new Float64Array(dims);
  const std = new Float64Array(dims);
  for (let j = 0; j < dims; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += features[i * dims + j]!;
    mean[j] = s / rows;
    let ss = 0;
    for (let i = 0; i < rows; i++) ss += (features[i * dims + j]! - mean[j]!) ** 2;
    const sd = Math.sqrt(ss / rows);
    std[j] = sd === 0 ? 1 : sd;
  }
  return { mean, std };
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function logLoss(z: number, y: number): number {
  // log(1 + e^z) − y·z, stable for large |z|.
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y * z;
}

/**
 * Full-batch gradient descent on mean log-loss + (l2/2)·‖v‖², where v are the weights on the
 * standardised columns u_j = (x_j − mean_j) / std_j and c the bias there (not penalised). Starts
 * from zero; each round computes the gradient at (v, c), steps by lr, and stops after the round in
 * which the gradient norm is ≤ tol, or after maxRounds rounds. Returns the model mapped back to the
 * input columns: w_j = v_j / std_j, b = c − Σ w_j·mean_j.
 */
export function referenceLogreg(data: ReferenceData, options: { lr: number; l2: number; tol: number; maxRounds: number }): ReferenceLogreg {
  const { rows, dims, features } = data;
  const labels = data.labels;
  if (!labels) throw new Error('reference logistic regression needs labels');
  const { mean, std } = columnStats(data);
  const v = new Float64Array(dims);
  let c = 0;
  let rounds = 0;
  let converged = false;
  let gradNorm = NaN;
  let loss = NaN;
  while (rounds < options.maxRounds) {
    const gv = new Float64Array(dims);
    let gc = 0;
    let total = 0;
    for (let i = 0; i < rows; i++) {
      let z = c;
      for (let j = 0; j < dims; j++) z += (v[j]! * (features[i * dims + j]! - mean[j]!)) / std[j]!;
      const y = labels[i]!;
      total += logLoss(z, y);
      const err = sigmoid(z) - y;
      for (let j = 0; j < dims; j++) gv[j] += (err * (features[i * dims + j]! - mean[j]!)) / std[j]!;
      gc += err;
    }
    let penalty = 0;
    let normSq = (gc / rows) ** 2;
    for (let j = 0; j < dims; j++) {
      gv[j] = gv[j]! / rows + options.l2 * v[j]!;
      normSq += gv[j]! ** 2;
      penalty += v[j]! ** 2;
    }
    loss = total / rows + (options.l2 / 2) * penalty;
    gradNorm = Math.sqrt(normSq);
    for (let j = 0; j < dims; j++) v[j] -= options.lr * gv[j]!;
    c -= (options.lr * gc) / rows;
    rounds++;
    if (gradNorm <= options.tol) {
      converged = true;
      break;
    }
  }
  const weights = new Float64Array(dims);
  let bias = c;
  for (let j = 0; j < dims; j++) {
    weights[j] = v[j]! / std[j]!;
    bias -= weights[j]! * mean[j]!;
  }
  return { weights, bias, rounds, converged, gradNorm, loss };
}

/** Share of rows a linear model (input space) classifies right: predicts 1 iff w·x + b ≥ 0. */
export function accuracy(data: ReferenceData, weights: ArrayLike<number>, bias: number): number {
  const { rows, dims, features, labels } = data;
  if (!labels) throw new Error('accuracy needs labels');
  let right = 0;
  for (let i = 0; i < rows; i++) {
    let z = bias;
    for (let j = 0; j < dims; j++) z += weights[j]! * features[i * dims + j]!;
    if ((z >= 0 ? 1 : 0) === labels[i]) right++;
  }
  return right / rows;
}

/** Largest |a − b| / max(|b|, floor) over two equal-length vectors. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-12): number {
  if (actual.length !== expected.length) throw new RangeError(`lengths differ: ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!;
    const rel = Math.abs(actual[i]! - e) / Math.max(Math.abs(e), floor);
    if (Number.isNaN(rel)) return Infinity;
    worst = Math.max(worst, rel);
  }
  return worst;
}

/**
 * The optimum of mean log-loss + (l2/2)·‖v‖² (standardised weights v, bias not penalised) by a plain
 * sequential Newton's method: dense Hessian over all rows, Gaussian elimination with partial
 * pivoting, the step halved until the objective does not rise, until the gradient norm is below
 * 1e-12 (l2 > 0 keeps the Hessian definite). Returns the model in input space and its objective.
 */
export function referenceLogregOptimum(data: ReferenceData, l2: number): { weights: Float64Array; bias: number; objective: number; iterations: number } {
  return referenceLinearOptimum(data, l2, {
    value: logLoss,
    slope: (z, y) => sigmoid(z) - y,
    curvature: (z) => sigmoid(z) * (1 - sigmoid(z)),
  });
}

/**
 * The same for the squared hinge max(0, 1 − y±·z)² (y± = 2y − 1) of a linear SVM, with its
 * generalised Hessian (2 inside the margin, 0 outside).
 */
export function referenceSvmOptimum(data: ReferenceData, l2: number): { weights: Float64Array; bias: number; objective: number; iterations: number } {
  return referenceLinearOptimum(data, l2, {
    value: (z, y) => Math.max(0, 1 - (2 * y - 1) * z) ** 2,
    slope: (z, y) => -2 * (2 * y - 1) * Math.max(0, 1 - (2 * y - 1) * z),
    curvature: (z, y) => (1 - (2 * y - 1) * z > 0 ? 2 : 0),
  });
}

interface ReferenceLoss {
  value(z: number, y: number): number;
  slope(z: number, y: number): number;
  curvature(z: number, y: number): number;
}

function referenceLinearOptimum(data: ReferenceData, l2: number, loss: ReferenceLoss): { weights: Float64Array; bias: number; objective: number; iterations: number } {
  const { rows, dims, features } = data;
  const labels = data.labels!;
  const { mean, std } = columnStats(data);
  const n = dims + 1;
  const u = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dims; j++) u[i * n + j] = (features[i * dims + j]! - mean[j]!) / std[j]!;
    u[i * n + dims] = 1;
  }
  const objectiveAt = (theta: Float64Array) => {
    let total = 0;
    for (let i = 0; i < rows; i++) {
      let z = 0;
      for (let j = 0; j < n; j++) z += theta[j]! * u[i * n + j]!;
      total += loss.value(z, labels[i]!);
    }
    let penalty = 0;
    for (let j = 0; j < dims; j++) penalty += theta[j]! ** 2;
    return total / rows + (l2 / 2) * penalty;
  };
  let theta = new Float64Array(n);
  let iterations = 0;
  for (; iterations < 100; iterations++) {
    const g = new Float64Array(n);
    const h = new Float64Array(n * n);
    for (let i = 0; i < rows; i++) {
      let z = 0;
      for (let j = 0; j < n; j++) z += theta[j]! * u[i * n + j]!;
      const slope = loss.slope(z, labels[i]!);
      const curvature = loss.curvature(z, labels[i]!);
      for (let j = 0; j < n; j++) {
        g[j] += (slope * u[i * n + j]!) / rows;
        for (let k = 0; k < n; k++) h[j * n + k] += (curvature * u[i * n + j]! * u[i * n + k]!) / rows;
      }
    }
    for (let j = 0; j < dims; j++) {
      g[j] += l2 * theta[j]!;
      h[j * n + j] += l2;
    }
    if (Math.hypot(...g) <= 1e-12) break;
    theta = newtonStep(theta, h, g, objectiveAt);
  }
  const weights = new Float64Array(dims);
  let bias = theta[dims]!;
  for (let j = 0; j < dims; j++) {
    weights[j] = theta[j]! / std[j]!;
    bias -= weights[j]! * mean[j]!;
  }
  return { weights, bias, objective: objectiveAt(theta), iterations };
}

/** θ + t·p for the Newton step p = −H⁻¹g, with t halved from 1 while the objective rises. */
function newtonStep(theta: Float64Array<ArrayBuffer>, h: Float64Array, g: Float64Array, objectiveAt: (theta: Float64Array) => number): Float64Array<ArrayBuffer> {
  const step = gaussianSolve(h, theta.length, g.map((v) => -v));
  const before = objectiveAt(theta);
  let t = 1;
  let next = theta.map((v, j) => v + step[j]!);
  while (objectiveAt(next) > before && t > 1e-8) {
    t /= 2;
    next = theta.map((v, j) => v + t * step[j]!);
  }
  return next;
}

/** Solves A x = b (A row-major n × n, copied) by Gaussian elimination with partial pivoting. */
export function gaussianSolve(matrix: Float64Array, n: number, rhs: Float64Array): Float64Array {
  const a = Float64Array.from(matrix);
  const b = Float64Array.from(rhs);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]!) > Math.abs(a[pivot * n + col]!)) pivot = r;
    if (pivot !== col) {
      for (let k = 0; k < n; k++) [a[col * n + k], a[pivot * n + k]] = [a[pivot * n + k]!, a[col * n + k]!];
      [b[col], b[pivot]] = [b[pivot]!, b[col]!];
    }
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col]! / a[col * n + col]!;
      for (let k = col; k < n; k++) a[r * n + k] -= f * a[col * n + k]!;
      b[r] -= f * b[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < n; k++) s -= a[r * n + k]! * x[k]!;
    x[r] = s / a[r * n + r]!;
  }
  return x;
}

export interface ReferenceLocalSgdOptions {
  /** Workers (contiguous shards, sizes differing by at most one) and threads per worker (the same split of each shard). */
  workers: number;
  threads: number;
  seed: number;
  /** Step size of round 1; round r steps with lr/√r. */
  lr: number;
  l2: number;
  batch: number;
  /** Steps per thread per round; absent: ⌈rows of the thread / batch⌉ (one pass). */
  steps?: number;
  loss: 'logistic' | 'hinge';
  rounds: number;
}

export interface ReferenceLocalSgd {
  /** The averaged model after the last round, in input space. */
  weights: Float64Array;
  bias: number;
  /** The objective of the model that entered each round. */
  objectives: number[];
}

/** The seed of a thread's row order: MurmurHash3's finaliser chained over seed, round, shard, thread. */
function orderSeed(seed: number, round: number, shard: number, thread: number): number {
  const fmix = (h: number) => {
    h = (h ^ (h >>> 16)) >>> 0;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  };
  return fmix((fmix((fmix((fmix(seed) ^ round) >>> 0) ^ shard) >>> 0) ^ thread) >>> 0);
}

/**
 * Local SGD with model averaging, one thread of one worker after the other, on explicitly
 * standardised rows u = (x − mean)/std: every (worker, thread) starts a round from the averaged
 * (v, c), shuffles its row indices (Fisher–Yates from the last index, sfc32 seeded by orderSeed,
 * reshuffled from the previous order at each new pass), takes mini-batches as consecutive slices,
 * and steps v ← v − η·(mean r·u + l2·v), c ← c − η·mean r with η = lr/√round and r the loss's slope
 * (σ(z) − y, or −y± inside the hinge's margin); the next model is the rows-weighted average of the
 * threads' results.
 */
export function referenceLocalSgd(data: ReferenceData, options: ReferenceLocalSgdOptions): ReferenceLocalSgd {
  const { rows, dims, features } = data;
  const labels = data.labels;
  if (!labels) throw new Error('reference local SGD needs labels');
  const { mean, std } = columnStats(data);
  const u = new Float64Array(rows * dims);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dims; j++) u[i * dims + j] = (features[i * dims + j]! - mean[j]!) / std[j]!;
  const margin = (theta: Float64Array, i: number) => {
    let z = theta[dims]!;
    for (let j = 0; j < dims; j++) z += theta[j]! * u[i * dims + j]!;
    return z;
  };
  const slope = (z: number, y: number) => (options.loss === 'logistic' ? sigmoid(z) - y : (2 * y - 1) * z < 1 ? -(2 * y - 1) : 0);
  const value = (z: number, y: number) => (options.loss === 'logistic' ? logLoss(z, y) : Math.max(0, 1 - (2 * y - 1) * z));

  let theta = new Float64Array(dims + 1);
  const objectives: number[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    let total = 0;
    for (let i = 0; i < rows; i++) total += value(margin(theta, i), labels[i]!);
    let penalty = 0;
    for (let j = 0; j < dims; j++) penalty += theta[j]! ** 2;
    objectives.push(total / rows + (options.l2 / 2) * penalty);

    const eta = options.lr / Math.sqrt(round);
    const sum = new Float64Array(dims + 1);
    for (let w = 0; w < options.workers; w++) {
      const shardStart = Math.floor((w * rows) / options.workers);
      const shardRows = Math.floor(((w + 1) * rows) / options.workers) - shardStart;
      for (let t = 0; t < options.threads; t++) {
        const start = shardStart + Math.floor((t * shardRows) / options.threads);
        const end = shardStart + Math.floor(((t + 1) * shardRows) / options.threads);
        const n = end - start;
        if (n === 0) continue;
        const local = Float64Array.from(theta);
        const rng = new Rng(orderSeed(options.seed, round, w, t));
        const order = Array.from({ length: n }, (_, k) => start + k);
        const perPass = Math.ceil(n / options.batch);
        const steps = options.steps ?? perPass;
        for (let s = 0; s < steps; s++) {
          if (s % perPass === 0) {
            for (let k = n - 1; k > 0; k--) {
              const m = Math.floor(rng.next() * (k + 1));
              [order[k], order[m]] = [order[m]!, order[k]!];
            }
          }
          const from = (s % perPass) * options.batch;
          const to = Math.min(from + options.batch, n);
          const grad = new Float64Array(dims + 1);
          for (let k = from; k < to; k++) {
            const i = order[k]!;
            const r = slope(margin(local, i), labels[i]!);
            for (let j = 0; j < dims; j++) grad[j] += r * u[i * dims + j]!;
            grad[dims] += r;
          }
          for (let j = 0; j < dims; j++) local[j] -= eta * (grad[j]! / (to - from) + options.l2 * local[j]!);
          local[dims] -= (eta * grad[dims]!) / (to - from);
        }
        for (let j = 0; j <= dims; j++) sum[j] += n * local[j]!;
      }
    }
    theta = sum.map((v) => v / rows);
  }
  const weights = new Float64Array(dims);
  let bias = theta[dims]!;
  for (let j = 0; j < dims; j++) {
    weights[j] = theta[j]! / std[j]!;
    bias -= weights[j]! * mean[j]!;
  }
  return { weights, bias, objectives };
}

/**
 * The L2-regularised multinomial optimum (softmax over `classes` outputs, labels 0..classes−1) by a
 * dense Newton's method on standardised columns: mean of logsumexp(z) − z_y + (l2/2)·‖V‖², biases
 * not penalised. The objective does not change when a constant is added to every intercept, so the
 * Hessian is singular along that direction; the gradient has no part along it, and a tiny ridge in
 * the solve keeps the steps off it (the intercepts start at 0 and keep summing to 0). Returns the
 * standardised weights (classes × dims), the intercepts centred, and the weights and biases in input space.
 */
export function referenceSoftmaxOptimum(
  data: ReferenceData,
  classes: number,
  l2: number,
): { standardised: Float64Array; intercepts: Float64Array; weights: Float64Array; bias: Float64Array; objective: number; iterations: number } {
  const { rows, dims, features } = data;
  const labels = data.labels!;
  const { mean, std } = columnStats(data);
  const u = new Float64Array(rows * dims);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dims; j++) u[i * dims + j] = (features[i * dims + j]! - mean[j]!) / std[j]!;
  // θ: class k's weights at k·(dims + 1), its intercept at k·(dims + 1) + dims.
  const n = dims + 1;
  const size = classes * n;
  const probabilities = (theta: Float64Array, i: number) => {
    const z = new Float64Array(classes);
    for (let k = 0; k < classes; k++) {
      z[k] = theta[k * n + dims]!;
      for (let j = 0; j < dims; j++) z[k] += theta[k * n + j]! * u[i * dims + j]!;
    }
    const top = Math.max(...z);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(z[k]! - top);
    const lse = top + Math.log(sum);
    return { p: z.map((v) => Math.exp(v - lse)), loss: lse - z[labels[i]!]! };
  };
  const objectiveAt = (theta: Float64Array) => {
    let total = 0;
    for (let i = 0; i < rows; i++) total += probabilities(theta, i).loss;
    let penalty = 0;
    for (let k = 0; k < classes; k++) for (let j = 0; j < dims; j++) penalty += theta[k * n + j]! ** 2;
    return total / rows + (l2 / 2) * penalty;
  };
  let theta = new Float64Array(size);
  let iterations = 0;
  const x = new Float64Array(n);
  x[dims] = 1;
  for (; iterations < 100; iterations++) {
    const g = new Float64Array(size);
    const h = new Float64Array(size * size);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < dims; j++) x[j] = u[i * dims + j]!;
      const { p } = probabilities(theta, i);
      for (let k = 0; k < classes; k++) {
        const err = p[k]! - (labels[i] === k ? 1 : 0);
        for (let a = 0; a < n; a++) g[k * n + a] += (err * x[a]!) / rows;
        for (let l = 0; l < classes; l++) {
          const c = p[k]! * ((k === l ? 1 : 0) - p[l]!);
          for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) h[(k * n + a) * size + l * n + b] += (c * x[a]! * x[b]!) / rows;
        }
      }
    }
    for (let k = 0; k < classes; k++) {
      for (let j = 0; j < dims; j++) {
        g[k * n + j] += l2 * theta[k * n + j]!;
        h[(k * n + j) * size + k * n + j] += l2;
      }
    }
    if (Math.hypot(...g) <= 1e-12) break;
    for (let a = 0; a < size; a++) h[a * size + a] += 1e-12;
    theta = newtonStep(theta, h, g, objectiveAt);
  }
  const standardised = new Float64Array(classes * dims);
  const intercepts = new Float64Array(classes);
  const weights = new Float64Array(classes * dims);
  const bias = new Float64Array(classes);
  for (let k = 0; k < classes; k++) intercepts[k] = theta[k * n + dims]!;
  const centre = intercepts.reduce((s, v) => s + v, 0) / classes;
  for (let k = 0; k < classes; k++) {
    intercepts[k] -= centre;
    bias[k] = intercepts[k]!;
    for (let j = 0; j < dims; j++) {
      standardised[k * dims + j] = theta[k * n + j]!;
      weights[k * dims + j] = theta[k * n + j]! / std[j]!;
      bias[k] -= weights[k * dims + j]! * mean[j]!;
    }
  }
  return { standardised, intercepts, weights, bias, objective: objectiveAt(theta), iterations };
}

/** A multinomial model's weights in standardised coordinates and its intercepts centred (comparable with referenceSoftmaxOptimum's). */
export function standardisedSoftmax(data: ReferenceData, weights: number[][], bias: number[]): { standardised: Float64Array; intercepts: Float64Array } {
  const { mean, std } = columnStats(data);
  const classes = weights.length;
  const { dims } = data;
  const standardised = new Float64Array(classes * dims);
  const intercepts = new Float64Array(classes);
  for (let k = 0; k < classes; k++) {
    intercepts[k] = bias[k]!;
    for (let j = 0; j < dims; j++) {
      standardised[k * dims + j] = weights[k]![j]! * std[j]!;
      intercepts[k] += weights[k]![j]! * mean[j]!;
    }
  }
  const centre = intercepts.reduce((s, v) => s + v, 0) / classes;
  return { standardised, intercepts: intercepts.map((v) => v - centre) };
}
