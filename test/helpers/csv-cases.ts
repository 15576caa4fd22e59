import fc from 'fast-check';

/* The pieces of the random CSV files the split-rule property tests write. */

/** 1..3 columns, a header or not, a final newline or not. */
export const csvShape = { cols: fc.integer({ min: 1, max: 3 }), header: fc.boolean(), trailing: fc.boolean() };

/** A line: numbers of varied width (3, of which the first `cols` are used), LF or CRLF, maybe a blank line after it. */
export const csvLine = {
  values: fc.array(fc.oneof(fc.integer({ min: -99999, max: 99999 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), { minLength: 3, maxLength: 3 }),
  crlf: fc.boolean(),
  blankAfter: fc.boolean(),
};
