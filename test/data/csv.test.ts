import { describe, expect, it } from 'vitest';
import { formatCsv } from '../../src/data/formats/csv-write.js';
import { parseCsv } from '../../src/data/formats/csv.js';
import { type Table } from '../../src/data/table.js';
import { DataError } from '../../src/errors.js';
import { dataError } from '../helpers/errors.js';


describe('parseCsv', () => {
  it('reads a header and row-major float32 values', () => {
    // Prepare
    const text = 'a,b,c\n1,2,3\n4.5,-6,7e2\n';

    // Act
    const table = parseCsv(text, 'f.csv');

    // Assess
    expect(table.columns).toEqual(['a', 'b', 'c']);
    expect(table.rows).toBe(2);
    expect(table.cols).toBe(3);
    expect(table.hasHeader).toBe(true);
    expect(table.firstLine).toBe(2);
    expect(Array.from(table.values)).toEqual([1, 2, 3, 4.5, -6, 700]);
    expect(table.values.length).toBe(6);
  });

  it('names columns x0.. when the first line is all numbers', () => {
    // Prepare
    const text = '1,2\n3,4';

    // Act
    const table = parseCsv(text, 'f.csv');

    // Assess
    expect(table.columns).toEqual(['x0', 'x1']);
    expect(table.hasHeader).toBe(false);
    expect(table.firstLine).toBe(1);
    expect(Array.from(table.values)).toEqual([1, 2, 3, 4]);
  });

  it('reads unsigned integers as Number() does, rounded to float32, on both sides of nine digits and wherever they end', () => {
    // Prepare: plain integers (leading zeros, past float32's 2^24, nine and ten digits), and
    // fields beside them that only the general path takes (signs, spaces, decimals, exponents)
    const fields = ['0', '7', '007', '255', '16777217', '123456789', '999999999', '1234567890', '98765432109', '-12', '+12', ' 12', '12 ', '1.5', '3e2', '0000000001'];
    const text = `${fields.map((_, i) => `c${i}`).join(',')}\n${fields.join(',')}\n${[...fields].reverse().join(',')}\n`;

    // Act
    const table = parseCsv(text, 'f.csv');

    // Assess
    const expected = fields.map((f) => Math.fround(Number(f)));
    expect(Array.from(table.values.subarray(0, fields.length))).toEqual(expected);
    expect(Array.from(table.values.subarray(fields.length))).toEqual([...expected].reverse());
    expect(table.values[4]).toBe(16777216);
  });

  it('stores values rounded to float32', () => {
    // Prepare
    const text = 'v\n0.1\n';

    // Act
    const table = parseCsv(text, 'f.csv');

    // Assess
    expect(table.values[0]).toBe(Math.fround(0.1));
  });

  it('accepts CRLF, spaces around fields, a byte-order mark and trailing blank lines', () => {
    // Prepare
    const text = '\uFEFF a , b \r\n 1 ,2\r\n3, 4 \r\n\r\n\n  \n';

    // Act
    const table = parseCsv(text, 'f.csv');

    // Assess
    expect(table.columns).toEqual(['a', 'b']);
    expect(table.rows).toBe(2);
    expect(Array.from(table.values)).toEqual([1, 2, 3, 4]);
  });

  it('reads quoted header names, with commas and doubled quotes inside', () => {
    // Prepare
    const text = '"a,1", "say ""hi""" ,"7"\n1,2,3\n';

    // Act
    const table = parseCsv(text, 'f.csv');

    // Assess
    expect(table.columns).toEqual(['a,1', 'say "hi"', '7']);
    expect(table.hasHeader).toBe(true);
    expect(Array.from(table.values)).toEqual([1, 2, 3]);
  });

  it('refuses a first line mixing numbers and names (a data row with a typo is not a header)', () => {
    // Prepare: issue 12 defect 4, `1,x` used to become the header and the row was lost.
    const typo = '1,x\n3,4\n';
    const numericName = 'a,b,7\n1,2,3\n';

    // Act
    const typoError = dataError(() => parseCsv(typo, 'f.csv'));
    const nameError = dataError(() => parseCsv(numericName, 'f.csv'));
    const quoted = parseCsv('a,"7"\n1,2\n', 'f.csv');

    // Assess
    expect(typoError.message).toBe(
      'f.csv: row 1, field "column 2": "x" is not a number, yet other fields of the first line are (a header needs every field a name; a data row every field a number)',
    );
    expect(typoError.row).toBe(1);
    expect(nameError.message).toBe('f.csv: row 1, field "column 3": "7" is a number, yet other fields of the first line are names (quote a numeric column name: "7")');
    expect(quoted.columns).toEqual(['a', '7']);
    expect(Array.from(quoted.values)).toEqual([1, 2]);
  });

  it('reads a single-column file of many rows', () => {
    // Prepare: one column means no commas at all, the case where a naive comma search rescans the file.
    const n = 50_000;
    const text = `v\n${Array.from({ length: n }, (_, i) => String(i)).join('\n')}\n`;

    // Act
    const table = parseCsv(text, 'f.csv');

    // Assess
    expect(table.rows).toBe(n);
    expect(table.values.length).toBe(n);
    expect(table.values[0]).toBe(0);
    expect(table.values[12345]).toBe(12345);
    expect(table.values[n - 1]).toBe(n - 1);
  });

  it('grows its buffer when later rows are shorter than the first', () => {
    // Prepare: the padded first row makes the row estimate far too small.
    const rows = ['1,2' + ' '.repeat(200)];
    for (let i = 1; i < 1000; i++) rows.push(`${i},${-i}`);
    const text = rows.join('\n');

    // Act
    const table = parseCsv(text, 'f.csv');

    // Assess
    expect(table.rows).toBe(1000);
    expect(table.values.length).toBe(2000);
    expect(Array.from(table.values.subarray(0, 4))).toEqual([1, 2, 1, -1]);
    expect(Array.from(table.values.subarray(1998))).toEqual([999, -999]);
  });

  describe('errors name the file, the line and the column', () => {
    it('rejects a row with too few fields, naming the first missing column', () => {
      const err = dataError(() => parseCsv('a,b,c\n1,2,3\n4,5\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 3, field "c": expected 3 fields, found 2');
      expect(err.row).toBe(3);
      expect(err.field).toBe('c');
    });

    it('rejects a row with too many fields', () => {
      const err = dataError(() => parseCsv('1,2\n3,4,5\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 2: expected 2 fields, found 3');
    });

    it('rejects a field that is not a number', () => {
      const err = dataError(() => parseCsv('a,b\n1,2\n3,4\n5,abc\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 4, field "b": "abc" is not a number');
    });

    it('rejects NaN', () => {
      const err = dataError(() => parseCsv('a,b\n1,NaN\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 2, field "b": NaN is not a finite number');
    });

    it('rejects Infinity and -Infinity', () => {
      expect(dataError(() => parseCsv('a,b\nInfinity,1\n', 'f.csv')).message).toBe(
        'f.csv: row 2, field "a": Infinity is not a finite number',
      );
      expect(dataError(() => parseCsv('1,2\n3,-Infinity\n', 'f.csv')).message).toBe(
        'f.csv: row 2, field "x1": -Infinity is not a finite number',
      );
    });

    it('rejects numbers beyond the float32 range, which would be stored as Infinity', () => {
      const err = dataError(() => parseCsv('a\n1e39\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 2, field "a": 1e39 is out of the float32 range');
    });

    it('rejects hexadecimal, octal and binary literals that Number() would accept', () => {
      expect(dataError(() => parseCsv('a,b\n1,0x10\n', 'f.csv')).message).toBe('f.csv: row 2, field "b": "0x10" is not a number');
      expect(dataError(() => parseCsv('a,b\n0o7,1\n', 'f.csv')).message).toBe('f.csv: row 2, field "a": "0o7" is not a number');
      expect(dataError(() => parseCsv('a,b\n1,2\n 0b1 ,1\n', 'f.csv')).message).toBe(
        'f.csv: row 3, field "a": "0b1" is not a number',
      );
    });

    it('rejects an empty field', () => {
      const err = dataError(() => parseCsv('a,b,c\n1,,3\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 2, field "b": empty field is not a number');
    });

    it('skips blank lines between rows, still counting them in line numbers', () => {
      // Skipped, as pandas does: whether a blank line is the last of its part cannot be known by a
      // worker whose range ends there, and the rows must not depend on the number of workers.
      expect(Array.from(parseCsv('a,b\n1,2\n\n3,4\n', 'f.csv').values)).toEqual([1, 2, 3, 4]);
      expect(dataError(() => parseCsv('a\n1\n   \n3\nx\n', 'f.csv')).message).toBe('f.csv: row 5, field "a": "x" is not a number');
    });

    it('rejects an empty file', () => {
      expect(dataError(() => parseCsv('', 'f.csv')).message).toBe('f.csv: no data rows');
      expect(dataError(() => parseCsv('\n\r\n  \n', 'f.csv')).message).toBe('f.csv: no data rows');
    });

    it('rejects a file with only a header', () => {
      const err = dataError(() => parseCsv('a,b\r\n\r\n', 'f.csv'));
      expect(err.message).toBe('f.csv: no data rows (the file has only a header)');
    });

    it('rejects duplicate column names', () => {
      const err = dataError(() => parseCsv('a,b,a\n1,2,3\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 1, field "a": duplicate column name');
    });

    it('rejects an empty column name', () => {
      expect(dataError(() => parseCsv('a,,c\n1,2,3\n', 'f.csv')).message).toBe('f.csv: row 1: column 2 has an empty name');
      expect(dataError(() => parseCsv('a,"  "\n1,2\n', 'f.csv')).message).toBe('f.csv: row 1: column 2 has an empty name');
    });

    it('rejects an unterminated quoted name', () => {
      const err = dataError(() => parseCsv('"a,b\n1,2\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 1: unterminated quoted field (line breaks inside quotes are not supported)');
    });

    it('rejects quoted data fields', () => {
      const err = dataError(() => parseCsv('a\n"1"\n', 'f.csv'));
      expect(err.message).toBe('f.csv: row 2, field "a": "\\"1\\"" is not a number');
    });
  });
});

describe('formatCsv', () => {
  function table(columns: string[], values: number[], hasHeader = true): Table {
    return {
      columns,
      rows: values.length / columns.length,
      cols: columns.length,
      values: Float32Array.from(values),
      hasHeader,
      firstLine: hasHeader ? 2 : 1,
    };
  }

  it('writes the shortest decimals that read back as the same float32', () => {
    // Prepare
    const t = table(['a', 'b'], [0.1, -2.5, 1e-45, 3.4028234663852886e38, 16777217, -0]);

    // Act
    const text = formatCsv(t);

    // Assess
    expect(text).toBe('a,b\n0.1,-2.5\n1e-45,3.4028235e+38\n16777216,-0\n');
    const back = parseCsv(text, 'f.csv');
    expect(back).toEqual(t);
  });

  it('quotes names that would otherwise break the header or read as numbers', () => {
    // Prepare
    const t = table(['1', 'a,b', 'q"', 'plain'], [1, 2, 3, 4]);

    // Act
    const text = formatCsv(t);

    // Assess
    expect(text).toBe('"1","a,b","q""",plain\n1,2,3,4\n');
    expect(parseCsv(text, 'f.csv')).toEqual(t);
  });

  it('writes no header for a table that had none', () => {
    // Prepare
    const t = table(['x0', 'x1'], [1.5, 2, 3, 4.25], false);

    // Act
    const text = formatCsv(t);

    // Assess
    expect(text).toBe('1.5,2\n3,4.25\n');
    expect(parseCsv(text, 'f.csv')).toEqual(t);
  });

  it('round-trips random float32 values bit for bit', () => {
    // Prepare
    const bits = new Uint32Array(3000);
    let s = 12345;
    for (let i = 0; i < bits.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // Exponent kept below all-ones so that every value is finite.
      bits[i] = (s & 0x807fffff) | ((((s >>> 23) & 0xff) % 255) << 23);
    }
    const values = new Float32Array(bits.buffer);
    const t: Table = { columns: ['a', 'b', 'c'], rows: 1000, cols: 3, values, hasHeader: true, firstLine: 2 };

    // Act
    const back = parseCsv(formatCsv(t), 'f.csv');

    // Assess
    expect(new Uint32Array(back.values.buffer, back.values.byteOffset, back.values.length)).toEqual(bits);
  });
});
