import { SpecError } from '../../errors.js';
import { kmeansAccumulate } from '../../kernels/kmeans.js';
import type { KmeansSpec } from '../../domain/spec.js';
import type { KmeansResult } from '../../domain/results.js';
import { addInto, type Algorithm, type Shape } from '../types.js';
import { bestOfRestarts } from './restarts.js';

/*
 * Exact Lloyd. Model: k × dims centroids. Partial: per-cluster sums (k × dims), then counts (k),
 * then inertia (1) — sums and counts, never means, so partials from any split merge exactly.
 */

export const kmeans: Algorithm<KmeansSpec> = {
  name: 'kmeans',

  shape(spec, data): Shape {
    return { algorithm: 'kmeans', dims: data.dims, k: spec.k };
  },

  validate(spec, data) {
    if (spec.k > data.rows) {
      throw new SpecError(`k = ${spec.k} is larger than the ${data.rows} rows of ${data.source}`, 'k');
    }
  },

  init(spec, data) {
    // The bottom-k sample of the summary: the same rows, in the same order, whatever W and I.
    return bestOfRestarts(data.sample.features, data.sample.keys.length, data.dims, spec.k, spec.seed, spec.nInit ?? 1, spec.tol);
  },

  modelLength(shape) {
    return shape.k * shape.dims;
  },

  partialLength(shape) {
    return shape.k * shape.dims + shape.k + 1;
  },

  partial(shape, model, block, out) {
    const { k, dims } = shape;
    const sums = out.subarray(0, k * dims);
    const counts = out.subarray(k * dims, k * dims + k);
    out[k * dims + k] += kmeansAccumulate(block.features, dims, block.start, block.end, model, k, sums, counts);
  },

  merge: addInto,

  update(spec, shape, model, merged) {
    const { k, dims } = shape;
    const next = new Float64Array(model);
    let shift = 0;
    let empty = 0;
    for (let c = 0; c < k; c++) {
      const count = merged[k * dims + c]!;
      // An empty cluster keeps its centroid: moving it anywhere would depend on data no worker sees.
      if (count === 0) {
        empty++;
        continue;
      }
      let moved = 0;
      for (let j = 0; j < dims; j++) {
        const value = merged[c * dims + j]! / count;
        const diff = value - model[c * dims + j]!;
        moved += diff * diff;
        next[c * dims + j] = value;
      }
      shift = Math.max(shift, Math.sqrt(moved));
    }
    const inertia = merged[k * dims + k]!;
    return { model: next, objective: inertia, converged: shift <= spec.tol, stats: { shift, emptyClusters: empty } };
  },

  result(spec, data, model, last, merged, rounds): KmeansResult {
    const { k } = spec;
    const dims = data.dims;
    const centroids: number[][] = [];
    for (let c = 0; c < k; c++) centroids.push(Array.from(model.subarray(c * dims, (c + 1) * dims)));
    return {
      algorithm: 'kmeans',
      k,
      dims,
      featureNames: data.featureNames,
      centroids,
      counts: Array.from(merged.subarray(k * dims, k * dims + k)),
      inertia: last.objective,
      rounds,
      converged: last.converged,
    };
  },
};
