import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { readTable } from '../../src/data/sources/load.js';
import { PARQUET_ROW_GROUP } from '../../src/data/formats/write.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { parquetPages, writeParquetTable } from '../helpers/parquet-pages.js';

/*
 * Issue 20 defect 2: a Parquet file whose data pages were corrupted trained and converted
 * silently. Our writer now puts a CRC-32 in every page header, and our reader refuses a page whose
 * bytes do not match it, naming the file, the row group and the column.
 */

const ROWS = PARQUET_ROW_GROUP + 1000; // two row groups

describe('issue 20 defect 2: Parquet page checksums', () => {
  const tempDir = useTempDirs('bspml-crc-');

  it('our writer puts the CRC-32 of its bytes in every page header, and the file reads back the same', async () => {
    // Prepare
    const path = join(await tempDir(), 't.parquet');
    const values = await writeParquetTable(path, ROWS, 3);

    // Act
    const pages = await parquetPages(path);
    const table = await readTable(path);

    // Assess
    expect(new Set(pages.map((p) => p.group))).toEqual(new Set([0, 1]));
    for (const page of pages) expect(page.crc, `${page.column} in row group ${page.group}`).toBe(page.actualCrc);
    expect(table.rows).toBe(ROWS);
    expect(Buffer.from(table.values.buffer, table.values.byteOffset, table.values.byteLength).equals(Buffer.from(values.buffer))).toBe(true);
  });

  it('a flipped byte in a data page of row group 1 is refused, naming the file, the row group and the column', async () => {
    // Prepare
    const path = join(await tempDir(), 't.parquet');
    await writeParquetTable(path, ROWS, 3);
    const page = (await parquetPages(path)).find((p) => p.group === 1 && p.column === 'c2')!;
    const bytes = await readFile(path);
    bytes[(page.bodyStart + page.bodyEnd) >> 1]! ^= 0x10;
    await writeFile(path, bytes);

    // Act
    const read = readTable(path);

    // Assess
    await expect(read).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: row group 1, column "c2": page 0 fails its checksum \\(CRC-32 [0-9a-f]+, header says [0-9a-f]+\\): the file is corrupted$`));
  });

  it('bspml train and convert refuse the corrupted file: one line, exit 1, no output written', async () => {
    // Prepare
    const dir = await tempDir();
    const path = join(dir, 't.parquet');
    await writeParquetTable(path, 3000, 3);
    const page = (await parquetPages(path)).find((p) => p.column === 'c0')!;
    const bytes = await readFile(path);
    bytes[page.bodyStart + 40]! ^= 0x01;
    await writeFile(path, bytes);

    // Act
    const train = await runBspml(['train', 'kmeans', '--k', '2', '--data', path, '--out', join(dir, 'm.json'), '--no-progress']);
    const convert = await runBspml(['convert', path, join(dir, 'c.csv')]);

    // Assess
    for (const result of [train, convert]) {
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/row group 0, column "c0": page 0 fails its checksum .*: the file is corrupted\n$/);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    await expect(readFile(join(dir, 'm.json'))).rejects.toThrow(/ENOENT/);
    await expect(readFile(join(dir, 'c.csv'))).rejects.toThrow(/ENOENT/);
  });

  it('files of other writers without page CRCs still read', async () => {
    // Prepare
    const path = join(await tempDir(), 'plain.parquet');
    await writeFile(path, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'a', data: new Float32Array([1, 2, 3]), type: 'FLOAT' }] })));

    // Act
    const pages = await parquetPages(path);
    const table = await readTable(path);

    // Assess
    expect(pages.every((p) => p.crc === undefined)).toBe(true);
    expect(Array.from(table.values)).toEqual([1, 2, 3]);
  });
});
