import { describe, expect, it } from 'vitest';
import { decodeSummary, encodeSummary, errorSummary, mergeSummaries, sampleKey, summarizeData, summarizeShard, type Summary } from '../../src/data/summary.js';
import { sliceShard } from '../../src/data/types.js';
import { DataError } from '../../src/errors.js';
import { separable } from '../helpers/data.js';

/*
 * The preparation round's summaries: what each worker computes on its shard and how the aggregator
 * merges them. Counts, extremes, label counts and the initialisation sample must not depend on how
 * the rows were split; means and M2 only to float rounding.
 */

const DATA = (() => {
  const base = separable(997, 4, 17);
  const features = Float32Array.from(base.features);
  // Columns of very different offset and scale, where a naive Σx² − n·mean² would lose digits.
  for (let i = 0; i < base.rows; i++) {
    features[i * 4 + 1] = Math.fround(features[i * 4 + 1]! * 1e3 + 1e5);
    features[i * 4 + 3] = Math.fround(features[i * 4 + 3]! * 1e-3);
  }
  return { ...base, features };
})();

/** Column means and M2 computed directly over all rows, in float64. */
function direct() {
  const { rows, dims, features } = DATA;
  const mean = new Array<number>(dims).fill(0);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dims; j++) mean[j]! += features[i * dims + j]!;
  for (let j = 0; j < dims; j++) mean[j]! /= rows;
  const m2 = new Array<number>(dims).fill(0);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dims; j++) m2[j]! += (features[i * dims + j]! - mean[j]!) ** 2;
  return { mean, m2 };
}

describe('summaries of shards, merged', () => {
  it.each([1, 3, 8, 997])('over %i shard(s) give the same counts, extremes, labels and sample, and means and M2 to rounding', (shards) => {
    // Prepare
    const one = summarizeData(DATA, { seed: 11, sampleSize: 50 });
    const { mean, m2 } = direct();

    // Act
    const merged = summarizeData(DATA, { seed: 11, sampleSize: 50, shards });

    // Assess
    expect(merged.rows).toBe(DATA.rows);
    expect(merged.shardRows).toHaveLength(shards);
    expect(merged.shardRows.reduce((a, b) => a + b, 0)).toBe(DATA.rows);
    expect(merged.labels).toEqual(one.labels);
    expect(Object.values(merged.labels!).reduce((a, b) => a + b, 0)).toBe(DATA.rows);
    for (let j = 0; j < DATA.dims; j++) {
      const c = merged.columns[j]!;
      expect(c.count).toBe(DATA.rows);
      expect(c.min).toBe(one.columns[j]!.min);
      expect(c.max).toBe(one.columns[j]!.max);
      expect(Math.abs(c.mean - mean[j]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(mean[j]!)));
      expect(Math.abs(c.m2 / m2[j]! - 1)).toBeLessThanOrEqual(1e-10);
    }
    // The bottom-k sample is the same rows, in the same order, bit for bit.
    expect(merged.sample.keys.length).toBe(50);
    expect(Array.from(merged.sample.keys)).toEqual(Array.from(one.sample.keys));
    expect(Array.from(merged.sample.positions)).toEqual(Array.from(one.sample.positions));
    expect(Array.from(merged.sample.features)).toEqual(Array.from(one.sample.features));
  });

  it('samples the rows with the smallest keys, sorted, each with its own values', () => {
    // Prepare
    const keys = Array.from({ length: DATA.rows }, (_, i) => sampleKey(3, 0, i));
    const expected = keys
      .map((k, i) => [k, i] as const)
      .sort((a, b) => a[0] - b[0])
      .slice(0, 20)
      .map(([, i]) => i);

    // Act
    const summary = summarizeData(DATA, { seed: 3, sampleSize: 20, shards: 4 });

    // Assess
    expect(Array.from(summary.sample.positions)).toEqual(expected);
    for (const [n, i] of expected.entries()) {
      expect(Array.from(summary.sample.features.subarray(n * 4, n * 4 + 4))).toEqual(Array.from(DATA.features.subarray(i * 4, i * 4 + 4)));
    }
    // Another seed samples other rows.
    const other = summarizeData(DATA, { seed: 4, sampleSize: 20 });
    expect(Array.from(other.sample.positions)).not.toEqual(expected);
  });

  it('keeps every row when the sample may hold them all, and none when it is 0', () => {
    // Act
    const all = summarizeData(DATA, { seed: 1, sampleSize: 5000, shards: 3 });
    const none = summarizeData(DATA, { seed: 1, sampleSize: 0, shards: 3 });

    // Assess
    expect(new Set(all.sample.positions).size).toBe(DATA.rows);
    expect(none.sample.keys.length).toBe(0);
  });

  it('merges an empty shard and an error summary without changing the figures, keeping the error', () => {
    // Prepare
    const whole = summarizeShard(sliceShard(DATA, 0, 1), { shard: 0, seed: 2, sampleSize: 10 });
    const empty = summarizeShard({ ...sliceShard(DATA, 0, 1), rows: 0, features: new Float32Array(0), labels: new Float32Array(0) }, { shard: 1, seed: 2, sampleSize: 10 });
    const failed = errorSummary(2, 4, new DataError('part-00002.csv', '"x" is not a number', { location: { part: 2, pieceStart: 0, lineInPiece: 5, field: 'x1' } }));

    // Act
    const merged = mergeSummaries(mergeSummaries(whole, empty, 10), failed, 10);

    // Assess
    expect(merged.columns).toEqual(whole.columns);
    expect(merged.shardRows).toEqual([DATA.rows, 0, 0]);
    expect(Array.from(merged.sample.keys)).toEqual(Array.from(whole.sample.keys));
    expect(merged.errors).toEqual([{ shard: 2, message: 'part-00002.csv: "x" is not a number', detail: '"x" is not a number', location: { part: 2, pieceStart: 0, lineInPiece: 5, field: 'x1' } }]);
  });

  it('survives its encoding exactly, empty columns included', () => {
    // Prepare
    const summary = summarizeData(DATA, { seed: 5, sampleSize: 7, shards: 2 });
    const empty = errorSummary(0, 4, new DataError('f.csv', 'bad'));

    // Act
    const again = (s: Summary) => {
      const { meta, body } = encodeSummary(s);
      return decodeSummary(JSON.parse(JSON.stringify(meta)), body);
    };

    // Assess
    const { source: _s, featureNames: _f, labelName: _l, ...plain } = summary;
    expect(again(plain)).toEqual(plain);
    expect(again(empty)).toEqual(empty);
  });
});

describe('the sample key', () => {
  it('is in [0, 1), depends on the seed, the part and the position, and spreads evenly', () => {
    // Act
    const keys = Array.from({ length: 20_000 }, (_, i) => sampleKey(9, 1, i));

    // Assess
    expect(keys.every((k) => k >= 0 && k < 1)).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    expect(sampleKey(9, 2, 5)).not.toBe(sampleKey(9, 1, 5));
    expect(sampleKey(8, 1, 5)).not.toBe(sampleKey(9, 1, 5));
    expect(sampleKey(9, 1, 2 ** 40 + 5)).not.toBe(sampleKey(9, 1, 5));
    const below = keys.filter((k) => k < 0.25).length / keys.length;
    expect(below).toBeGreaterThan(0.23);
    expect(below).toBeLessThan(0.27);
  });
});
