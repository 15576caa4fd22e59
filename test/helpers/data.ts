import type { Table } from '../../src/data/table.js';
import type { TrainingData } from '../../src/data/types.js';
import { Rng } from '../../src/util/random.js';

/** Well-separated Gaussian blobs around `centers`, float32, rows interleaved across centres. */
export function blobs(centers: number[][], rowsPerCenter: number, std: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const dims = centers[0]!.length;
  const rows = centers.length * rowsPerCenter;
  const features = new Float32Array(rows * dims);
  for (let i = 0; i < rows; i++) {
    const c = centers[i % centers.length]!;
    for (let j = 0; j < dims; j++) features[i * dims + j] = c[j]! + std * rng.normal();
  }
  return { source: 'blobs', rows, dims, features, featureNames: Array.from({ length: dims }, (_, j) => `x${j}`) };
}

/** Linearly separable points: label 1 iff w·x + b > 0, none closer than `margin` to the plane. */
export function separable(rows: number, dims: number, seed: number, margin = 0.3): TrainingData & { w: number[]; b: number } {
  const rng = new Rng(seed);
  const w = Array.from({ length: dims }, () => rng.normal());
  const norm = Math.hypot(...w);
  for (let j = 0; j < dims; j++) w[j]! /= norm;
  const b = 0.5;
  const features = new Float32Array(rows * dims);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; ) {
    let z = b;
    for (let j = 0; j < dims; j++) {
      const v = Math.fround(2 * rng.normal() + 1);
      features[i * dims + j] = v;
      z += w[j]! * v;
    }
    if (Math.abs(z) < margin) continue;
    labels[i] = z > 0 ? 1 : 0;
    i++;
  }
  return { source: 'separable', rows, dims, features, labels, featureNames: Array.from({ length: dims }, (_, j) => `x${j}`), labelName: 'label', w, b };
}

/**
 * `separable` made harder: columns 0 and dims − 1 mapped to x·scale + shift (`first`, `last`: columns
 * in different units) and every `flipEvery`-th label flipped: not separable.
 */
export function noisy(rows: number, dims: number, seed: number, options: { first: [number, number]; last: [number, number]; flipEvery: number }): TrainingData {
  const base = separable(rows, dims, seed);
  const features = Float32Array.from(base.features);
  const labels = Float32Array.from(base.labels!);
  const [firstScale, firstShift] = options.first;
  const [lastScale, lastShift] = options.last;
  for (let i = 0; i < rows; i++) {
    features[i * dims] = Math.fround(features[i * dims]! * firstScale + firstShift);
    features[i * dims + dims - 1] = Math.fround(features[i * dims + dims - 1]! * lastScale + lastShift);
    if (i % options.flipEvery === 0) labels[i] = 1 - labels[i]!;
  }
  return { ...base, features, labels };
}

/** A generated data set as the table a CSV or binary file of it holds (features, then `label` when it has labels). */
export function toTable(data: TrainingData): Table {
  if (!data.labels) return { columns: data.featureNames, rows: data.rows, cols: data.dims, values: data.features, hasHeader: true, firstLine: 2 };
  const cols = data.dims + 1;
  const values = new Float32Array(data.rows * cols);
  for (let r = 0; r < data.rows; r++) {
    values.set(data.features.subarray(r * data.dims, (r + 1) * data.dims), r * cols);
    values[r * cols + data.dims] = data.labels[r]!;
  }
  return { columns: [...data.featureNames, 'label'], rows: data.rows, cols, values, hasHeader: true, firstLine: 2 };
}

/** Rows around `classes` random centres in `dims` columns, label = the centre's index (rows dealt in turn): a multinomial job's data. */
export function manyClasses(rows: number, dims: number, classes: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dims }, () => 2 * rng.normal()));
  const features = new Float32Array(rows * dims);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < dims; j++) features[i * dims + j] = centres[c]![j]! + rng.normal();
  }
  return { source: 'many-classes', rows, dims, features, labels, featureNames: Array.from({ length: dims }, (_, j) => `x${j}`), labelName: 'label' };
}
