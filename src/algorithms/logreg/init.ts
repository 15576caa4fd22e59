import type { PreparedData } from '../../data/summary.js';

/**
 * The gradient-descent model at its start: zero weights and bias, then each column's mean and
 * population standard deviation, from the preparation round's merged column statistics.
 */
export function standardisation(data: PreparedData): Float64Array {
  const { dims } = data;
  const model = new Float64Array(3 * dims + 1);
  for (let j = 0; j < dims; j++) {
    const { count, mean, m2 } = data.columns[j]!;
    model[dims + 1 + j] = mean;
    // A constant column has no scale to learn: leave it unscaled rather than divide by zero.
    model[2 * dims + 1 + j] = Math.sqrt(m2 / count) || 1;
  }
  return model;
}
