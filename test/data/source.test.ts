import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import { classLabelProblem } from '../../src/data/labels.js';
import type { DatasetRef } from '../../src/data/types.js';
import { DataError } from '../../src/errors.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bspml-source-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The data set as one shard: describe, then load, as the preparation round does with W = 1. */
async function loadWhole(source: FileDatasetSource, ref: DatasetRef) {
  return source.loadShard(await source.describe(ref), 0, 1, { labelRule: classLabelProblem });
}

/** Row i holds features (i, 10·i) and label i mod 2, so every value tells which row it came from. */
async function writeRows(rows: number): Promise<string> {
  const lines = ['i,ten,y'];
  for (let i = 0; i < rows; i++) lines.push(`${i},${10 * i},${i % 2}`);
  const path = join(dir, 'rows.csv');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

describe('FileDatasetSource', () => {
  it('splits the rows into shards by bytes that partition them exactly and in order, labels following their rows', async () => {
    // Prepare
    const path = await writeRows(11);
    const source = new FileDatasetSource();
    const layout = await source.describe({ uri: path, labelColumn: 'y' });

    // Act
    const shards = await Promise.all([0, 1, 2, 3].map((s) => source.loadShard(layout, s, 4)));

    // Assess
    const seen: number[] = [];
    for (const shard of shards) {
      expect(shard.shards).toBe(4);
      expect(shard.dims).toBe(2);
      expect(shard.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(shard.features.buffer).toBe(shard.buffer);
      expect(shard.labels!.buffer).toBe(shard.buffer);
      // A growable buffer may end up to one growth step larger than the rows.
      expect(shard.buffer.byteLength).toBeGreaterThanOrEqual(shard.rows * 3 * 4);
      expect(shard.labels!.byteOffset).toBe(shard.rows * 2 * 4);
      expect(shard.pieces.reduce((n, p) => n + p.rows, 0)).toBe(shard.rows);
      for (let r = 0; r < shard.rows; r++) {
        const row = shard.features[r * 2]!;
        expect(shard.features[r * 2 + 1]).toBe(10 * row);
        expect(shard.labels![r]).toBe(row % 2);
        seen.push(row);
      }
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Math.max(...shards.map((s) => s.rows)) - Math.min(...shards.map((s) => s.rows))).toBeLessThanOrEqual(2);
  });

  it('gives each shard its own buffer', async () => {
    // Prepare
    const path = await writeRows(4);
    const source = new FileDatasetSource();
    const layout = await source.describe({ uri: path });

    // Act
    const a = await source.loadShard(layout, 0, 2);
    const b = await source.loadShard(layout, 0, 2);
    a.features[0] = 99;

    // Assess
    expect(a.buffer).not.toBe(b.buffer);
    expect(b.features[0]).toBe(0);
    expect(a.labels).toBeUndefined();
    expect(a.dims).toBe(3);
  });

  it('describes a file afresh each time: a missing file that appears later loads', async () => {
    // Prepare
    const path = join(dir, 'late.csv');
    const source = new FileDatasetSource();
    const first = await loadWhole(source, { uri: path }).then(
      () => undefined,
      (e: unknown) => e,
    );

    // Act
    await writeFile(path, 'a\n1\n2\n');
    const data = await loadWhole(source, { uri: path });

    // Assess
    expect(first).toBeInstanceOf(DataError);
    expect((first as DataError).code).toBe('E_DATA');
    expect((first as DataError).message).toMatch(/^.*late\.csv: cannot read file: ENOENT: no such file or directory/);
    expect(Array.from(data.features)).toEqual([1, 2]);
  });

  it('names the data set by its uri in validation errors', async () => {
    // Prepare
    const path = join(dir, 'labels.csv');
    await writeFile(path, 'a,y\n1,0\n2,3.5\n');
    const source = new FileDatasetSource();

    // Act
    const err = await loadWhole(source, { uri: path, labelColumn: 'y' }).then(
      () => undefined,
      (e: unknown) => e as DataError,
    );

    // Assess
    expect(err).toBeInstanceOf(DataError);
    expect(err!.code).toBe('E_DATA');
    expect(err!.message).toBe(`${path}: row 3, field "y": label 3.5 is not a class: labels must be integers 0 to 999`);
  });

  it('accepts file: URLs and refuses s3 URIs', async () => {
    // Prepare
    const path = await writeRows(3);
    const source = new FileDatasetSource();

    // Act
    const data = await loadWhole(source, { uri: pathToFileURL(path).href, labelColumn: 'last' });
    const err = await loadWhole(source, { uri: 's3://bucket/rows.csv' }).then(
      () => undefined,
      (e: unknown) => e as DataError,
    );

    // Assess
    expect(data.rows).toBe(3);
    expect(Array.from(data.labels!)).toEqual([0, 1, 0]);
    expect(err).toBeInstanceOf(DataError);
    expect(err!.code).toBe('E_DATA');
    expect(err!.message).toBe('s3://bucket/rows.csv: FileDatasetSource reads local files; an s3:// URI needs the S3 dataset source');
  });

  it('rejects a shard that does not exist', async () => {
    const source = new FileDatasetSource();
    await writeFile(join(dir, 'x.csv'), 'a\n1\n');
    const layout = await source.describe({ uri: join(dir, 'x.csv') });
    await expect(source.loadShard(layout, 2, 2)).rejects.toThrow(new RangeError('shard 2 of 2 does not exist'));
  });
});
