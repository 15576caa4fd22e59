import { RowProblem } from './rowProblem.js';
import { formatFloat32 } from './table.js';

/*
 * Columns read as text rather than numbers: a classifier's label (strings, booleans, integers in
 * any range) and, in predict, the columns carried to the output (ids, kept columns). A shard's rows
 * live in float32 shared memory, so a text field is stored as its code in a dictionary of the
 * distinct values met so far (codes 0, 1, … in order of first appearance); the dictionary's keys
 * travel beside the rows (`ShardData.labelKeys`). The preparation round merges the shards' keys into
 * the job's sorted class list, and the first training round rewrites each shard's codes as class
 * indices in place (protocol/classes.ts): no second pass over the file, no string per row kept.
 */

/** How the column's text becomes a key: `label` canonicalises numbers ("1.0" and "1" are one class); `raw` keeps the text (an id "007"). */
export type TextMode = 'label' | 'raw';

/** The most distinct values a float32 code can name exactly. */
const MAX_CODES = 1 << 24;

/** Distinct values of one column, each with its code. */
export class TextDictionary {
  readonly keys: string[] = [];
  private readonly codes = new Map<string, number>();
  /** Codes by the text as read (before canonicalising): most rows repeat a spelling, and skip the work. */
  private readonly spelled = new Map<string, number>();

  constructor(
    readonly column: number,
    readonly mode: TextMode,
    /** Most distinct values allowed, with what to say when there are more. */
    readonly limit: { most: number; why: string } = { most: MAX_CODES, why: 'a float32 code names at most 2^24 values' },
  ) {}

  /** The code of a field's text (as read, unquoted). */
  code(text: string): number {
    const known = this.spelled.get(text);
    if (known !== undefined) return known;
    const key = this.mode === 'label' ? labelKey(text, this.column) : text;
    let code = this.codes.get(key);
    if (code === undefined) {
      if (this.keys.length >= Math.min(this.limit.most, MAX_CODES)) throw new RowProblem(`more than ${this.limit.most} distinct values: ${this.limit.why}`, this.column);
      code = this.keys.length;
      this.keys.push(key);
      this.codes.set(key, code);
    }
    // Spellings are bounded too ("1", "1.0", " 1" …), so an odd column cannot grow the map without end.
    if (this.spelled.size < 4 * Math.min(this.limit.most, MAX_CODES)) this.spelled.set(text, code);
    return code;
  }

  /** The code of a value read as a number (binary and Parquet parts have no text). */
  codeOfNumber(v: number): number {
    return this.code(this.mode === 'label' ? String(v) : formatFloat32(v));
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A label's class key: a number's shortest form (`1.0`, `1` and `1e0` are one class, as pandas
 * reads a numeric column), any other text as it is. An empty field is not a class.
 */
export function labelKey(text: string, column: number): string {
  const s = text.trim();
  if (s === '') throw new RowProblem('empty label (every row needs its class)', column);
  if (NUMBER.test(s)) return String(Number(s));
  return s;
}

/** Whether a class key is a number (then the classes sort as numbers, and the model file stores them as numbers). */
export function isNumericKey(key: string): boolean {
  return NUMBER.test(key) && Number.isFinite(Number(key));
}

/**
 * The classes in the order scikit-learn's `np.unique` gives them: numerically when every class is
 * a number, else by the text's code points (booleans written as False/True sort False first). A
 * model's class i is `sorted[i]`; numbers are stored as numbers, the rest as strings.
 */
export function sortClasses(keys: Iterable<string>): (string | number)[] {
  const all = [...new Set(keys)];
  if (all.every(isNumericKey)) return all.map(Number).sort((a, b) => a - b);
  return all.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The key a stored class has (the inverse of sortClasses' number/string choice). */
export function classKey(c: string | number): string {
  return typeof c === 'number' ? String(c) : c;
}
