import { describe, expect, it } from 'vitest';
import { encodeSummary, STATS_BLOCK_ROWS, summarizeShard } from '../../src/data/summary.js';
import type { ShardData } from '../../src/data/types.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { Rng } from '../../src/util/random.js';

/*
 * The preparation round's shard summary, computed by the inner threads (each over its range of
 * whole statistics blocks, merged in row order), is the summary one thread computes: bit for bit,
 * whatever the number of threads.
 */

/** A loaded-looking shard: two pieces of two parts, byte-offset positions (shared), labels 0..2. */
function shard(rows: number, dims: number): ShardData {
  const rng = new Rng(7);
  const buffer = new SharedArrayBuffer(rows * (dims + 1) * 4);
  const features = new Float32Array(buffer, 0, rows * dims);
  const labels = new Float32Array(buffer, rows * dims * 4, rows);
  for (let i = 0; i < features.length; i++) features[i] = 1000 + 3 * rng.normal();
  for (let i = 0; i < rows; i++) labels[i] = i % 3;
  const positions = new Float64Array(new SharedArrayBuffer(rows * 8));
  const split = Math.floor(rows / 3);
  for (let i = 0; i < rows; i++) positions[i] = i < split ? 17 + 40 * i : 40 * (i - split);
  const pieces = [
    { piece: { part: 2, start: 17, end: 17 + 40 * split }, rows: split, lines: split },
    { piece: { part: 3, start: 0, end: 40 * (rows - split) }, rows: rows - split, lines: rows - split },
  ];
  return { shard: 0, shards: 1, rows, dims, buffer, features, labels, positions, pieces };
}

describe('the shard summary in the inner threads', () => {
  it.each([1, 2, 3])('with %i thread(s) is the one-thread summary, bit for bit', async (threads) => {
    // Prepare: 2.3 statistics blocks of rows, so that the threads' ranges differ in size.
    const data = shard(Math.floor(2.3 * STATS_BLOCK_ROWS), 3);
    const options = { shard: 0, seed: 5, sampleSize: 500 };
    const expected = encodeSummary(summarizeShard(data, options));
    const container = new WorkerContainer(threads);
    try {
      const { key, data: held } = await container.shard('job', 0, async () => data);

      // Act
      const got = encodeSummary(await container.pool.summarize(key, held, options));

      // Assess
      expect(got.meta).toEqual(expected.meta);
      expect(Array.from(got.body)).toEqual(Array.from(expected.body));
      expect(got.meta.sampleRows).toBe(500);
      expect(got.meta.labels).toEqual({ 0: Math.ceil(data.rows / 3), 1: Math.ceil((data.rows - 1) / 3), 2: Math.ceil((data.rows - 2) / 3) });
    } finally {
      await container.close();
    }
  });
});
