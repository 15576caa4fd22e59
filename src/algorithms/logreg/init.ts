import type { PreparedData } from '../../data/summary.js';
import { headLength, meanOf, stdOf } from './layout.js';

/**
 * The model head at its start: zero weights and biases (`outputs` rows of them, layout.ts), then each
 * column's mean and population standard deviation, from the preparation round's merged column statistics.
 */
export function standardisation(data: PreparedData, outputs = 1): Float64Array {
  const { dims } = data;
  const model = new Float64Array(headLength(dims, outputs));
  const means = meanOf(model, dims, outputs);
  const stds = stdOf(model, dims, outputs);
  for (let j = 0; j < dims; j++) {
    const { count, mean, m2 } = data.columns[j]!;
    means[j] = mean;
    // A constant column has no scale to learn: leave it unscaled rather than divide by zero.
    stds[j] = Math.sqrt(m2 / count) || 1;
  }
  return model;
}
