import { DataError } from '../errors.js';
import { defaultColumnNames, formatFloat32, type Table } from './table.js';

export type { Table } from './table.js';

const LF = 10;
const CR = 13;
const QUOTE = 34;

/**
 * Parses comma-separated numbers. The first line is a header when any of its fields is quoted or
 * is not a number. Data files can be 100+ MB, so the text is scanned in place with indexOf and
 * values go straight into a growing Float32Array; no array of line strings is ever built.
 */
export function parseCsv(text: string, file: string): Table {
  // Editors on Windows prepend a byte-order mark; it would otherwise glue onto the first name.
  let lineStart = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const end = contentEnd(text, lineStart);
  if (end <= lineStart) throw new DataError(file, 'no data rows');

  let lineEnd = findLineEnd(text, lineStart, end);
  const first = splitHeader(text, lineStart, lineEnd.content, file);
  let columns: string[];
  let hasHeader: boolean;
  let line = 1;
  if (first.some((f) => f.quoted || (f.text !== '' && !looksNumeric(f.text)))) {
    columns = first.map((f) => f.text);
    checkNames(columns, file);
    hasHeader = true;
    line = 2;
    lineStart = lineEnd.next;
    if (lineStart >= end) throw new DataError(file, 'no data rows (the file has only a header)');
    lineEnd = findLineEnd(text, lineStart, end);
  } else {
    columns = defaultColumnNames(first.length);
    hasHeader = false;
  }
  const cols = columns.length;

  // Sized from the first data line so that files of uniform width need no regrowth at all.
  const estimatedRows = Math.ceil((end - lineStart) / Math.max(1, lineEnd.next - lineStart)) + 1;
  let values = new Float32Array(Math.max(cols, Math.min(estimatedRows * cols, 1 << 28)));
  let k = 0;
  let rows = 0;
  // The position of the next comma at or after the scan point. Kept across lines: with a single
  // column, searching afresh on every line would scan the rest of the file each time.
  let nextComma = -1;

  while (lineStart < end) {
    const stop = lineEnd.content;
    if (k + cols > values.length) {
      const grown = new Float32Array(Math.max(values.length * 2, k + cols));
      grown.set(values);
      values = grown;
    }
    let fieldStart = lineStart;
    let c = 0;
    for (;;) {
      if (nextComma < fieldStart) {
        nextComma = text.indexOf(',', fieldStart);
        if (nextComma === -1) nextComma = text.length;
      }
      const fieldEnd = nextComma < stop ? nextComma : stop;
      if (c === cols) {
        throw new DataError(file, `expected ${cols} fields, found ${countFields(text, lineStart, stop)}`, { row: line });
      }
      const s = text.slice(fieldStart, fieldEnd);
      const v = Number(s);
      // Rounding to float32 first also catches finite doubles that would overflow to Infinity when stored.
      const f = Math.fround(v);
      if (f !== f || f === Infinity || f === -Infinity) {
        throw new DataError(file, numberProblem(s), { row: line, field: columns[c] });
      }
      if (v === 0 && isBlank(s)) {
        if (cols === 1 || (c === 0 && fieldEnd === stop)) throw new DataError(file, 'blank line', { row: line });
        throw new DataError(file, 'empty field is not a number', { row: line, field: columns[c] });
      }
      if (Number.isInteger(v) && hasRadixPrefix(s)) {
        throw new DataError(file, `${quoteForMessage(s.trim())} is not a number`, { row: line, field: columns[c] });
      }
      values[k++] = v;
      c++;
      if (fieldEnd === stop) break;
      fieldStart = fieldEnd + 1;
    }
    if (c < cols) {
      throw new DataError(file, `expected ${cols} fields, found ${c}`, { row: line, field: columns[c] });
    }
    rows++;
    line++;
    lineStart = lineEnd.next;
    if (lineStart < end) lineEnd = findLineEnd(text, lineStart, end);
  }

  return {
    columns,
    rows,
    cols,
    values: values.length === k ? values : values.slice(0, k),
    hasHeader,
    firstLine: hasHeader ? 2 : 1,
  };
}

/**
 * Writes a table so that parseCsv reads back the same names and the same float32 values. Names
 * that look like numbers are quoted, because an all-numeric header would otherwise read as data.
 */
