import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBinary } from '../../src/data/formats/binary.js';
import { parseCsv } from '../../src/data/formats/csv.js';
import { readTable, toTrainingData } from '../../src/data/sources/load.js';
import type { Table } from '../../src/data/table.js';
import { DataError } from '../../src/errors.js';
import { dataError } from '../helpers/errors.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bspml-load-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<DataError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  expect((err as DataError).code).toBe('E_DATA');
  return err as DataError;
}


describe('readTable', () => {
  it('reads a CSV file', async () => {
    // Prepare
    const path = join(dir, 'data.csv');
    await writeFile(path, 'a,b\n1,2\n3,4\n');

    // Act
    const table = await readTable(path);

    // Assess
    expect(table.columns).toEqual(['a', 'b']);
    expect(Array.from(table.values)).toEqual([1, 2, 3, 4]);
    expect(table.firstLine).toBe(2);
  });

  it('recognises the binary format by its magic, whatever the file is called', async () => {
    // Prepare
    const original: Table = { columns: ['u', 'v'], rows: 2, cols: 2, values: Float32Array.from([0.5, -1, 2, 3]), hasHeader: true, firstLine: 1 };
    const path = join(dir, 'data.csv');
    await writeFile(path, encodeBinary(original));

    // Act
    const table = await readTable(path);

    // Assess
    expect(table).toEqual(original);
  });

  it('names the file and keeps the cause when the file cannot be read', async () => {
    // Prepare
    const path = join(dir, 'missing.csv');

    // Act
    const err = await rejection(readTable(path));

    // Assess
    expect(err.message).toBe(`${path}: cannot read file: ENOENT: no such file or directory, stat '${path}'`);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('passes parse errors through with the file name', async () => {
    // Prepare
    const path = join(dir, 'bad.csv');
    await writeFile(path, 'a,b\n1,2\n3,x\n');

    // Act
    const err = await rejection(readTable(path));

    // Assess
    expect(err.message).toBe(`${path}: row 3, field "b": "x" is not a number`);
  });
});

describe('toTrainingData', () => {
  const csv = 'a,y,b\n1,0,2\n3,1,4\n5,1,6\n';

  it('makes every column a feature when there is no label column', () => {
    // Prepare
    const table = parseCsv(csv, 'f.csv');

    // Act
    const data = toTrainingData(table, 'f.csv');

    // Assess
    expect(data).toEqual({
      source: 'f.csv',
      rows: 3,
      dims: 3,
      features: Float32Array.from([1, 0, 2, 3, 1, 4, 5, 1, 6]),
      featureNames: ['a', 'y', 'b'],
    });
    expect(data.labels).toBeUndefined();
  });

  it('takes the label column by name, from the middle of the row', () => {
    // Prepare
    const table = parseCsv(csv, 'f.csv');

    // Act
    const data = toTrainingData(table, 'f.csv', 'y');

    // Assess
    expect(data.dims).toBe(2);
    expect(Array.from(data.features)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(data.labels!)).toEqual([0, 1, 1]);
    expect(data.featureNames).toEqual(['a', 'b']);
    expect(data.labelName).toBe('y');
  });

  it('takes the label column by 0-based index or as "last"', () => {
    // Prepare
    const table = parseCsv('1,2,0\n3,4,1\n', 'f.csv');

    // Act
    const byIndex = toTrainingData(table, 'f.csv', '2');
    const byLast = toTrainingData(table, 'f.csv', 'last');
    const first = toTrainingData(parseCsv('0,5\n1,6\n', 'g.csv'), 'g.csv', '0');

    // Assess
    expect(byIndex).toEqual(byLast);
    expect(Array.from(byLast.features)).toEqual([1, 2, 3, 4]);
    expect(Array.from(byLast.labels!)).toEqual([0, 1]);
    expect(byLast.featureNames).toEqual(['x0', 'x1']);
    expect(byLast.labelName).toBe('x2');
    expect(Array.from(first.features)).toEqual([5, 6]);
    expect(Array.from(first.labels!)).toEqual([0, 1]);
  });

  it('prefers a column named like an index over the index', () => {
    // Prepare: column "1" is at index 0; index 1 is "a".
    const table = parseCsv('"1",a\n0,7\n1,8\n', 'f.csv');

    // Act
    const data = toTrainingData(table, 'f.csv', '1');

    // Assess
    expect(data.labelName).toBe('1');
    expect(Array.from(data.features)).toEqual([7, 8]);
  });

  it('rejects an unknown label column, listing the columns', () => {
    const table = parseCsv(csv, 'f.csv');
    expect(dataError(() => toTrainingData(table, 'f.csv', 'z')).message).toBe(
      'f.csv: field "z": unknown label column; the columns are a, y, b',
    );
    const err = dataError(() => toTrainingData(table, 'f.csv', '3'));
    expect(err.message).toBe('f.csv: field "3": unknown label column; the columns are a, y, b');
    expect(err.field).toBe('3');
  });

  it('takes class labels 0, 1, 2, … and rejects others, naming the line of a CSV with a header', () => {
    // Prepare: the fourth data row is line 5.
    const table = parseCsv('a,y\n1,0\n2,1\n3,2\n4,1000\n', 'f.csv');
    const classes = parseCsv('a,y\n1,0\n2,1\n3,2\n4,999\n', 'g.csv');

    // Act
    const err = dataError(() => toTrainingData(table, 'f.csv', 'y'));
    const data = toTrainingData(classes, 'g.csv', 'y');

    // Assess
    expect(err.message).toBe('f.csv: row 5, field "y": label 1000 is not a class: labels must be integers 0 to 999');
    expect(err.row).toBe(5);
    expect(Array.from(data.labels!)).toEqual([0, 1, 2, 999]);
  });

  it('names the line of a CSV without a header, and prints fractions as written', () => {
    const table = parseCsv('1,0\n2,0.1\n', 'f.csv');
    expect(dataError(() => toTrainingData(table, 'f.csv', 'last')).message).toBe(
      'f.csv: row 2, field "x1": label 0.1 is not a class: labels must be integers 0 to 999',
    );
  });

  it('names the 1-based row of a binary file', () => {
    // Prepare
    const original: Table = { columns: ['a', 'y'], rows: 3, cols: 2, values: Float32Array.from([1, 0, 2, 1, 3, -1]), hasHeader: true, firstLine: 1 };

    // Act
    const err = dataError(() => toTrainingData(original, 'f.bin', 'y'));

    // Assess
    expect(err.message).toBe('f.bin: row 3, field "y": label -1 is not a class: labels must be integers 0 to 999');
  });

  it('requires a feature column besides the label', () => {
    const table = parseCsv('y\n0\n1\n', 'f.csv');
    expect(dataError(() => toTrainingData(table, 'f.csv', 'y')).message).toBe(
      'f.csv: field "y": no feature columns: the only column is the label',
    );
  });
});
