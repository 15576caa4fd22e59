import { afterAll, describe, expect, it } from 'vitest';
import { FormatPool, partBytes, rowsText } from '../../src/serve/formatPool.js';

/*
 * Batch predictions format their parts in a pool of threads (src/serve/formatPool.ts): the text is
 * the rows' lines in order, each number as String writes it, whether the rows are split over the
 * threads or formatted here.
 */

const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString('utf8');

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
    const chunks = await pool.format({ kmeans: false, names, index, scores, width: 4, from: 0, to: rows });
    const written = text(chunks);

    // Assess
    expect(chunks).toHaveLength(3);
    const lines = written.split('\n');
    expect(lines).toHaveLength(rows + 1);
    expect(lines.at(-1)).toBe('');
    for (const i of [0, 1, 3333, 3334, 6667, 6668, rows - 1]) {
      expect(lines[i]).toBe([names[index[i]!], ...Array.from(scores.subarray(i * 4, i * 4 + 4), String)].join(','));
    }
    expect(written).toBe(text([rowsText({ kmeans: false, names, index, scores, width: 4, from: 0, to: rows })]));
  });

  it('writes k-means as cluster,distance, and a small shard here', async () => {
    // Prepare
    const distance = seeded(30_000);
    const cluster = Int32Array.from({ length: 30_000 }, (_, i) => i % 5);

    // Act
    const split = text(await pool.format({ kmeans: true, names: [], index: cluster, scores: distance, width: 1, from: 0, to: 30_000 }));
    const small = text(await pool.format({ kmeans: true, names: [], index: cluster, scores: distance, width: 1, from: 0, to: 3 }));

    // Assess
    expect(split.split('\n').slice(0, 30_000)).toEqual(Array.from(distance, (d, i) => `${cluster[i]},${d}`));
    expect(small).toBe(`0,${distance[0]}\n1,${distance[1]}\n2,${distance[2]}\n`);
  });
});

describe('a part', () => {
  it('is the header line, then the chunks in order, labels in UTF-8', () => {
    // Prepare
    const names = ['é', 'b'];
    const index = Int32Array.from([1, 0]);
    const scores = Float64Array.from([0.25, 0.75, 1e-7, 1 - 1e-7]);

    // Act
    const part = partBytes('prediction,p_é,p_b', [rowsText({ kmeans: false, names, index, scores, width: 2, from: 0, to: 1 }), rowsText({ kmeans: false, names, index, scores, width: 2, from: 1, to: 2 })]);

    // Assess
    expect(Buffer.from(part).toString('utf8')).toBe('prediction,p_é,p_b\nb,0.25,0.75\né,1e-7,0.9999999\n');
  });
});
