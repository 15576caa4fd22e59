import { DataError } from '../../errors.js';
import { lineTooLong, maxLineBytes } from './line-limit.js';
import { RowProblem } from '../rowProblem.js';
import { RowSink, type RowTarget } from '../rows.js';
import { defaultColumnNames, type Table } from '../table.js';
import type { TextDictionary } from '../textColumns.js';

/*
 * CSV of numbers, read as bytes. `describeCsv` reads a part's first line (is it a header?);
 * `CsvPieceParser` parses the lines a piece owns straight from the bytes into a RowSink, so the
 * text is never one string. The split rule: a piece [start, end) of a part owns every line that
 * STARTS inside it. A parser starting mid-part is fed from byte start - 1 and skips to the next
 * line start (if byte start - 1 is a newline, the line starting at `start` is its first); it
 * stops at the first line starting at or after `end`, so it reads past `end` only to finish its
 * last line.
 */

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const COMMA = 44;
const QUOTE = 34;

export interface CsvHead {
  /** Column names from the header, or x0.. for a part without one. */
  columns: string[];
  hasHeader: boolean;
  /** Byte offset of the first data line (after a byte-order mark and the header). */
  dataOffset: number;
  firstLine: number;
}

/**
 * What a part's first line says. A first line is a header only if every field is quoted or is
 * not a number (empty fields aside); all numbers make it data; a mix is an error, for a data line with a typo (`1,x`)
 * must not silently become the header (and lose a row). `head` is the part's first bytes; `whole`
 * says whether it is the whole part (else the first line must end inside it).
 */
export function describeCsv(head: Uint8Array, whole: boolean, name: string): CsvHead {
  const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  let nl = head.indexOf(LF, bom);
  if (nl === -1) {
    if (!whole) throw new DataError(name, `the first line is longer than the ${head.length} bytes read for it`, { row: 1 });
    nl = head.length;
  }
  const content = nl > bom && head[nl - 1] === CR ? nl - 1 : nl;
  const line = new TextDecoder('utf-8').decode(head.subarray(bom, content));
  if (line.trim() === '') {
    if (whole && new TextDecoder().decode(head.subarray(bom)).trim() === '') throw new DataError(name, 'no data rows');
    throw new DataError(name, 'the first line is blank (expected a header or a data row)', { row: 1 });
  }
  const fields = splitFirstLine(line, name);
  const named = fields.map((f) => f.quoted || (f.text !== '' && !looksNumeric(f.text)));
  const numbers = fields.map((f) => !f.quoted && looksNumeric(f.text));
  // Empty fields count for neither: a header with one (an empty name) and a data row with one
  // (an empty value) are refused by what follows, naming the column.
  if (named.some(Boolean) && !numbers.some(Boolean)) {
    const columns = fields.map((f) => f.text);
    checkColumnNames(columns, name);
    return { columns, hasHeader: true, dataOffset: Math.min(nl + 1, head.length), firstLine: 2 };
  }
  if (named.some(Boolean)) {
    const i = named.filter(Boolean).length <= numbers.filter(Boolean).length ? named.indexOf(true) : numbers.indexOf(true);
    const text = fields[i]!.text;
    const detail = named[i]
      ? `${JSON.stringify(text)} is not a number, yet other fields of the first line are (a header needs every field a name; a data row every field a number)`
      : `${JSON.stringify(text)} is a number, yet other fields of the first line are names (quote a numeric column name: "${text}")`;
    throw new DataError(name, detail, { row: 1, field: `column ${i + 1}` });
  }
  return { columns: defaultColumnNames(fields.length), hasHeader: false, dataOffset: bom, firstLine: 1 };
}

