import type { RowBlock } from './types.js';

/*
 * Class weights (classWeights.ts) for a partial that is a plain sum over rows of per-row terms: the
 * rows of each class are summed apart by the unweighted partial, and each class's sum is added
 * scaled by its weight. The gradient, loss, trial losses and Hessian of Σ w_y·loss are exactly
 * that; the counts (`counted`: rows classified right, rows) are added unscaled, so the mean stays
 * over the rows and the accuracy is the plain one, as scikit-learn's score.
 *
 * No kernel needs a weight argument. Where a block's rows come in runs of one class each (a data
 * set sorted by its label), the runs are summed in place; otherwise each class's rows are first
 * copied together (one extra pass over the block, and the plain TypeScript loops, which read any
 * array: the WebAssembly kernels read only the shard's shared memory).
 */

export function weightedPartial(
  weights: readonly number[],
  block: RowBlock,
  out: Float64Array,
  counted: readonly number[],
  partial: (block: RowBlock, out: Float64Array) => void,
): void {
  const { labels, start, end, dims, features } = block;
  if (!labels) throw new Error('a class-weighted partial needs labels');
  const classes = weights.length;
  const part = new Float64Array(out.length);
  const scale = new Float64Array(out.length);
  const add = (k: number) => {
    scale.fill(weights[k]!);
    // The counts are rows, not weighted rows.
    for (const i of counted) scale[i] = 1;
    for (let i = 0; i < out.length; i++) out[i] += scale[i]! * part[i]!;
  };
  // Runs of one class: in place while there are no more runs than classes.
  const runs: [number, number, number][] = [];
  for (let i = start; i < end && runs.length <= classes; ) {
    const k = labels[i]!;
    let j = i + 1;
    while (j < end && labels[j] === k) j++;
    runs.push([i, j, k]);
    i = j;
  }
  if (runs.length <= classes) {
    for (const [from, to, k] of runs) {
      part.fill(0);
      partial({ ...block, start: from, end: to }, part);
      add(k);
    }
    return;
  }
  const counts = new Array<number>(classes).fill(0);
  for (let i = start; i < end; i++) counts[labels[i]!]!++;
  for (let k = 0; k < classes; k++) {
    const rows = counts[k]!;
    if (rows === 0) continue;
    const x = new Float32Array(rows * dims);
    const y = new Float32Array(rows).fill(k);
    let r = 0;
    for (let i = start; i < end; i++) {
      if (labels[i] !== k) continue;
      x.set(features.subarray(i * dims, (i + 1) * dims), r * dims);
      r++;
    }
    part.fill(0);
    partial({ ...block, features: x, labels: y, start: 0, end: rows }, part);
    add(k);
  }
}
