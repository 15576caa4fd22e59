import { readFile } from 'node:fs/promises';
import { predictKmeans, predictLogreg, predictSvm } from '../algorithms/index.js';
import { DataError, SpecError } from '../errors.js';
import { readTable } from '../data/load.js';
import type { Table } from '../data/table.js';
import { parseModel } from '../protocol/modelFile.js';
import type { ModelResult } from '../protocol/types.js';
import { writeFileAtomic } from '../util/files.js';
import type { CliIo } from './io.js';

/** `bspml predict`: applies a trained model to a data file, one output row per input row. */
export async function predict(options: { model: string; data: string; out?: string }, io: CliIo): Promise<void> {
  const model = await readModel(options.model);
  const table = await readTable(options.data);
  const { features, labels } = selectColumns(model, table, options.data);

  let csv: string;
  let summary: string;
  if (model.algorithm === 'kmeans') {
    const { cluster, distance } = predictKmeans(model, features, table.rows);
    const lines = ['cluster,distance'];
    for (let i = 0; i < table.rows; i++) lines.push(`${cluster[i]},${distance[i]}`);
    csv = lines.join('\n');
    const sizes = new Array<number>(model.k).fill(0);
    for (const c of cluster) sizes[c]!++;
    summary = `predicted ${table.rows} rows; cluster sizes ${sizes.join(', ')}`;
  } else {
    // Logistic regression: P(label = 1); SVM: the decision value w·x + b (label 1 where ≥ 0).
    const svm = model.algorithm === 'svm';
    const p = svm ? predictSvm(model, features, table.rows) : predictLogreg(model, features, table.rows);
    const lines = [svm ? 'decision,label' : 'probability,label'];
    let correct = 0;
    for (let i = 0; i < table.rows; i++) {
      const label = p[i]! >= (svm ? 0 : 0.5) ? 1 : 0;
      lines.push(`${p[i]},${label}`);
      if (labels && labels[i] === label) correct++;
    }
    csv = lines.join('\n');
    summary = `predicted ${table.rows} rows` + (labels ? `; accuracy ${((100 * correct) / table.rows).toFixed(2)}% against column "${model.labelName}"` : '');
  }
  if (options.out) {
    await writeFileAtomic(options.out, `${csv}\n`);
    io.stderr.write(`${summary}; written to ${options.out}\n`);
  } else {
    io.stdout.write(`${csv}\n`);
    io.stderr.write(`${summary}\n`);
  }
}

async function readModel(file: string): Promise<ModelResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SpecError(`${file}: cannot read model file: ${(error as Error).message}`, 'model', { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`${file}: not a bspml model: not valid JSON (${(error as Error).message.replace(/\s+/g, ' ')})`, 'model', { cause: error });
  }
  return parseModel(json, file);
}

/**
 * The model's feature columns, found by name when the file names them as the model does, else by
 * position. A logistic-regression model's label column, when present, is used to score accuracy.
 */
function selectColumns(model: ModelResult, table: Table, file: string): { features: Float32Array; labels?: Float32Array } {
  const names = model.featureNames;
  let index: number[];
  if (table.hasHeader && names.every((n) => table.columns.includes(n))) {
    index = names.map((n) => table.columns.indexOf(n));
  } else if (table.cols === model.dims || (model.algorithm !== 'kmeans' && table.cols === model.dims + 1)) {
    index = names.map((_, j) => j);
  } else {
    throw new DataError(file, `has ${table.cols} columns; the model expects ${model.dims} (${names.join(', ')})`);
  }
  const labelIndex = model.algorithm !== 'kmeans' ? (table.hasHeader ? table.columns.indexOf(model.labelName) : table.cols === model.dims + 1 ? model.dims : -1) : -1;
  const features = new Float32Array(table.rows * model.dims);
  const labels = labelIndex >= 0 ? new Float32Array(table.rows) : undefined;
  for (let i = 0; i < table.rows; i++) {
    for (let j = 0; j < index.length; j++) features[i * model.dims + j] = table.values[i * table.cols + index[j]!]!;
    if (labels) labels[i] = table.values[i * table.cols + labelIndex]!;
  }
  return { features, labels };
}