export interface CsvPieceOptions {
  /** For messages. */
  name: string;
  part: number;
  columns: string[];
  sink: RowTarget;
  /** The piece's bytes [start, end) in the part; `end` may be Infinity (a gzip part). */
  start: number;
  end: number;
  /** Whether the bytes fed begin at `start - 1` and the first (partial) line is to be skipped. */
  skipFirst: boolean;
  /** The line number of the piece's first line when the piece starts at the part's data start. */
  firstLine?: number;
  /**
   * Per column, when some are not numbers: COLUMN_TEXT columns go through their dictionary in
   * `texts` (the row holds the code), COLUMN_SKIP columns are not parsed at all (an id to drop).
   */
  kinds?: Uint8Array;
  texts?: (TextDictionary | undefined)[];
}

export const COLUMN_NUMBER = 0;
export const COLUMN_TEXT = 1;
export const COLUMN_SKIP = 2;

/** Thrown by the field parser; the piece parser adds where it was. */
class FieldProblem extends Error {}

/** Parses the lines one piece owns, from chunks fed in order. */
export class CsvPieceParser {
  /** Lines owned so far, blank ones included. */
  lines = 0;
  /** True once a line starting at or after `end` was reached: feed no more. */
  done = false;
  private readonly cols: number;
  private readonly row: Float64Array;
  /** Absolute offset in the part of the next byte fed. */
  private offset: number;
  private skipping: boolean;
  /** The start of a line that runs on past the bytes fed so far, in pieces (joined once, when it ends: a long line is not copied once per chunk). */
  private carry: Uint8Array[] | undefined;
  private carryBytes = 0;
  private carryStart = 0;
  private readonly maxLine = maxLineBytes();

  constructor(private readonly o: CsvPieceOptions) {
    this.cols = o.columns.length;
    this.row = new Float64Array(this.cols);
    this.offset = o.skipFirst ? o.start - 1 : o.start;
    this.skipping = o.skipFirst;
  }

