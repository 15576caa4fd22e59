import type { TrainingData } from '../../data/types.js';

/** The gradient-descent model at its start: zero weights and bias, then each column's mean and population standard deviation. */
export function standardisation(data: TrainingData): Float64Array {
  const { dims, rows, features } = data;
  const model = new Float64Array(3 * dims + 1);
  const mean = model.subarray(dims + 1, 2 * dims + 1);
  const std = model.subarray(2 * dims + 1);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dims; j++) mean[j] += features[i * dims + j]!;
  for (let j = 0; j < dims; j++) mean[j] /= rows;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dims; j++) {
      const d = features[i * dims + j]! - mean[j]!;
      std[j] += d * d;
    }
  }
  // A constant column has no scale to learn: leave it unscaled rather than divide by zero.
  for (let j = 0; j < dims; j++) std[j] = Math.sqrt(std[j]! / rows) || 1;
  return model;
}
