import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import { encodeBinary } from '../../src/data/formats/binary.js';
import { planShards } from '../../src/data/dataset.js';
import type { LoadedShard } from '../../src/data/types.js';
import { formatFloat32 } from '../../src/data/table.js';
import { Rng } from '../../src/util/random.js';
import { DataError } from '../../src/errors.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bspml-parts-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const COLUMNS = ['a', 'b', 'c', 'y'];

/** Rows of three float32 features and a 0/1 label; every value distinct enough to tell rows apart. */
function rows(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => [Math.fround(i + rng.next()), Math.fround(rng.normal() * 100), Math.fround(-rng.next() * 1e-3), i % 2]);
}

function csv(rowsOf: number[][], { header = true, eol = '\n', trailing = true } = {}): string {
  const lines = rowsOf.map((r) => r.map(formatFloat32).join(','));
  if (header) lines.unshift(COLUMNS.join(','));
  return lines.join(eol) + (trailing ? eol : '');
}

function parquet(rowsOf: number[][], rowGroupSize: number): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: COLUMNS.map((name, c) => ({ name, data: Float32Array.from(rowsOf.map((r) => r[c]!)), type: 'FLOAT' as const })),
    rowGroupSize,
  });
  return new Uint8Array(buffer);
}

function binary(rowsOf: number[][]): Uint8Array {
  return encodeBinary({ columns: COLUMNS, rows: rowsOf.length, cols: 4, values: Float32Array.from(rowsOf.flat()), hasHeader: true, firstLine: 1 });
}

function dataError(e: unknown): DataError {
  expect(e).toBeInstanceOf(DataError);
  return e as DataError;
}

/** All rows of the shards, in shard order, as [features..., label]. */
function concatenated(shards: LoadedShard[]): number[][] {
  const out: number[][] = [];
  for (const s of shards) {
    for (let r = 0; r < s.rows; r++) out.push([...s.features.subarray(r * s.dims, (r + 1) * s.dims), s.labels![r]!]);
  }
  return out;
}