  /** Feeds the next bytes; returns false once the piece has all its lines. */
  push(chunk: Uint8Array): boolean {
    if (this.done) return false;
    const base = this.offset;
    this.offset += chunk.length;
    let i = 0;
    if (this.skipping) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) return true;
      this.skipping = false;
      i = nl + 1;
    }
    if (this.carry) {
      const nl = chunk.indexOf(LF, i);
      if (nl === -1) {
        if (this.carryBytes + chunk.length > this.maxLine) throw this.tooLong(this.lines, this.carryStart);
        this.carry.push(chunk.slice());
        this.carryBytes += chunk.length;
        return true;
      }
      const line = Buffer.concat([...this.carry, chunk.subarray(0, nl + 1)]);
      const lineStart = this.carryStart;
      this.carry = undefined;
      this.lines_(line, 0, lineStart);
      if (this.done) return false;
      i = nl + 1;
    }
    const tail = this.lines_(chunk, i, base + i);
    if (!this.done && tail < chunk.length) {
      if (chunk.length - tail > this.maxLine) throw this.tooLong(this.lines, base + tail);
      this.carry = [chunk.slice(tail)];
      this.carryBytes = chunk.length - tail;
      this.carryStart = base + tail;
    }
    return !this.done;
  }

  /**
   * After the piece's range: whether its last line runs on past `end` (read on until it ends).
   * A parser still skipping saw no line start in its range, so it owns no line at all.
   */
  get needsMore(): boolean {
    return !this.done && !this.skipping && this.carry !== undefined;
  }

  private tooLong(lineIndex: number, byte: number): DataError {
    return lineTooLong(this.o.name, this.maxLine, this.o.firstLine !== undefined ? { row: this.o.firstLine + lineIndex } : { byte });
  }

  /** The end of the bytes: a last line without a newline is still a line. */
  finish(): void {
    if (this.done || this.skipping || !this.carry) return;
    const line = Buffer.concat([...this.carry, new Uint8Array([LF])]);
    this.carry = undefined;
    this.lines_(line, 0, this.carryStart);
  }

  /**
   * Parses the complete lines of buf from i (whose absolute offset is `at`); returns where the
   * incomplete tail starts (buf.length if none).
   */
  private lines_(buf: Uint8Array, i: number, at: number): number {
    const { cols, row, o } = this;
    const { kinds, texts } = o;
    const end = o.end;
    const delta = at - i;
    while (i < buf.length) {
      const lineStart = i + delta;
      if (lineStart >= end) {
        this.done = true;
        return i;
      }
      const nl = buf.indexOf(LF, i);
      if (nl === -1) return i;
      if (nl - i > this.maxLine) throw this.tooLong(this.lines, lineStart);
      const stop = nl > i && buf[nl - 1] === CR ? nl - 1 : nl;
      const lineIndex = this.lines++;
      if (isBlank(buf, i, stop)) {
        i = nl + 1;
        continue;
      }
      let c = 0;
      let p = i;
      try {
        for (;;) {
          if (c === cols) throw new FieldProblem(`expected ${cols} fields, found ${countFields(buf, i, stop)}`);
          let q: number;
          if (kinds === undefined || kinds[c] === COLUMN_NUMBER) {
            // The commonest field of numeric CSV, a plain unsigned integer (a pixel, a count, a
            // code) of at most nine digits that ends at its comma or the line's end, read here in
            // the loop: exact as a double, so its float32 is what parseField returns for it
            // (Clinger's case with no power of ten). Parsing image-like rows took half the time
            // with it. Anything else goes to parseField.
            let e = p;
            let whole = 0;
            let digit: number;
            while (e < stop && (digit = buf[e]! - 48) >= 0 && digit <= 9) {
              whole = whole * 10 + digit;
              e++;
            }
            if (e > p && e - p <= 9 && (e === stop || buf[e] === COMMA)) {
              row[c] = Math.fround(whole);
              q = e;
            } else {
              row[c] = parseField(buf, p, stop);
              q = fieldEnd;
            }
          } else {
            row[c] = kinds[c] === COLUMN_TEXT ? texts![c]!.code(textField(buf, p, stop)) : skipField(buf, p, stop);
            q = fieldEnd;
          }
          c++;
          if (q >= stop) break;
          p = q + 1;
        }
        if (c < cols) throw new FieldProblem(`expected ${cols} fields, found ${c}`);
        o.sink.push(row, lineStart, kinds !== undefined);
      } catch (error) {
        if (error instanceof RowProblem) c = error.column;
        else if (!(error instanceof FieldProblem)) throw error;
        const field = error.message.startsWith('expected') && c === cols ? undefined : o.columns[c];
        const located = { part: o.part, pieceStart: o.start, lineInPiece: lineIndex, ...(field !== undefined ? { field } : {}) };
        const where = o.firstLine !== undefined ? { row: o.firstLine + lineIndex } : { byte: lineStart };
        throw new DataError(o.name, error.message, { ...where, ...(field !== undefined ? { field } : {}), location: located });
      }
      i = nl + 1;
    }
    return i;
  }
}

/**
 * The fast path of a block of whole lines whose columns are numbers or read past (batch
 * predictions' blocks, src/inner/predictStage.ts): each row's features straight into `x`, row
 * after row, `dims` a row, column c's value at `slot[c]` of its row (−1: the column is not read),
 * so already in the model's order; no row of every field, no positions, no labels. The numbers are
 * parseField's, the lines and rows those CsvPieceParser counts. Undefined where anything is not
 * plain (a value parseField refuses, a wrong number of fields, a line past `maxLine`): the caller
 * then parses the block the general way, whose result and error are the reference.
 */
