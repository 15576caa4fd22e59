import { DataError } from '../../errors.js';

/*
 * The longest CSV line a reader holds (issue 20 defect 5): a file that is one enormous line (a
 * .csv.gz expanding to a 600 MB line, a binary file named .csv) would otherwise be gathered whole
 * before anything can be said about it: minutes, and gigabytes of memory. 8 MiB is a row of over
 * 500,000 float32 values written in full; BSPML_MAX_LINE_BYTES lifts it (or lowers it).
 */

export const DEFAULT_MAX_LINE_BYTES = 8 << 20;

export function maxLineBytes(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.BSPML_MAX_LINE_BYTES === undefined ? NaN : Number(env.BSPML_MAX_LINE_BYTES);
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_MAX_LINE_BYTES;
}

/** The error for a line past the limit, at `where` (its row, or the byte where it starts). */
export function lineTooLong(name: string, limit: number, where: { row?: number; byte?: number }): DataError {
  return new DataError(name, `the line is longer than ${limit.toLocaleString('en-US')} bytes, the limit of a CSV line (BSPML_MAX_LINE_BYTES; raise it to read longer lines): is this a CSV of numbers?`, where);
}
