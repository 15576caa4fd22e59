import { readFile } from 'node:fs/promises';
import { predictKmeans, predictLogreg, predictMultinomial, predictSvm } from '../algorithms/index.js';
import { DataError, SpecError } from '../errors.js';
import { readTable } from '../data/load.js';
import { formatFloat32, type Table } from '../data/table.js';
import { parseModel } from '../protocol/modelFile.js';
import type { ModelResult } from '../protocol/types.js';
import { writeFileAtomic } from '../util/files.js';
import type { CliIo } from './io.js';

/** `bspml predict`: applies a trained model to a data file, one output row per input row. */
export async function predict(options: PredictOptions, io: CliIo): Promise<void> {
  const model = await readModel(options.model);
  const table = await readTable(options.data);
  const { features, labels, pass } = selectColumns(model, table, options.data, options);
  // Carried columns lead each row, as the data holds them (float32, as every column is read).
  const head = pass.length ? `${pass.map((p) => p.name).join(',')},` : '';
  const lead = (i: number) => (pass.length ? `${pass.map((p) => formatFloat32(table.values[i * table.cols + p.index]!)).join(',')},` : '');

  let csv: string;
  let summary: string;
  if (model.algorithm === 'kmeans') {
    const { cluster, distance } = predictKmeans(model, features, table.rows);
    const lines = [`${head}cluster,distance`];
    for (let i = 0; i < table.rows; i++) lines.push(`${lead(i)}${cluster[i]},${distance[i]}`);
    csv = lines.join('\n');
    const sizes = new Array<number>(model.k).fill(0);
    for (const c of cluster) sizes[c]!++;
    summary = `predicted ${table.rows} rows; cluster sizes ${sizes.join(', ')}`;
  } else if ('classes' in model) {
    // Multinomial logistic regression: the class, then P(class k) for each class k.
    const { label, probabilities } = predictMultinomial(model, features, table.rows);
    const classes = model.classes.length;
    const lines = [`${head}label,${model.classes.map((k) => `p${k}`).join(',')}`];
    let correct = 0;
    for (let i = 0; i < table.rows; i++) {
      lines.push(`${lead(i)}${label[i]},${Array.from(probabilities.subarray(i * classes, (i + 1) * classes)).join(',')}`);
      if (labels && labels[i] === label[i]) correct++;
    }
    csv = lines.join('\n');
    summary = `predicted ${table.rows} rows` + (labels ? `; accuracy ${((100 * correct) / table.rows).toFixed(2)}% against column "${model.labelName}"` : '');
  } else {
    // Logistic regression: P(label = 1); SVM: the decision value w·x + b (label 1 where ≥ 0).
    const svm = model.algorithm === 'svm';
    const p = svm ? predictSvm(model, features, table.rows) : predictLogreg(model, features, table.rows);
    const lines = [`${head}${svm ? 'decision,label' : 'probability,label'}`];
    let correct = 0;
    for (let i = 0; i < table.rows; i++) {
      const label = p[i]! >= (svm ? 0 : 0.5) ? 1 : 0;
      lines.push(`${lead(i)}${p[i]},${label}`);
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

/** Columns carried from the input to each output row: --id-column first, then --keep. */
interface PassThrough {
  name: string;
  index: number;
}

export interface PredictOptions {
  model: string;
  data: string;
  out?: string;
  /** A column copied to each output row, first, to tell rows apart. */
  idColumn?: string;
  /** Columns copied to each output row after the id. */
  keep?: string[];
  /** Ignore columns that are neither features, the label, the id nor kept (default: an error). */
  allowExtraColumns?: boolean;
}

const isDefaultName = (name: string, j: number) => name === `x${j}`;

/**
 * The model's feature columns in the data. A file whose header names columns is matched by name:
 * a feature it lacks is an error naming it, and so is a column the model does not use (unless
 * --allow-extra-columns). A file without names (headerless CSV), or a model trained on one
 * (x0, x1, …), is matched by position. A logistic-regression model's label column, when present,
 * is used to score accuracy.
 */
function selectColumns(model: ModelResult, table: Table, file: string, options: PredictOptions): { features: Float32Array; labels?: Float32Array; pass: PassThrough[] } {
  const names = model.featureNames;
  const labelName = model.algorithm !== 'kmeans' ? model.labelName : undefined;
  const byName = table.hasHeader && !names.every(isDefaultName);
  const wanted = [...(options.idColumn !== undefined ? [options.idColumn] : []), ...(options.keep ?? [])];
  const columnIndex = (name: string): number => {
    const at = table.columns.indexOf(name);
    if (at >= 0) return at;
    // Without names in the file, a column may be given by its 0-based position.
    return !table.hasHeader && /^\d+$/.test(name) && Number(name) < table.cols ? Number(name) : -1;
  };
  const pass = wanted.map((name) => {
    const index = columnIndex(name);
    if (index < 0) throw new DataError(file, `has no column "${name}" to carry through (columns: ${table.columns.join(', ')})`, { field: name });
    return { name, index };
  });

  let index: number[];
  let labelIndex = -1;
  if (byName) {
    const seen = new Set<string>();
    for (const c of table.columns) {
      if (seen.has(c)) throw new DataError(file, `names column "${c}" twice: cannot tell which one the model means`, { field: c });
      seen.add(c);
    }
    const missing = names.filter((n) => !seen.has(n));
    if (missing.length) {
      throw new DataError(file, `has no column ${missing.map((n) => `"${n}"`).join(', ')}: the model's features are ${names.join(', ')}`, { field: missing[0] });
    }
    index = names.map((n) => table.columns.indexOf(n));
    if (labelName !== undefined) labelIndex = table.columns.indexOf(labelName);
    const used = new Set([...names, ...(labelName !== undefined ? [labelName] : []), ...wanted]);
    const extra = table.columns.filter((c) => !used.has(c));
    if (extra.length && !options.allowExtraColumns) {
      throw new DataError(file, `has column${extra.length > 1 ? 's' : ''} the model does not use: ${extra.map((c) => `"${c}"`).join(', ')} (--allow-extra-columns ignores them, --keep carries them through)`, {
        field: extra[0],
      });
    }
  } else {
    const carried = new Set(pass.map((p) => p.index));
    const rest = [...Array(table.cols).keys()].filter((j) => !carried.has(j));
    const withLabel = model.algorithm !== 'kmeans' && rest.length === model.dims + 1;
    if (rest.length !== model.dims && !withLabel && !(options.allowExtraColumns && rest.length > model.dims)) {
      throw new DataError(file, `has ${table.cols} columns; the model expects ${model.dims} (${names.join(', ')})`);
    }
    index = rest.slice(0, model.dims);
    if (withLabel) labelIndex = rest[model.dims]!;
  }
  const features = new Float32Array(table.rows * model.dims);
  const labels = labelIndex >= 0 ? new Float32Array(table.rows) : undefined;
  for (let i = 0; i < table.rows; i++) {
    for (let j = 0; j < index.length; j++) features[i * model.dims + j] = table.values[i * table.cols + index[j]!]!;
    if (labels) labels[i] = table.values[i * table.cols + labelIndex]!;
  }
  return { features, labels, pass };
}
