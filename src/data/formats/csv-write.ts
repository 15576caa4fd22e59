import { looksNumeric } from './csv.js';
import { csvField } from './csvField.js';
import { formatFloat32, type Table } from '../table.js';

/* The CSV writer: what it writes, the reader (csv.ts) reads back with the same names and float32 values. */

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
  // An empty name or a number holds no quote to double: quoted as it is.
  return name === '' || looksNumeric(name) ? `"${name}"` : csvField(name);
}

