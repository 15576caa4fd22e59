import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describe as describeData, loadShard, planShards } from '../../src/data/dataset.js';
import { LocalFiles } from '../../src/data/sources/local.js';
import { formatFloat32 } from '../../src/data/table.js';
import { csvLine, csvShape } from '../helpers/csv-cases.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bspml-split-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A CSV of 1..3 columns: numbers of varied width, LF or CRLF per line, blank lines, maybe no final newline. */
const csvCase = fc
  .record({
    ...csvShape,
    lines: fc.array(
      fc.record({
        ...csvLine,
      }),
      { minLength: 1, maxLength: 30 },
    ),
  })
  .map(({ cols, header, trailing, lines }) => {
    let text = header ? `${Array.from({ length: cols }, (_, c) => `c${c}`).join(',')}\n` : '';
    const rows: number[][] = [];
    lines.forEach((line, i) => {
      const values = line.values.slice(0, cols).map((v) => Math.fround(v));
      rows.push(values);
      const eol = line.crlf ? '\r\n' : '\n';
      const last = i === lines.length - 1;
      text += values.map(formatFloat32).join(',') + (last && !trailing ? '' : eol) + (line.blankAfter && !last ? eol : '');
    });
    return { text, rows };
  });

describe('the split rule (property)', () => {
  it('shards of any count, cut at any byte, hold every row once, in order', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(csvCase, fc.integer({ min: 1, max: 12 }), async ({ text, rows }, shards) => {
        const path = join(dir, `case-${n++}.csv`);
        await writeFile(path, text);
        const source = new LocalFiles();
        const layout = await describeData({ uri: path }, source);
        const got: number[][] = [];
        for (let s = 0; s < shards; s++) {
          const shard = await loadShard(layout, s, shards, source);
          for (let r = 0; r < shard.rows; r++) got.push(Array.from(shard.features.subarray(r * shard.dims, (r + 1) * shard.dims)));
        }
        expect(got).toEqual(rows);
        // The plan covers the data bytes exactly, without overlap.
        const pieces = planShards(layout, shards).flat();
        expect(pieces.reduce((sum, p) => sum + (p.end - p.start), 0)).toBe(layout.parts[0]!.bytes - layout.parts[0]!.dataOffset);
        await rm(path);
      }),
      { numRuns: 40 },
    );
  });
});
