import { DataError } from '../../errors.js';
import { describe, loadShard, resolveColumn } from '../dataset.js';
import { LocalFiles } from './local.js';
import { classLabelProblem } from '../labels.js';
import type { Holdout } from '../holdout.js';
import type { ByteSource } from '../byteSource.js';
import type { Table } from '../table.js';
import type { TrainingData } from '../types.js';

/**
 * Reads a data set (a CSV, csv.gz, binary or Parquet file, or a directory of parts) as one table
 * with every column; the format is told by the name or the magic bytes.
 */
export async function readTable(path: string, options: TableOptions = {}): Promise<Table> {
  const source = options.source ?? new LocalFiles();
  const layout = await describe({ uri: path }, source);
  const first = layout.parts[0]!;
  const hasHeader = first.format !== 'csv' && first.format !== 'csv.gz' ? true : first.hasHeader === true;
  // The table's columns: the file's, less an unnamed index column (describe leaves it out).
  const columns = layout.featureNames;
  const text = (options.textColumns?.(columns, hasHeader) ?? []).map((c) => layout.columns.indexOf(columns[c]!));
  const shard = await loadShard(layout, 0, 1, source, {
    ...(text.length ? { text: text.map((column) => ({ column, mode: 'raw' as const })) } : {}),
    ...(options.holdout ? { holdout: options.holdout } : {}),
  });
  if (shard.rows === 0) {
    if (options.holdout) throw new DataError(path, `no rows held out (${options.holdout.fraction * 100}% of ${layout.parts.length} part(s)): give a larger --holdout`);
    throw new DataError(path, `no data rows${layout.parts.length === 1 && first.hasHeader ? ' (the file has only a header)' : ''}`);
  }
  const texts = shard.textKeys ? columns.map((name) => shard.textKeys![layout.columns.indexOf(name)]) : undefined;
  return { columns, rows: shard.rows, cols: columns.length, values: shard.features, hasHeader, firstLine: first.firstLine, ...(texts ? { texts } : {}) };
}

export interface TableOptions {
  /** Only the training rows, or only the held-out ones. */
  holdout?: Holdout;
  /** Where the data set's bytes are (default: local files). */
  source?: ByteSource;
  /** The columns (0-based, among the table's) to read as text, chosen once the columns are known: ids and columns carried as they are written. */
  textColumns?: (columns: string[], hasHeader: boolean) => number[];
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
