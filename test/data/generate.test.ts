import { describe, expect, it } from 'vitest';
import { encodeBinary } from '../../src/data/formats/binary.js';
import { generateBlobs, generateClassification } from '../../src/data/generate.js';
import { SpecError } from '../../src/errors.js';

describe('generateBlobs', () => {
  it('gives identical bytes for the same seed and different bytes for another', () => {
    // Prepare
    const options = { rows: 500, dims: 3, centers: 4, seed: 42 };

    // Act
    const a = generateBlobs(options);
    const b = generateBlobs(options);
    const c = generateBlobs({ ...options, seed: 43 });

    // Assess
    expect(encodeBinary(a.table)).toEqual(encodeBinary(b.table));
    expect(a.centers).toEqual(b.centers);
    expect(Buffer.from(encodeBinary(a.table)).equals(Buffer.from(encodeBinary(c.table)))).toBe(false);
    expect(a.centers).not.toEqual(c.centers);
  });

  it('draws centres within the spread and deals rows evenly among them in shuffled order', () => {
    // Prepare
    const options = { rows: 1001, dims: 2, centers: 4, seed: 7, spread: 5 };

    // Act
    const { table, centers, assignments } = generateBlobs(options);

    // Assess
    expect(table.columns).toEqual(['x0', 'x1']);
    expect(table.rows).toBe(1001);
    expect(table.values.length).toBe(2002);
    expect(centers).toHaveLength(4);
    for (const center of centers) for (const v of center) expect(Math.abs(v)).toBeLessThanOrEqual(5);
    const counts = [0, 0, 0, 0];
    for (const a of assignments) counts[a]++;
    expect(counts.sort()).toEqual([250, 250, 250, 251]);
    // Round-robin order would put centre 0 first in every run of 4 rows.
    const inOrder = Array.from(assignments).every((a, i) => a === i % 4);
    expect(inOrder).toBe(false);
  });

  it('puts each row near its centre with the requested spread', () => {
    // Prepare
    const dims = 3;
    const std = 0.5;

    // Act
    const { table, centers, assignments } = generateBlobs({ rows: 6000, dims, centers: 3, std, seed: 1 });

    // Assess: every value within 6σ, per-blob means within 4 standard errors, and the sample σ close to std.
    let sq = 0;
    const sums = centers.map(() => new Array<number>(dims).fill(0));
    for (let r = 0; r < table.rows; r++) {
      const center = centers[assignments[r]];
      for (let d = 0; d < dims; d++) {
        const delta = table.values[r * dims + d] - center[d];
        expect(Math.abs(delta)).toBeLessThan(6 * std);
        sums[assignments[r]][d] += delta;
        sq += delta * delta;
      }
    }
    for (const s of sums) for (const total of s) expect(Math.abs(total / 2000)).toBeLessThan((4 * std) / Math.sqrt(2000));
    expect(Math.sqrt(sq / (table.rows * dims))).toBeCloseTo(std, 1);
  });

  it('rejects impossible options', () => {
    const err = (() => {
      try {
        generateBlobs({ rows: 0, dims: 2, centers: 2, seed: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).code).toBe('E_SPEC');
    expect((err as SpecError).message).toBe('rows must be a positive integer, got 0');
  });
});

describe('generateClassification', () => {
  /** bias + Σ w·x over the stored float32 values, summed in the generator's order. */
  function score(weights: number[], bias: number, values: Float32Array, offset: number): number {
    let s = bias;
    for (let d = 0; d < weights.length; d++) s += weights[d] * values[offset + d];
    return s;
  }

  it('gives identical bytes for the same seed and different bytes for another', () => {
    // Prepare
    const options = { rows: 300, dims: 4, seed: 9 };

    // Act
    const a = generateClassification(options);
    const b = generateClassification(options);
    const c = generateClassification({ ...options, seed: 10 });

    // Assess
    expect(encodeBinary(a.table)).toEqual(encodeBinary(b.table));
    expect(a.weights).toEqual(b.weights);
    expect(a.bias).toBe(b.bias);
    expect(Buffer.from(encodeBinary(a.table)).equals(Buffer.from(encodeBinary(c.table)))).toBe(false);
    expect(a.weights).not.toEqual(c.weights);
  });

  it('labels by the side of the hyperplane and keeps every point outside the margin', () => {
    // Prepare
    const dims = 5;
    const margin = 0.8;

    // Act
    const { table, weights, bias } = generateClassification({ rows: 4000, dims, seed: 3, margin });

    // Assess
    expect(table.columns).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'label']);
    expect(table.cols).toBe(dims + 1);
    expect(Math.hypot(...weights)).toBeCloseTo(1, 12);
    let ones = 0;
    let closest = Infinity;
    for (let r = 0; r < table.rows; r++) {
      const s = score(weights, bias, table.values, r * table.cols);
      const label = table.values[r * table.cols + dims];
      expect(label).toBe(s > 0 ? 1 : 0);
      closest = Math.min(closest, Math.abs(s));
      ones += label;
    }
    expect(closest).toBeGreaterThanOrEqual(margin);
    // The closest points sit just outside the margin, so the rejection is doing the work.
    expect(closest).toBeLessThan(margin + 0.05);
    expect(ones).toBeGreaterThan(400);
    expect(ones).toBeLessThan(3600);
  });

  it('uses a margin of 0.5 by default', () => {
    // Act
    const { table, weights, bias } = generateClassification({ rows: 2000, dims: 2, seed: 5 });

    // Assess
    let closest = Infinity;
    for (let r = 0; r < table.rows; r++) closest = Math.min(closest, Math.abs(score(weights, bias, table.values, r * 3)));
    expect(closest).toBeGreaterThanOrEqual(0.5);
    expect(closest).toBeLessThan(0.55);
  });
});
