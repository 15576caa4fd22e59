import { DataError } from '../errors.js';
import { CsvPieceParser, describeCsv, looksNumeric } from './formats/csv.js';
import { RowSink } from './rows.js';
import { formatFloat32, type Table } from './table.js';

export type { Table } from './table.js';

/**
 * Parses comma-separated numbers held in one string (small data, tests, tools): the same rules
 * and the same parser as a data set's parts (formats/csv.ts); files are read by streaming instead.
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

/**
 * Writes a table so that parseCsv reads back the same names and the same float32 values. Names
 * that look like numbers are quoted, because an all-numeric header would otherwise read as data.
 */
export function formatCsv(table: Table): string {
  const { rows, cols, values } = table;
  const lines: string[] = [];
  if (table.hasHeader) lines.push(formatCsvHeader(table.columns));
  const fields = new Array<string>(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) fields[c] = formatFloat32(values[base + c]);
    lines.push(fields.join(','));
  }
  lines.push('');
  return lines.join('\n');
}

/** A header line (without its newline) that parseCsv reads back as these names. */
export function formatCsvHeader(columns: string[]): string {
  return columns.map(formatName).join(',');
}

/** Rows [0, rows) of row-major `values` as CSV lines, each ending with a newline. */
export function formatCsvRows(values: Float32Array, cols: number): string {
  const rows = values.length / cols;
  const lines = new Array<string>(rows + 1);
  const fields = new Array<string>(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) fields[c] = formatFloat32(values[base + c]);
    lines[r] = fields.join(',');
  }
  lines[rows] = '';
  return lines.join('\n');
}

/** Spaces around a name are not kept: parseCsv trims names, quoted or not. */
function formatName(name: string): string {
  const needsQuotes = /[",\r\n]/.test(name) || name === '' || looksNumeric(name);
  return needsQuotes ? `"${name.replace(/"/g, '""')}"` : name;
}

