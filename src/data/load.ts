import { DataError } from '../errors.js';
import { describe, loadShard, resolveColumn } from './dataset.js';
import { LocalFiles } from './sources/local.js';
import { classLabelProblem } from './labels.js';
import type { Table } from './table.js';
import type { TrainingData } from './types.js';

/**
 * Reads a data set (a CSV, csv.gz, binary or Parquet file, or a directory of parts) as one table
 * with every column; the format is told by the name or the magic bytes.
 */
export async function readTable(path: string): Promise<Table> {
  const source = new LocalFiles();
  const layout = await describe({ uri: path }, source);
  const shard = await loadShard(layout, 0, 1, source);
  const first = layout.parts[0]!;
  if (shard.rows === 0) {
    throw new DataError(path, `no data rows${layout.parts.length === 1 && first.hasHeader ? ' (the file has only a header)' : ''}`);
  }
  const hasHeader = first.format !== 'csv' && first.format !== 'csv.gz' ? true : first.hasHeader === true;
  return { columns: layout.columns, rows: shard.rows, cols: layout.columns.length, values: shard.features, hasHeader, firstLine: first.firstLine };
}

/**
 * Splits a table into features and optional class labels (0, 1, 2, …; data/labels.ts). `labelColumn` is a column name, a 0-based
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
    const y = values[base + label]!;
    const problem = classLabelProblem(y);
    if (problem !== undefined) throw new DataError(file, problem, { row: table.firstLine + r, field: labelName });
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