describe('a data set of many parts', () => {
  it('gives the same rows in the same order as one file, for 1, 3 and 8 shards', async () => {
    // Prepare: every case of the issue in one directory.
    const all = rows(230, 1);
    const parts = join(dir, 'set');
    await mkdir(parts);
    await writeFile(join(parts, 'part-00000.csv'), csv(all.slice(0, 3))); // smaller than any shard
    await writeFile(join(parts, 'part-00001.csv'), csv(all.slice(3, 70), { eol: '\r\n' })); // CRLF
    await writeFile(join(parts, 'part-00002.csv'), csv(all.slice(70, 120), { trailing: false })); // no trailing newline
    await writeFile(join(parts, 'part-00003.csv'), ''); // empty: skipped
    await writeFile(join(parts, 'part-00004.csv.gz'), gzipSync(csv(all.slice(120, 150)))); // one unsplittable piece
    await writeFile(join(parts, 'part-00005.parquet'), parquet(all.slice(150, 195), 10)); // row groups of 10
    await writeFile(join(parts, 'part-00006.bin'), binary(all.slice(195, 215)));
    await writeFile(join(parts, 'part-00007.csv'), csv(all.slice(215), { header: false })); // no header
    await writeFile(join(parts, '_SUCCESS'), '');
    await writeFile(join(parts, '.part-00001.csv.crc'), 'not data');
    const one = join(dir, 'one.csv');
    await writeFile(one, csv(all));
    const source = new FileDatasetSource();

    // Act
    const layout = await source.describe({ uri: parts, labelColumn: 'y' });
    const oneLayout = await source.describe({ uri: one, labelColumn: 'y' });
    const reference = concatenated([await source.loadShard(oneLayout, 0, 1)]);
    const byShards = new Map<number, LoadedShard[]>();
    for (const w of [1, 3, 8]) byShards.set(w, await Promise.all(Array.from({ length: w }, (_, s) => source.loadShard(layout, s, w))));

    // Assess
    expect(layout.parts.map((p) => [p.name.slice(parts.length + 1), p.format, p.hasHeader ?? null])).toEqual([
      ['part-00000.csv', 'csv', true],
      ['part-00001.csv', 'csv', true],
      ['part-00002.csv', 'csv', true],
      ['part-00004.csv.gz', 'csv.gz', true],
      ['part-00005.parquet', 'parquet', null],
      ['part-00006.bin', 'binary', null],
      ['part-00007.csv', 'csv', false],
    ]);
    expect(layout.featureNames).toEqual(['a', 'b', 'c']);
    expect(reference).toEqual(all);
    for (const [w, shards] of byShards) {
      expect(concatenated(shards), `${w} shards`).toEqual(all);
      // Positions identify rows whatever W: the same (part, position) pairs in the same order.
      const ids = shards.flatMap((s) => {
        const out: string[] = [];
        let r = 0;
        for (const p of s.pieces) for (let i = 0; i < p.rows; i++) out.push(`${p.piece.part}:${s.positions[r++]}`);
        return out;
      });
      const ids1 = byShards.get(1)!.flatMap((s) => {
        const out: string[] = [];
        let r = 0;
        for (const p of s.pieces) for (let i = 0; i < p.rows; i++) out.push(`${p.piece.part}:${s.positions[r++]}`);
        return out;
      });
      expect(ids).toEqual(ids1);
    }
    // Some CSV range boundary of the 8-shard plan falls inside a line, so the split rule was exercised.
    const bytes = await Promise.all(layout.parts.map((p) => readFile(p.uri)));
    const midLine = planShards(layout, 8)
      .flat()
      .filter((p) => layout.parts[p.part]!.format === 'csv' && p.start > layout.parts[p.part]!.dataOffset && bytes[p.part]![p.start - 1] !== 10);
    expect(midLine.length).toBeGreaterThan(0);
  });

  it('balances shards over bytes and keeps each indivisible unit whole', () => {
    // Prepare: a CSV part, a binary part of 100 rows and a gzip part, without reading anything.
    const layout = {
      uri: 'x',
      columns: ['a', 'b'],
      featureNames: ['a', 'b'],
      bytes: 0,
      parts: [
        { name: 'p0', uri: 'p0', format: 'csv' as const, bytes: 1010, dataOffset: 10, firstLine: 2, hasHeader: true },
        { name: 'p1', uri: 'p1', format: 'binary' as const, bytes: 864, rows: 100, dataOffset: 64, firstLine: 1 },
        { name: 'p2', uri: 'p2', format: 'csv.gz' as const, bytes: 200, dataOffset: 0, firstLine: 1 },
      ],
    };

    // Act
    const plan = planShards(layout, 4);

    // Assess: 2000 weighted bytes (1000 of CSV data, 100 rows × 8, 200), 500 per shard; row r goes where its middle byte is.
    expect(plan).toEqual([
      [{ part: 0, start: 10, end: 510 }],
      [{ part: 0, start: 510, end: 1010 }],
      [{ part: 1, start: 0, end: 62 }],
      [
        { part: 1, start: 62, end: 100 },
        { part: 2, start: 0, end: 200 },
      ],
    ]);
  });

  it('refuses parts whose columns differ, naming both parts', async () => {
    // Prepare
    await mkdir(join(dir, 'set'));
    await writeFile(join(dir, 'set', 'a.csv'), 'x,y\n1,2\n');
    await writeFile(join(dir, 'set', 'b.csv'), 'x,z\n1,2\n');
    await writeFile(join(dir, 'set', 'c.csv'), '1,2,3\n');

    // Act
    const differ = dataError(await new FileDatasetSource().describe({ uri: join(dir, 'set') }).catch((e: unknown) => e));
    await rm(join(dir, 'set', 'b.csv'));
    const count = dataError(await new FileDatasetSource().describe({ uri: join(dir, 'set') }).catch((e: unknown) => e));

    // Assess
    expect(differ.message).toBe(`${join(dir, 'set', 'b.csv')}: columns x,z differ from ${join(dir, 'set', 'a.csv')}'s x,y`);
    expect(count.message).toBe(`${join(dir, 'set', 'c.csv')}: has 3 columns where ${join(dir, 'set', 'a.csv')} has 2`);
  });

  it('names the part and the line of a bad field, or the byte its line starts at in the middle of a part', async () => {
    // Prepare
    await mkdir(join(dir, 'set'));
    const good = rows(40, 2);
    await writeFile(join(dir, 'set', 'part-00001.csv'), csv(good));
    const text = csv(good).split('\n');
    text[31] = text[31]!.replace(/^[^,]+/, 'oops');
    await writeFile(join(dir, 'set', 'part-00003.csv'), text.join('\n'));
    const source = new FileDatasetSource();
    const layout = await source.describe({ uri: join(dir, 'set'), labelColumn: 'y' });
    const bad = join(dir, 'set', 'part-00003.csv');
    const lineStart = Buffer.byteLength(text.slice(0, 31).map((l) => `${l}\n`).join(''));

    // Act
    const whole = dataError(await source.loadShard(layout, 0, 1).catch((e: unknown) => e));
    const shards = await Promise.all([0, 1, 2, 3].map((s) => source.loadShard(layout, s, 4).catch((e: unknown) => e)));
    const failed = shards.filter((s) => s instanceof Error).map(dataError);

    // Assess
    expect(whole.message).toBe(`${bad}: row 32, field "a": "oops" is not a number`);
    expect(whole.location).toEqual({ part: 1, pieceStart: layout.parts[1]!.dataOffset, lineInPiece: 30, field: 'a' });
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toBe(`${bad}: line at byte ${lineStart}, field "a": "oops" is not a number`);
    expect(failed[0]!.location!.part).toBe(1);
  });
});
