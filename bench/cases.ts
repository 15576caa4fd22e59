/*
 * The benches' data: generated once per run, used by both sides (`npm run bench` hands the Python
 * reference the same float32 bytes in files).
 */
import type { TrainingData } from '../src/data/types.js';
import { generateBlobs } from '../src/data/generate.js';
import { Rng } from '../src/util/random.js';

export interface KmeansCase {
  name: string;
  data: TrainingData;
  k: number;
  /** The centroids both sides start from: k rows of the data (rows are shuffled by the generator). */
  centroids: Float64Array;
}

export function kmeansCase(rows: number, dims: number, k: number, seed: number): KmeansCase {
  const { table } = generateBlobs({ rows, dims, centers: k, seed, std: 2 });
  const data: TrainingData = { source: `blobs ${rows}×${dims}`, rows, dims, features: table.values, featureNames: table.columns };
  const centroids = new Float64Array(k * dims);
  for (let c = 0; c < k; c++) {
    const row = Math.floor((c * rows) / k);
    for (let j = 0; j < dims; j++) centroids[c * dims + j] = table.values[row * dims + j]!;
  }
  return { name: `kmeans ${label(rows)}×${dims}, k=${k}`, data, k, centroids };
}

export interface LogregCase {
  name: string;
  data: TrainingData;
  /** Weights then bias, as float32 values (numpy multiplies in float32). */
  w: Float64Array;
}

/** Labels from a random linear rule plus noise; weights drawn wScale × N(0, 1). */
export function logregCase(rows: number, dims: number, seed: number, wScale = 0.1): LogregCase {
  const rng = new Rng(seed);
  const truth = Array.from({ length: dims }, () => rng.normal());
  const features = new Float32Array(rows * dims);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = 0;
    for (let j = 0; j < dims; j++) {
      const v = rng.normal();
      features[i * dims + j] = v;
      z += truth[j]! * v;
    }
    labels[i] = z + 0.5 * rng.normal() > 0 ? 1 : 0;
  }
  const w = new Float64Array(dims + 1);
  for (let j = 0; j < dims; j++) w[j] = Math.fround(wScale * rng.normal());
  const featureNames = Array.from({ length: dims }, (_, j) => `x${j}`);
  return { name: `logreg gradient ${label(rows)}×${dims}`, data: { source: 'classification', rows, dims, features, labels, featureNames, labelName: 'y' }, w };
}

export function label(rows: number): string {
  return rows % 1_000_000 === 0 ? `${rows / 1_000_000}M` : rows % 1000 === 0 ? `${rows / 1000}k` : String(rows);
}
