import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsvBlock } from '../../src/data/formats/csv-blocks.js';
import { parseFeatureBlock } from '../../src/data/formats/csv.js';

/*
 * Batch predictions' fast path for a block (src/data/formats/csv.ts parseFeatureBlock: each row's
 * features straight into the model's order, columns read past skipped) must give exactly what the
 * general block parser gives, reordered: the same float32 values, rows and lines; and where the
 * general parser finds a problem (a bad value, a wrong number of fields), the fast path must give
 * up (undefined), so that the general parser's problem is the one reported.
 */

const COLS = 5;
/** Columns 1 and 3 are read past (an id, a label); the model's features are columns 4, 0, 2 in that order. */
const SKIP = [1, 3];
const MODEL_COLUMNS = [4, 0, 2];

function slots(): Int32Array {
  const slot = new Int32Array(COLS).fill(-1);
  MODEL_COLUMNS.forEach((c, j) => (slot[c] = j));
  return slot;
}

const field = fc.oneof(
  fc.integer({ min: -99999, max: 99999 }).map(String),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(String),
  fc.constantFrom('0', '1e-7', ' 2.5 ', '+3', '-0', '12345678901234567890'),
  // Unsigned integers, the fast path's own (up to nine digits; float32 rounds those above 2^24), and
  // its edges: leading zeros, ten or more digits, a space or a sign before, a space after.
  fc.bigInt({ min: 0n, max: 999_999_999_999n }).map(String),
  fc.integer({ min: 0, max: 999_999_999 }).map((n) => `00${n}`),
  fc.constantFrom('16777217', '16777219', '999999999', '1000000000', '0000000001', ' 7', '7 ', '-7', '+7', '255'),
);
const line = fc.record({
  fields: fc.array(field, { minLength: COLS, maxLength: COLS }),
  crlf: fc.boolean(),
  blankAfter: fc.boolean(),
  // Now and then a line that is not plain: a bad value, one field too few or too many.
  defect: fc.constantFrom(undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'value', 'fewer', 'more'),
});

function blockText(lines: { fields: string[]; crlf: boolean; blankAfter: boolean; defect: string | undefined }[], trailing: boolean): string {
  const text = lines
    .map(({ fields, crlf, blankAfter, defect }) => {
      const f = [...fields];
      if (defect === 'value') f[MODEL_COLUMNS[1]!] = '4x';
      if (defect === 'fewer') f.pop();
      if (defect === 'more') f.push('7');
      const end = crlf ? '\r\n' : '\n';
      return `${f.join(',')}${end}${blankAfter ? ` ${end}` : ''}`;
    })
    .join('');
  return trailing ? text : text.replace(/\r?\n$/, '');
}

describe('the features of a block, straight into the model order', () => {
  it('are the general parser’s values, rows and lines, or nothing where it finds a problem', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), (lines, trailing) => {
        // Prepare
        const bytes = new TextEncoder().encode(blockText(lines, trailing));
        const columns = Array.from({ length: COLS }, (_, c) => `c${c}`);
        const x = new Float32Array(64 * MODEL_COLUMNS.length);

        // Act
        const general = parseCsvBlock({ name: 'b.csv', part: 0, columns, skip: SKIP, bytes: bytes.slice(), blockStart: 0 });
        const fast = parseFeatureBlock(bytes, COLS, slots(), MODEL_COLUMNS.length, x, 1 << 20);

        // Assess
        if (general.problem) {
          expect(fast).toBeUndefined();
          return;
        }
        expect(fast).toEqual({ rows: general.rows, lines: general.lines });
        // The general parser keeps the features in file order (columns 0, 2, 4).
        const fileOrder = [0, 2, 4];
        const expected = new Float32Array(general.rows * MODEL_COLUMNS.length);
        for (let r = 0; r < general.rows; r++) {
          MODEL_COLUMNS.forEach((c, j) => (expected[r * MODEL_COLUMNS.length + j] = general.out.features[r * 3 + fileOrder.indexOf(c)]!));
        }
        expect(Array.from(x.subarray(0, general.rows * MODEL_COLUMNS.length))).toEqual(Array.from(expected));
      }),
      { numRuns: 300 },
    );
  });

  it('give up on a line longer than the limit, and on more rows than the room given', () => {
    // Prepare
    const bytes = new TextEncoder().encode('1,2,3,4,5\n6,7,8,9,10\n');

    // Act
    const tooLong = parseFeatureBlock(bytes, COLS, slots(), 3, new Float32Array(6), 5);
    const noRoom = parseFeatureBlock(bytes, COLS, slots(), 3, new Float32Array(5), 1 << 20);
    const fits = parseFeatureBlock(bytes, COLS, slots(), 3, new Float32Array(6), 1 << 20);

    // Assess
    expect(tooLong).toBeUndefined();
    expect(noRoom).toBeUndefined();
    expect(fits).toEqual({ rows: 2, lines: 2 });
  });
});
