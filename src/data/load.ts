import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { decodeBinary, isBinary } from './binary.js';
import { parseCsv } from './csv.js';
import { formatFloat32, type Table } from './table.js';
import type { TrainingData } from './types.js';

/** Reads a CSV or binary (BSPMLF32) file; the format is told by the magic bytes, not the name. */
export async function readTable(path: string): Promise<Table> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new DataError(path, `cannot read file: ${why}`, {}, { cause: err });
  }
  if (isBinary(bytes)) return decodeBinary(bytes, path);
  let text: string;
  try {
    text = bytes.toString('utf8');
  } catch (err) {
    // V8 strings stop at about 512 MiB; the binary format has no such limit.
    throw new DataError(path, `too large to parse as CSV (${bytes.length} bytes); convert it to the binary format`, {}, { cause: err });
  }
  return parseCsv(text, path);
}

/**
 * Splits a table into features and optional 0/1 labels. `labelColumn` is a column name, a 0-based
 * index, or "last"; a name wins over an index, since a header may name a column "0".
 */
export function toTrainingData(table: Table, file: string, labelColumn?: string): TrainingData {
  const { rows, cols, columns, values } = table;
  if (rows === 0) throw new DataError(file, 'no data rows');
  if (labelColumn === undefined) {
    return { source: file, rows, dims: cols, features: values, featureNames: [...columns] };
  }

  const label = resolveColumn(columns, labelColumn);
  if (label === -1) {
    throw new DataError(file, `unknown label column; the columns are ${columns.join(', ')}`, { field: labelColumn });
  }
  const labelName = columns[label];
  const dims = cols - 1;
  if (dims === 0) {
    throw new DataError(file, 'no feature columns: the only column is the label', { field: labelName });
  }

  const features = new Float32Array(rows * dims);
  const labels = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const y = values[base + label];
    if (y !== 0 && y !== 1) {
      throw new DataError(file, `label ${formatFloat32(y)} is not 0 or 1`, { row: table.firstLine + r, field: labelName });
    }
    labels[r] = y;
    // Two block copies per row instead of a per-value loop with a branch on the label index.
    const out = r * dims;
    features.set(values.subarray(base, base + label), out);
    features.set(values.subarray(base + label + 1, base + cols), out + label);
  }
  return {
    source: file,
    rows,
    dims,
    features,
    labels,
    featureNames: columns.filter((_, i) => i !== label),
    labelName,
  };
}

function resolveColumn(columns: string[], spec: string): number {
  const byName = columns.indexOf(spec);
  if (byName !== -1) return byName;
  if (spec === 'last') return columns.length - 1;
  if (/^\d+$/.test(spec)) {
    const index = Number(spec);
    if (index < columns.length) return index;
  }
  return -1;
}