export function parseFeatureBlock(buf: Uint8Array, cols: number, slot: Int32Array, dims: number, x: Float32Array, maxLine: number): { rows: number; lines: number } | undefined {
  let rows = 0;
  let lines = 0;
  let i = 0;
  const length = buf.length;
  try {
    while (i < length) {
      let nl = buf.indexOf(LF, i);
      // A last line without a newline is still a line.
      if (nl === -1) nl = length;
      if (nl - i > maxLine) return undefined;
      const stop = nl > i && buf[nl - 1] === CR ? nl - 1 : nl;
      lines++;
      if (isBlank(buf, i, stop)) {
        i = nl + 1;
        continue;
      }
      if ((rows + 1) * dims > x.length) return undefined;
      const row = rows * dims;
      let p = i;
      for (let c = 0; ; c++) {
        const at = slot[c]!;
        let q: number;
        if (at >= 0) {
          // A plain unsigned integer of at most nine digits ending at its comma or the line's end is
          // read here, as CsvPieceParser's lines_ reads it (exact as a double, so the float32 the
          // store rounds it to is parseField's): parseField for every pixel of image-like rows made
          // this loop take about twice the loading parser's time (issue 24's wide bench, profiled).
          let e = p;
          let whole = 0;
          let digit: number;
          while (e < stop && (digit = buf[e]! - 48) >= 0 && digit <= 9) {
            whole = whole * 10 + digit;
            e++;
          }
          if (e > p && e - p <= 9 && (e === stop || buf[e] === COMMA)) {
            x[row + at] = whole;
            q = e;
          } else {
            x[row + at] = parseField(buf, p, stop);
            q = fieldEnd;
          }
        } else {
          skipField(buf, p, stop);
          q = fieldEnd;
        }
        if (q >= stop) {
          if (c !== cols - 1) return undefined;
          break;
        }
        if (c === cols - 1) return undefined;
        p = q + 1;
      }
      rows++;
      i = nl + 1;
    }
  } catch {
    return undefined;
  }
  return { rows, lines };
}

function isBlank(buf: Uint8Array, i: number, stop: number): boolean {
  for (let k = i; k < stop; k++) if (buf[k] !== SPACE && buf[k] !== TAB) return false;
  return true;
}

function countFields(buf: Uint8Array, i: number, stop: number): number {
  let n = 1;
  for (let k = i; k < stop; k++) if (buf[k] === COMMA) n++;
  return n;
}

const POW10: number[] = [];
for (let i = 0; i <= 22; i++) POW10.push(10 ** i);

/** Where the field parseField just read ends (its comma, or the line's end). */
let fieldEnd = 0;

/**
 * The value of the field starting at byte `a` of a line ending at `stop`, as float32 (returned as
 * the double it rounds to); sets `fieldEnd`. One pass: the number is scanned up to its comma.
 * Plain decimals with at most 15 significant digits and a power of ten within 1e±22 take the exact
 * fast path (Clinger: the integer mantissa and the power are exact doubles, so one operation
 * rounds once, exactly as Number() does); anything else goes through Number(), so values match it.
 */
