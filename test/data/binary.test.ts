import { describe, expect, it } from 'vitest';
import {
  BINARY_PREAMBLE_BYTES,
  binaryHeader,
  binaryHeaderLength,
  binaryLayout,
  decodeBinary,
  decodeBinaryRows,
  encodeBinary,
  isBinary,
} from '../../src/data/formats/binary.js';
import type { Table } from '../../src/data/table.js';
import { DataError } from '../../src/errors.js';
import { dataError } from '../helpers/errors.js';


function sample(): Table {
  return {
    columns: ['a', 'b', 'c'],
    rows: 4,
    cols: 3,
    values: Float32Array.from([1, 2, 3, 4.5, -5, 0.1, 7, 8, 9, -0, 1e-45, 3e38]),
    hasHeader: true,
    firstLine: 1,
  };
}

/** Writes a u32 into the header of an encoded file, to build corrupt inputs. */
function patchU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

function patchF32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setFloat32(offset, value, true);
  return copy;
}

describe('binary format', () => {
  it('lays out magic, version, sizes, names, padding and little-endian float32 rows', () => {
    // Prepare
    const table = sample();
    const names = '["a","b","c"]'; // 13 bytes, so 3 bytes of padding

    // Act
    const bytes = encodeBinary(table);

    // Assess
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('BSPMLF32');
    expect(view.getUint32(8, true)).toBe(1);
    expect(view.getUint32(12, true)).toBe(4);
    expect(view.getUint32(16, true)).toBe(3);
    expect(view.getUint32(20, true)).toBe(names.length);
    expect(new TextDecoder().decode(bytes.subarray(24, 24 + names.length))).toBe(names);
    expect(Array.from(bytes.subarray(37, 40))).toEqual([0, 0, 0]);
    expect(bytes.length).toBe(40 + 12 * 4);
    expect(view.getFloat32(40, true)).toBe(1);
    expect(view.getFloat32(40 + 3 * 4, true)).toBe(4.5);
    expect(view.getFloat32(40 + 11 * 4, true)).toBe(Math.fround(3e38));
  });

  it('decodes what it encodes, bit for bit', () => {
    // Prepare
    const table = sample();

    // Act
    const back = decodeBinary(encodeBinary(table), 'f.bin');

    // Assess
    expect(back).toEqual(table);
    expect(Object.is(back.values[9], -0)).toBe(true);
  });

  it('decodes input that starts at an offset not divisible by 4', () => {
    // Prepare
    const encoded = encodeBinary(sample());
    const holder = new Uint8Array(encoded.length + 1);
    holder.set(encoded, 1);

    // Act
    const back = decodeBinary(holder.subarray(1), 'f.bin');

    // Assess
    expect(Array.from(back.values)).toEqual(Array.from(sample().values));
  });

  it('encodes a table whose values are a view into a larger buffer', () => {
    // Prepare
    const backing = Float32Array.from([99, 1, 2, 3, 4, 99]);
    const table: Table = { columns: ['p', 'q'], rows: 2, cols: 2, values: backing.subarray(1, 5), hasHeader: true, firstLine: 1 };

    // Act
    const back = decodeBinary(encodeBinary(table), 'f.bin');

    // Assess
    expect(Array.from(back.values)).toEqual([1, 2, 3, 4]);
  });

  it('tells binary from CSV by the magic bytes', () => {
    expect(isBinary(encodeBinary(sample()))).toBe(true);
    expect(isBinary(new TextEncoder().encode('a,b\n1,2\n'))).toBe(false);
    expect(isBinary(new TextEncoder().encode('BSPML'))).toBe(false);
  });

  it('gives the header and row offsets a ranged read needs', () => {
    // Prepare
    const bytes = encodeBinary(sample());

    // Act
    const headerLength = binaryHeaderLength(bytes.subarray(0, BINARY_PREAMBLE_BYTES), 'f.bin');
    const header = binaryHeader(bytes.subarray(0, headerLength), 'f.bin');
    const layout = binaryLayout(header);
    const range = layout.byteRange(1, 3);
    const rows = decodeBinaryRows(header, bytes.subarray(range.start, range.end), 1, 'f.bin');

    // Assess
    expect(headerLength).toBe(40);
    expect(header).toEqual({ rows: 4, cols: 3, columns: ['a', 'b', 'c'], dataOffset: 40 });
    expect(layout.rowBytes).toBe(12);
    expect(layout.totalBytes).toBe(bytes.length);
    expect(layout.rowOffset(0)).toBe(40);
    expect(layout.rowOffset(4)).toBe(88);
    expect(range).toEqual({ start: 52, end: 76 });
    expect(Array.from(rows)).toEqual(Array.from(sample().values.subarray(3, 9)));
    expect(() => layout.rowOffset(5)).toThrow(RangeError);
  });

  describe('errors', () => {
    it('rejects a file without the magic', () => {
      const err = dataError(() => decodeBinary(new TextEncoder().encode('BSPMLF64........................'), 'f.bin'));
      expect(err.message).toBe('f.bin: not a BSPMLF32 file (bad magic)');
    });

    it('rejects another version', () => {
      const err = dataError(() => decodeBinary(patchU32(encodeBinary(sample()), 8, 2), 'f.bin'));
      expect(err.message).toBe('f.bin: unsupported format version 2 (this reader knows 1)');
    });

    it('rejects a file whose length does not match its rows and columns', () => {
      const bytes = encodeBinary(sample());
      expect(dataError(() => decodeBinary(bytes.subarray(0, bytes.length - 4), 'f.bin')).message).toBe(
        'f.bin: expected 88 bytes for 4 rows × 3 columns, found 84',
      );
      expect(dataError(() => decodeBinary(patchU32(bytes, 12, 5), 'f.bin')).message).toBe(
        'f.bin: expected 100 bytes for 5 rows × 3 columns, found 88',
      );
    });

    it('rejects a header cut short', () => {
      const bytes = encodeBinary(sample());
      expect(dataError(() => decodeBinary(bytes.subarray(0, 20), 'f.bin')).message).toBe(
        'f.bin: truncated header: 20 bytes, need at least 24',
      );
      expect(dataError(() => decodeBinary(bytes.subarray(0, 30), 'f.bin')).message).toBe(
        'f.bin: truncated header: the column names need 40 bytes, found 30',
      );
    });

    it('rejects a name count that differs from the column count', () => {
      // Prepare: two columns of data under three names.
      const table: Table = { columns: ['a', 'b'], rows: 1, cols: 2, values: Float32Array.from([1, 2]), hasHeader: true, firstLine: 1 };
      const bytes = patchU32(encodeBinary(table), 16, 1);

      // Act
      const err = dataError(() => decodeBinary(bytes, 'f.bin'));

      // Assess
      expect(err.message).toBe('f.bin: header has 2 column names for 1 columns');
    });

    it('rejects names that are not a JSON array of strings', () => {
      const table: Table = { columns: ['a', 'b'], rows: 1, cols: 2, values: Float32Array.from([1, 2]), hasHeader: true, firstLine: 1 };
      const bytes = encodeBinary(table);
      bytes.set(new TextEncoder().encode('["a",222]'), 24); // same length as ["a","b"]
      expect(dataError(() => decodeBinary(bytes, 'f.bin')).message).toBe('f.bin: column names must be a JSON array of strings');
      bytes.set(new TextEncoder().encode('["a" "b"]'), 24);
      expect(dataError(() => decodeBinary(bytes, 'f.bin')).message).toMatch(/^f\.bin: column names are not valid UTF-8 JSON: /);
    });

    it('rejects duplicate names', () => {
      const table: Table = { columns: ['a', 'a'], rows: 1, cols: 2, values: Float32Array.from([1, 2]), hasHeader: true, firstLine: 1 };
      expect(dataError(() => decodeBinary(encodeBinary(table), 'f.bin')).message).toBe(
        'f.bin: row 1, field "a": duplicate column name',
      );
    });

    it('rejects NaN and infinities, naming the 1-based row and the column', () => {
      const bytes = encodeBinary(sample());
      // Row index 1 (the second row), column index 1 ("b").
      expect(dataError(() => decodeBinary(patchF32(bytes, 40 + 4 * 4, NaN), 'f.bin')).message).toBe(
        'f.bin: row 2, field "b": NaN is not a finite number',
      );
      expect(dataError(() => decodeBinary(patchF32(bytes, 40 + 11 * 4, Infinity), 'f.bin')).message).toBe(
        'f.bin: row 4, field "c": Infinity is not a finite number',
      );
      const err = dataError(() => decodeBinary(patchF32(bytes, 40, -Infinity), 'f.bin'));
      expect(err.message).toBe('f.bin: row 1, field "a": -Infinity is not a finite number');
      expect(err.row).toBe(1);
      expect(err.field).toBe('a');
    });

    it('names the row by its place in the whole file when decoding a range', () => {
      const bytes = patchF32(encodeBinary(sample()), 40 + 7 * 4, NaN); // row index 2, column "b"
      const header = binaryHeader(bytes, 'f.bin');
      const { start, end } = binaryLayout(header).byteRange(2, 4);
      expect(dataError(() => decodeBinaryRows(header, bytes.subarray(start, end), 2, 'f.bin')).message).toBe(
        'f.bin: row 3, field "b": NaN is not a finite number',
      );
    });

    it('rejects a file with no rows', () => {
      const table: Table = { columns: ['a'], rows: 0, cols: 1, values: new Float32Array(0), hasHeader: true, firstLine: 1 };
      expect(dataError(() => decodeBinary(encodeBinary(table), 'f.bin')).message).toBe('f.bin: no data rows');
    });
  });
});
