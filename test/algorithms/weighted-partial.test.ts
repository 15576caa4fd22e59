import { describe, expect, it } from 'vitest';
import { logreg } from '../../src/algorithms/logreg/index.js';
import type { Shape } from '../../src/algorithms/types.js';

/*
 * Class weights in a partial (src/algorithms/weightedPartial.ts): the class-by-class sums, scaled by
 * each class's weight, against a plain loop written here that weighs every row's log-loss term by
 * w[its class]; rows in runs of one class (summed in place) and interleaved (copied together first)
 * give the same sums; the counts (rows classified right, rows) stay unweighted.
 */

const DIMS = 3;
const ROWS = 40;
const WEIGHTS = [2.5, 0.4];

function rows(order: 'sorted' | 'interleaved') {
  const features = new Float32Array(ROWS * DIMS);
  const labels = new Float32Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    const y = order === 'sorted' ? (i < ROWS / 2 ? 0 : 1) : i % 2;
    // The same row for the same (class, index within the class) in both orders.
    const r = order === 'sorted' ? (y === 0 ? i : i - ROWS / 2) : Math.floor(i / 2);
    labels[i] = y;
    for (let j = 0; j < DIMS; j++) features[i * DIMS + j] = Math.fround(Math.sin(1 + r * 3.1 + j * 1.7 + y) * 2 + (y ? 0.5 : -0.5));
  }
  return { features, labels };
}

/** Gradient descent's partial: Σ w·(p − y)·x, Σ w·(p − y), Σ w·log-loss, rows right, rows (weights and bias in the model's head). */
function plainWeighted(features: Float32Array, labels: Float32Array, w: number[], bias: number): number[] {
  const out = new Array<number>(DIMS + 4).fill(0);
  for (let i = 0; i < ROWS; i++) {
    const y = labels[i]!;
    let z = bias;
    for (let j = 0; j < DIMS; j++) z += w[j]! * features[i * DIMS + j]!;
    const p = 1 / (1 + Math.exp(-z));
    const weight = WEIGHTS[y]!;
    for (let j = 0; j < DIMS; j++) out[j] += weight * (p - y) * features[i * DIMS + j]!;
    out[DIMS] += weight * (p - y);
    out[DIMS + 1] += weight * (Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0) - y * z);
    if ((z >= 0 ? 1 : 0) === y) out[DIMS + 2]++;
    out[DIMS + 3]++;
  }
  return out;
}

describe('weightedPartial', () => {
  it.each(['sorted', 'interleaved'] as const)('rows %s: the plain per-row weighted sums (1e-12), counts unweighted', (order) => {
    // Prepare
    const shape: Shape = { algorithm: 'logreg', dims: DIMS, k: 1, solver: 'gd', classWeights: WEIGHTS };
    const model = new Float64Array(logreg.modelLength(shape));
    model.set([0.3, -0.2, 0.1, 0.05]);
    const { features, labels } = rows(order);
    const out = new Float64Array(logreg.partialLength(shape));

    // Act
    logreg.partial(shape, model, { features, labels, dims: DIMS, start: 0, end: ROWS }, out);

    // Assess
    const expected = plainWeighted(features, labels, [0.3, -0.2, 0.1], 0.05);
    expected.forEach((e, i) => expect(Math.abs(out[i]! - e), `entry ${i}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(e))));
    expect(out[DIMS + 3]).toBe(ROWS);
    expect(Number.isInteger(out[DIMS + 2])).toBe(true);
  });

  it('a block split in two adds up to the whole (a sum over rows, whatever the split)', () => {
    // Prepare
    const shape: Shape = { algorithm: 'logreg', dims: DIMS, k: 1, solver: 'gd', classWeights: WEIGHTS };
    const model = new Float64Array(logreg.modelLength(shape));
    model.set([0.3, -0.2, 0.1, 0.05]);
    const { features, labels } = rows('interleaved');
    const whole = new Float64Array(logreg.partialLength(shape));
    const parts = new Float64Array(logreg.partialLength(shape));

    // Act
    logreg.partial(shape, model, { features, labels, dims: DIMS, start: 0, end: ROWS }, whole);
    logreg.partial(shape, model, { features, labels, dims: DIMS, start: 0, end: 13 }, parts);
    logreg.partial(shape, model, { features, labels, dims: DIMS, start: 13, end: ROWS }, parts);

    // Assess
    whole.forEach((v, i) => expect(Math.abs(parts[i]! - v)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
  });
});