export function parseField(buf: Uint8Array, a: number, stop: number): number {
  let i = a;
  while (i < stop && (buf[i] === SPACE || buf[i] === TAB)) i++;
  const first = i;
  let negative = false;
  if (buf[i] === 45 /* - */) {
    negative = true;
    i++;
  } else if (buf[i] === 43 /* + */) i++;
  let mantissa = 0;
  let digits = 0;
  let significant = 0;
  let scale = 0;
  let d: number;
  let ok = true;
  while (i < stop && (d = buf[i]! - 48) >= 0 && d <= 9) {
    mantissa = mantissa * 10 + d;
    if (mantissa !== 0) significant++;
    digits++;
    i++;
  }
  if (i < stop && buf[i] === 46 /* . */) {
    i++;
    while (i < stop && (d = buf[i]! - 48) >= 0 && d <= 9) {
      mantissa = mantissa * 10 + d;
      if (mantissa !== 0) significant++;
      digits++;
      scale--;
      i++;
    }
  }
  if (i < stop && (buf[i] === 101 || buf[i] === 69) /* e E */) {
    i++;
    let expNegative = false;
    if (buf[i] === 45) {
      expNegative = true;
      i++;
    } else if (buf[i] === 43) i++;
    let e = 0;
    let expDigits = 0;
    while (i < stop && (d = buf[i]! - 48) >= 0 && d <= 9) {
      if (e < 100000) e = e * 10 + d;
      expDigits++;
      i++;
    }
    if (expDigits === 0) ok = false;
    scale += expNegative ? -e : e;
  }
  const numberEnd = i;
  while (i < stop && (buf[i] === SPACE || buf[i] === TAB)) i++;
  if (i < stop && buf[i] !== COMMA) {
    // Not a plain number: find the field's end for the slow path (and its message).
    ok = false;
    while (i < stop && buf[i] !== COMMA) i++;
  }
  fieldEnd = i;
  if (!ok || digits === 0 || significant > 15) return slowField(buf, first, numberEnd === i ? i : trimEnd(buf, first, i));
  let v: number;
  if (mantissa === 0) v = 0;
  else if (scale >= 0 && scale <= 22) v = mantissa * POW10[scale]!;
  else if (scale < 0 && scale >= -22) v = mantissa / POW10[-scale]!;
  else return slowField(buf, first, numberEnd);
  const f = Math.fround(negative ? -v : v);
  if (f === Infinity || f === -Infinity) throw new FieldProblem(`${latin1(buf, first, numberEnd)} is out of the float32 range`);
  return f;
}

/** A field read as text (a label, an id), unquoted when in double quotes; sets `fieldEnd`. */
export function textField(buf: Uint8Array, a: number, stop: number): string {
  let i = a;
  while (i < stop && (buf[i] === SPACE || buf[i] === TAB)) i++;
  if (buf[i] === QUOTE) {
    let text = '';
    let j = i + 1;
    for (;;) {
      let q = j;
      while (q < stop && buf[q] !== QUOTE) q++;
      if (q >= stop) throw new FieldProblem('unterminated quoted field (line breaks inside quotes are not supported)');
      text += utf8(buf, j, q);
      if (buf[q + 1] === QUOTE) {
        text += '"';
        j = q + 2;
      } else {
        j = q + 1;
        break;
      }
    }
    while (j < stop && (buf[j] === SPACE || buf[j] === TAB)) j++;
    if (j < stop && buf[j] !== COMMA) throw new FieldProblem('unexpected text after a quoted field');
    fieldEnd = j;
    return text;
  }
  let e = i;
  while (e < stop && buf[e] !== COMMA) e++;
  fieldEnd = e;
  return utf8(buf, i, trimEnd(buf, i, e));
}

/** Steps over a field that is not read (a dropped column); sets `fieldEnd`. */
function skipField(buf: Uint8Array, a: number, stop: number): number {
  let e = a;
  while (e < stop && buf[e] !== COMMA) e++;
  fieldEnd = e;
  return 0;
}

const decoder = new TextDecoder('utf-8');

function utf8(buf: Uint8Array, a: number, b: number): string {
  for (let k = a; k < b; k++) if (buf[k]! >= 128) return decoder.decode(buf.subarray(a, b));
  return latin1(buf, a, b);
}

function trimEnd(buf: Uint8Array, a: number, b: number): number {
  while (b > a && (buf[b - 1] === SPACE || buf[b - 1] === TAB)) b--;
  return b;
}

const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** Everything the fast path does not take, with the checks that name what is wrong. */
function slowField(buf: Uint8Array, a: number, b: number): number {
  const s = latin1(buf, a, b);
  if (s === '') throw new FieldProblem('empty field is not a number');
  const v = Number(s);
  const f = Math.fround(v);
  if (f !== f || f === Infinity || f === -Infinity) {
    if (NON_FINITE.test(s)) throw new FieldProblem(`${s} is not a finite number`);
    if (Number.isFinite(v)) throw new FieldProblem(`${s} is out of the float32 range`);
    throw new FieldProblem(`${quoteForMessage(new TextDecoder().decode(buf.subarray(a, b)))} is not a number`);
  }
  // Number() also reads 0x10, 0o7 and 0b1; data written that way is almost surely not meant as numbers.
  if (/[xXoObB]/.test(s)) throw new FieldProblem(`${quoteForMessage(s)} is not a number`);
  return f;
}

