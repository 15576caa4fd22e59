import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { readTable } from '../../src/data/sources/load.js';
import { DEFAULT_MAX_LINE_BYTES } from '../../src/data/formats/line-limit.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Issue 20 defect 5: a CSV line is held whole before it is parsed, so a file that is one enormous
 * line (a .csv.gz expanding to 600 MB) was gathered for minutes and gigabytes. Lines are capped
 * (8 MiB by default, BSPML_MAX_LINE_BYTES): past it the read fails at once, naming the file, the
 * line, the limit and the variable that lifts it.
 */

const saved = process.env.BSPML_MAX_LINE_BYTES;
afterEach(() => {
  if (saved === undefined) delete process.env.BSPML_MAX_LINE_BYTES;
  else process.env.BSPML_MAX_LINE_BYTES = saved;
});

/** A header of `cols` names and `rows` rows of `cols` ones: each data line is 2 × cols bytes. */
function wide(cols: number, rows: number): string {
  const names = Array.from({ length: cols }, (_, c) => `c${c}`).join(',');
  const row = Array.from({ length: cols }, () => '1').join(',');
  return `${names}\n${`${row}\n`.repeat(rows)}`;
}

describe('issue 20 defect 5: the length of a CSV line is capped', () => {
  const tempDir = useTempDirs('bspml-lines-');

  it('a .csv.gz whose second line expands past the default limit is refused, naming the row, the limit and BSPML_MAX_LINE_BYTES', async () => {
    // Prepare: a header, then one line just past 8 MiB (it compresses to a few KB).
    const path = join(await tempDir(), 'one-line.csv.gz');
    await writeFile(path, gzipSync(`a,b\n${'1'.repeat(DEFAULT_MAX_LINE_BYTES + 4096)}\n`));

    // Act
    const read = readTable(path);

    // Assess
    await expect(read).rejects.toThrow(`${path}: row 2: the line is longer than 8,388,608 bytes, the limit of a CSV line (BSPML_MAX_LINE_BYTES; raise it to read longer lines): is this a CSV of numbers?`);
  });

  it('the limit is BSPML_MAX_LINE_BYTES: a line past it is refused, raising it reads the file', async () => {
    // Prepare: lines of 2,000 bytes.
    const path = join(await tempDir(), 'wide.csv');
    await writeFile(path, wide(1000, 3));

    // Act
    process.env.BSPML_MAX_LINE_BYTES = '1500';
    const refused = readTable(path);
    await expect(refused).rejects.toThrow(/row 2: the line is longer than 1,500 bytes, the limit of a CSV line \(BSPML_MAX_LINE_BYTES/);
    process.env.BSPML_MAX_LINE_BYTES = '4000';
    const table = await readTable(path);

    // Assess
    expect(table.rows).toBe(3);
    expect(table.cols).toBe(1000);
  });

  it('bspml train (the parallel block reader): exit 1, one line', async () => {
    // Prepare: many short rows, then one long line: the framer sees it after blocks were cut.
    const dir = await tempDir();
    const path = join(dir, 'late.csv');
    await writeFile(path, `a,b,label\n${'1,2,0\n3,4,1\n'.repeat(20_000)}${'9'.repeat(70_000)}\n`);
    process.env.BSPML_MAX_LINE_BYTES = '65536';

    // Act
    const result = await runBspml(['train', 'logreg', '--data', path, '--threads', '2', '--no-progress']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^bspml: error: .*late\.csv: (row 40002|line at byte \d+): the line is longer than 65,536 bytes, the limit of a CSV line \(BSPML_MAX_LINE_BYTES; raise it to read longer lines\): is this a CSV of numbers\?\n$/);
  });
});