export function formatCsv(table: Table): string {
  const { rows, cols, values } = table;
  const lines: string[] = [];
  if (table.hasHeader) lines.push(table.columns.map(formatName).join(','));
  const fields = new Array<string>(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) fields[c] = formatFloat32(values[base + c]);
    lines.push(fields.join(','));
  }
  lines.push('');
  return lines.join('\n');
}

/** Spaces around a name are not kept: parseCsv trims names, quoted or not. */
function formatName(name: string): string {
  const needsQuotes = /[",\r\n]/.test(name) || name === '' || looksNumeric(name);
  return needsQuotes ? `"${name.replace(/"/g, '""')}"` : name;
}

/** Where the content ends once trailing blank lines (and trailing spaces) are dropped. */
function contentEnd(text: string, start: number): number {
  let end = text.length;
  while (end > start && isSpaceOrBreak(text.charCodeAt(end - 1))) end--;
  return end;
}

function isSpaceOrBreak(code: number): boolean {
  return code === LF || code === CR || code === 32 || code === 9;
}

/** `content`: end of the line without its `\r`; `next`: start of the following line. */
function findLineEnd(text: string, start: number, end: number): { content: number; next: number } {
  let nl = text.indexOf('\n', start);
  if (nl === -1 || nl > end) nl = end;
  const content = nl > start && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
  return { content, next: nl + 1 };
}

function countFields(text: string, start: number, stop: number): number {
  let n = 1;
  for (let i = text.indexOf(',', start); i !== -1 && i < stop; i = text.indexOf(',', i + 1)) n++;
  return n;
}

function isBlank(s: string): boolean {
  return s.trim() === '';
}

/** Number() also reads 0x10, 0o7 and 0b1; data written that way is almost surely not meant as numbers. */
function hasRadixPrefix(s: string): boolean {
  return /[xXoObB]/.test(s);
}

const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** Whether a header candidate reads as a value (finite or not), as opposed to a name. */
function looksNumeric(t: string): boolean {
  const s = t.trim();
  return s !== '' && (!Number.isNaN(Number(s)) || NON_FINITE.test(s));
}

function numberProblem(s: string): string {
  const t = s.trim();
  if (NON_FINITE.test(t)) return `${t} is not a finite number`;
  const v = Number(t);
  if (Number.isFinite(v)) return `${t} is out of the float32 range`;
  return `${quoteForMessage(t)} is not a number`;
}

function quoteForMessage(t: string): string {
  return JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
}

interface HeaderField {
  text: string;
  quoted: boolean;
}

/** Splits the first line honouring "quoted" fields, so that names may contain commas. */
function splitHeader(text: string, start: number, stop: number, file: string): HeaderField[] {
  const fields: HeaderField[] = [];
  let i = start;
  for (;;) {
    while (i < stop && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    if (i < stop && text.charCodeAt(i) === QUOTE) {
      let name = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1 || q >= stop) {
          throw new DataError(file, 'unterminated quoted field (line breaks inside quotes are not supported)', { row: 1 });
        }
        name += text.slice(j, q);
        if (q + 1 < stop && text.charCodeAt(q + 1) === QUOTE) {
          name += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      while (j < stop && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
      if (j < stop && text.charCodeAt(j) !== 44) {
        throw new DataError(file, 'unexpected text after a quoted field', { row: 1, field: name });
      }
      fields.push({ text: name.trim(), quoted: true });
      if (j >= stop) return fields;
      i = j + 1;
    } else {
      let comma = text.indexOf(',', i);
      if (comma === -1 || comma > stop) comma = stop;
      fields.push({ text: text.slice(i, comma).trim(), quoted: false });
      if (comma >= stop) return fields;
      i = comma + 1;
    }
  }
}

function checkNames(names: string[], file: string): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (name === '') throw new DataError(file, `column ${i + 1} has an empty name`, { row: 1 });
    if (seen.has(name)) throw new DataError(file, 'duplicate column name', { row: 1, field: name });
    seen.add(name);
  });
}

/** Shared with the binary reader, whose name list obeys the same rules as a CSV header. */
export { checkNames as checkColumnNames };