function latin1(buf: Uint8Array, a: number, b: number): string {
  let s = '';
  for (let k = a; k < b; k++) s += String.fromCharCode(buf[k]!);
  return s;
}

function quoteForMessage(t: string): string {
  return JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
}

/** Whether a first-line field reads as a value (finite or not), as opposed to a name. */
export function looksNumeric(t: string): boolean {
  const s = t.trim();
  return s !== '' && (!Number.isNaN(Number(s)) || NON_FINITE.test(s));
}

interface FirstLineField {
  text: string;
  quoted: boolean;
}

/** Splits the first line honouring "quoted" fields, so that names may contain commas. */
function splitFirstLine(line: string, name: string): FirstLineField[] {
  const fields: FirstLineField[] = [];
  const stop = line.length;
  let i = 0;
  for (;;) {
    while (i < stop && (line.charCodeAt(i) === SPACE || line.charCodeAt(i) === TAB)) i++;
    if (i < stop && line.charCodeAt(i) === QUOTE) {
      let text = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q === -1) throw new DataError(name, 'unterminated quoted field (line breaks inside quotes are not supported)', { row: 1 });
        text += line.slice(j, q);
        if (line.charCodeAt(q + 1) === QUOTE) {
          text += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      while (j < stop && (line.charCodeAt(j) === SPACE || line.charCodeAt(j) === TAB)) j++;
      if (j < stop && line.charCodeAt(j) !== COMMA) throw new DataError(name, 'unexpected text after a quoted field', { row: 1, field: text });
      fields.push({ text: text.trim(), quoted: true });
      if (j >= stop) return fields;
      i = j + 1;
    } else {
      let comma = line.indexOf(',', i);
      if (comma === -1) comma = stop;
      fields.push({ text: line.slice(i, comma).trim(), quoted: false });
      if (comma >= stop) return fields;
      i = comma + 1;
    }
  }
}

export function checkColumnNames(names: string[], file: string): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    // An unnamed first column is pandas' default to_csv index: the data set leaves it out (dataset.ts).
    if (name === '' && i === 0 && names.length > 1) return;
    if (name === '') throw new DataError(file, `column ${i + 1} has an empty name`, { row: 1 });
    if (seen.has(name)) throw new DataError(file, 'duplicate column name', { row: 1, field: name });
    seen.add(name);
  });
}

/**
 * Parses comma-separated numbers held in one string (small data, tests, tools): the same rules
 * and the same parser as a data set's parts (below); files are read by streaming instead.
 */
export function parseCsv(text: string, file: string): Table {
  const bytes = new TextEncoder().encode(text);
  if (text.replace(/^\uFEFF/, '').trim() === '') throw new DataError(file, 'no data rows');
  const head = describeCsv(bytes, true, file);
  const sink = new RowSink(head.columns.length, undefined);
  const parser = new CsvPieceParser({
    name: file,
    part: 0,
    columns: head.columns,
    sink,
    start: head.dataOffset,
    end: Infinity,
    skipFirst: false,
    firstLine: head.firstLine,
  });
  parser.push(bytes.subarray(head.dataOffset));
  parser.finish();
  if (sink.rows === 0) throw new DataError(file, `no data rows${head.hasHeader ? ' (the file has only a header)' : ''}`);
  const shard = sink.finish(0, 1, []);
  return { columns: head.columns, rows: shard.rows, cols: head.columns.length, values: shard.features, hasHeader: head.hasHeader, firstLine: head.firstLine };
}
