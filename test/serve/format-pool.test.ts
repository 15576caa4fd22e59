import { afterAll, describe, expect, it } from 'vitest';
import { FormatPool, formatRows } from '../../src/serve/formatPool.js';

/*
 * Batch predictions format their parts in a pool of threads (src/serve/formatPool.ts): the text is
 * the rows' lines in order, each number as String writes it, whether the rows are split over the
 * threads or formatted here.
 */

const pool = new FormatPool(3);
afterAll(() => pool.close());

function seeded(n: number): Float64Array {
  let s = 3;
  return Float64Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  });
}

describe('the format pool', () => {
  it('writes a multinomial shard split over three threads as one text, lines in row order, numbers as String writes them', async () => {
    // Prepare: 10,001 rows × 4 classes (above the size formatted here), labels that need quoting.
    const rows = 10_001;
    const scores = seeded(rows * 4);
    const index = Int32Array.from({ length: rows }, (_, i) => (i * 7) % 4);
    const names = ['a', '"b,c"', '-1', 'true'];

    // Act
    const text = await pool.format({ kmeans: false, names, index, scores, width: 4, from: 0, to: rows });

    // Assess
    const lines = text.split('\n');
    expect(lines).toHaveLength(rows + 1);
    expect(lines.at(-1)).toBe('');
    for (const i of [0, 1, 3333, 3334, 6667, 6668, rows - 1]) {
      expect(lines[i]).toBe([names[index[i]!], ...Array.from(scores.subarray(i * 4, i * 4 + 4), String)].join(','));
    }
    expect(text).toBe(formatRows({ kmeans: false, names, index, scores, width: 4, from: 0, to: rows }));
  });

  it('writes k-means as cluster,distance, and a small shard here', async () => {
    // Prepare
    const distance = seeded(30_000);
    const cluster = Int32Array.from({ length: 30_000 }, (_, i) => i % 5);

    // Act
    const split = await pool.format({ kmeans: true, names: [], index: cluster, scores: distance, width: 1, from: 0, to: 30_000 });
    const small = await pool.format({ kmeans: true, names: [], index: cluster, scores: distance, width: 1, from: 0, to: 3 });

    // Assess
    expect(split.split('\n').slice(0, 30_000)).toEqual(Array.from(distance, (d, i) => `${cluster[i]},${d}`));
    expect(small).toBe(`0,${distance[0]}\n1,${distance[1]}\n2,${distance[2]}\n`);
  });
});
