import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatCsv } from '../../src/data/formats/csv-write.js';
import { generateClassification } from '../../src/data/generate.js';
import { readTable } from '../../src/data/sources/load.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';

const tempDir = useTempDirs('bspml-convert-');

describe('bspml gen and convert', () => {
  it('gen streams in batches and writes what the whole-table formatter wrote', async () => {
    // Prepare: more rows than one batch of 65,536.
    const dir = await tempDir();
    const out = join(dir, 'c.csv');

    // Act
    const result = await runBspml(['gen', 'classification', '--rows', '70000', '--dims', '2', '--seed', '7', '--out', out]);

    // Assess
    expect(result.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(formatCsv(generateClassification({ rows: 70000, dims: 2, seed: 7 }).table));
    expect(await readdir(dir)).toEqual(['c.csv']);
  });

  it('converts CSV to Parquet, binary and csv.gz and back to the same CSV bytes', async () => {
    // Prepare
    const dir = await tempDir();
    const csv = join(dir, 'a.csv');
    expect((await runBspml(['gen', 'blobs', '--rows', '3000', '--dims', '3', '--out', csv])).code).toBe(0);

    // Act
    const steps = [
      ['a.csv', 'a.parquet'],
      ['a.parquet', 'a.bin'],
      ['a.bin', 'a.csv.gz'],
      ['a.csv.gz', 'b.csv'],
    ];
    const results = [];
    for (const [from, to] of steps) results.push(await runBspml(['convert', join(dir, from!), join(dir, to!)]));

    // Assess
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(results[0]!.stderr).toBe(`wrote ${join(dir, 'a.parquet')}: 3000 rows × 3 columns (Parquet) from 1 part\n`);
    expect(await readFile(join(dir, 'b.csv'), 'utf8')).toBe(await readFile(csv, 'utf8'));
    const parquet = await readTable(join(dir, 'a.parquet'));
    expect(parquet.columns).toEqual(['x0', 'x1', 'x2']);
    expect(Array.from(parquet.values)).toEqual(Array.from((await readTable(csv)).values));
  });

  it('joins a directory of parts into one file, and leaves no file behind when a part is bad', async () => {
    // Prepare
    const dir = await tempDir();
    await mkdir(join(dir, 'parts'));
    await writeFile(join(dir, 'parts', 'p1.csv'), 'a,b\n1,2\n3,4\n');
    await writeFile(join(dir, 'parts', 'p2.csv'), 'a,b\n5,6\n');
    await writeFile(join(dir, 'parts', '_SUCCESS'), '');

    // Act
    const joined = await runBspml(['convert', join(dir, 'parts'), join(dir, 'all.csv')]);
    await writeFile(join(dir, 'parts', 'p3.csv'), 'a,b\n7,x\n');
    const bad = await runBspml(['convert', join(dir, 'parts'), join(dir, 'bad.parquet')]);

    // Assess
    expect(joined.code).toBe(0);
    expect(await readFile(join(dir, 'all.csv'), 'utf8')).toBe('a,b\n1,2\n3,4\n5,6\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`bspml: error: ${join(dir, 'parts', 'p3.csv')}: row 2, field "b": "x" is not a number\n`);
    expect((await readdir(dir)).sort()).toEqual(['all.csv', 'parts']);
  });
});
