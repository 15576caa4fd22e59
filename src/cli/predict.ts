import type { PredictOptions } from './predictOptions.js';
import { readFile } from 'node:fs/promises';
import { predictKmeans, predictLogreg, predictMultinomial, predictSvm, predictSvmOvr } from '../algorithms/index.js';
import { DataError, SpecError } from '../errors.js';
import { readTable } from '../data/sources/load.js';
import { formatFloat32, type Table } from '../data/table.js';
import { classKey, labelKey } from '../data/textColumns.js';
import { parseModel } from '../protocol/modelFile.js';
import { classLabelsOf, isMultinomial, isOneVsRest, type ModelResult } from '../domain/results.js';
import { writeFileAtomic } from '../util/files.js';
import { isS3Uri, readStoredModel } from '../serve/storedModel.js';
import { numbersCsv } from '../data/formats/numberText.js';
import { csvField } from '../data/formats/csvField.js';
import { batchPredictCli, isBatchPredict } from './batch-predict.js';
import type { CliIo } from './io.js';

/** `bspml predict`: applies a trained model to a data file, one output row per input row. */
export async function predict(options: PredictOptions, io: CliIo): Promise<void> {
  // s3://…/models/NAME/ (with --model-version V): a published model (src/serve/storedModel.ts).
  if (options.modelVersion !== undefined && !isS3Uri(options.model)) throw new SpecError(`--model-version: pins a published model: give --model s3://BUCKET/models/NAME/`, 'model-version');
  const model = isS3Uri(options.model) ? await readStoredModel(options.model, options) : await readModel(options.model);
  // A data set in S3, or parts out: through the training data plane, one part per shard (src/cli/batch-predict.ts).
  if (isBatchPredict(options)) return batchPredictCli(model, options, io);
  const carried = [...(options.idColumn !== undefined ? [options.idColumn] : []), ...(options.keep ?? [])];
  const clash = carried.find((name) => outputColumns(model).includes(name));
  if (clash !== undefined) {
    throw new SpecError(`--${options.idColumn === clash ? 'id-column' : 'keep'} ${clash}: the output has its own column "${clash}" (${outputColumns(model).join(', ')}); rename the input column`, 'keep');
  }
  // Carried columns and the truth are read as text: ids stay as written ("007", 2^53 − 1), labels may be any.
  const labelName = model.algorithm !== 'kmeans' ? model.labelName : undefined;
  const table = await readTable(options.data, {
    textColumns: (columns, hasHeader) => {
      const wanted = new Set(carried.map((name) => columnOf(columns, hasHeader, name)).filter((c) => c >= 0));
      if (options.byPosition) {
        // By position, the label is the column after the features, when there is one.
        const rest = [...columns.keys()].filter((c) => !wanted.has(c));
        if (labelName !== undefined && rest.length === model.dims + 1) wanted.add(rest[model.dims]!);
      } else if (hasHeader || !model.featureNames.every(isDefaultName)) {
        // Matched by name: every column that is not a feature (the label, an id, one ignored) is text, never parsed as a number.
        columns.forEach((c, i) => !model.featureNames.includes(c) && wanted.add(i));
      } else if (labelName !== undefined && columns.includes(labelName)) wanted.add(columns.indexOf(labelName));
      return [...wanted];
    },
  });
  const { features, labels, pass } = selectColumns(model, table, options.data, options);
  const text = (column: number, i: number): string => {
    const v = table.values[i * table.cols + column]!;
    const keys = table.texts?.[column];
    return keys ? keys[v]! : formatFloat32(v);
  };
  // Carried columns lead each row, as the data holds them.
  const head = pass.length ? `${pass.map((p) => csvField(p.name)).join(',')},` : '';
  const lead = (i: number) => (pass.length ? `${pass.map((p) => csvField(text(p.index, i))).join(',')},` : '');
  const truth = (i: number): string | undefined => (labels === undefined ? undefined : text(labels, i));

  let csv: string;
  let summary: string;
  if (model.algorithm === 'kmeans') {
    const { cluster, distance } = predictKmeans(model, features, table.rows);
    const lines = [`${head}cluster,distance`];
    for (let i = 0; i < table.rows; i++) lines.push(`${lead(i)}${cluster[i]},${numbersCsv(distance, i, i + 1)}`);
    csv = lines.join('\n');
    const sizes = new Array<number>(model.k).fill(0);
    for (const c of cluster) sizes[c]!++;
    summary = `predicted ${table.rows} rows; cluster sizes ${sizes.join(', ')}`;
  } else {
    const classes = classLabelsOf(model);
    const names = classes.map((c) => csvField(String(c)));
    const keys = classes.map(classKey);
    let index: Int32Array;
    let rest: (i: number) => string;
    let header: string;
    if (isMultinomial(model)) {
      // The class, then P(class k) for each class k.
      const { label, probabilities } = predictMultinomial(model, features, table.rows);
      const C = classes.length;
      index = label;
      header = `prediction,${classes.map((c) => csvField(`p_${String(c)}`)).join(',')}`;
      rest = (i) => numbersCsv(probabilities, i * C, (i + 1) * C);
    } else if (isOneVsRest(model)) {
      // The class, then each one-vs-rest problem's decision value w_k·x + b_k.
      const { label, decision } = predictSvmOvr(model, features, table.rows);
      const C = classes.length;
      index = label;
      header = `prediction,${classes.map((c) => csvField(`decision_${String(c)}`)).join(',')}`;
      rest = (i) => numbersCsv(decision, i * C, (i + 1) * C);
    } else {
      // Logistic regression: P(class 1); SVM: the decision value w·x + b (class 1 where ≥ 0).
      const svm = model.algorithm === 'svm';
      const p = svm ? predictSvm(model, features, table.rows) : predictLogreg(model, features, table.rows);
      index = Int32Array.from(p, (v) => (v >= (svm ? 0 : 0.5) ? 1 : 0));
      header = `prediction,${svm ? 'decision' : 'probability'}`;
      rest = (i) => numbersCsv(p, i, i + 1);
    }
    const lines = [`${head}${header}`];
    let correct = 0;
    for (let i = 0; i < table.rows; i++) {
      lines.push(`${lead(i)}${names[index[i]!]},${rest(i)}`);
      const y = truth(i);
      if (y !== undefined && sameClass(y, keys[index[i]!]!)) correct++;
    }
    csv = lines.join('\n');
    summary = `predicted ${table.rows} rows` + (labels !== undefined ? `; accuracy ${((100 * correct) / table.rows).toFixed(2)}% against column "${model.labelName}"` : '');
  }
  if (options.out) {
    await writeFileAtomic(options.out, `${csv}\n`);
    io.stderr.write(`${summary}; written to ${options.out}\n`);
  } else {
    io.stdout.write(`${csv}\n`);
    io.stderr.write(`${summary}\n`);
  }
}

/** The columns predict writes after the carried ones. */
function outputColumns(model: ModelResult): string[] {
  if (model.algorithm === 'kmeans') return ['cluster', 'distance'];
  if (isMultinomial(model)) return ['prediction', ...model.classes.map((c) => `p_${String(c)}`)];
  if (isOneVsRest(model)) return ['prediction', ...model.classes.map((c) => `decision_${String(c)}`)];
  return ['prediction', model.algorithm === 'svm' ? 'decision' : 'probability'];
}

/** Whether a label as the data writes it is the class with key `key` ("1.0" is class 1). */
function sameClass(text: string, key: string): boolean {
  try {
    return labelKey(text, 0) === key;
  } catch {
    return false;
  }
}

/** A column by name, or by 0-based position in a file without names; -1 when there is none. */
export function columnOf(columns: string[], hasHeader: boolean, name: string): number {
  const at = columns.indexOf(name);
  if (at >= 0) return at;
  return !hasHeader && /^\d+$/.test(name) && Number(name) < columns.length ? Number(name) : -1;
}

export async function readModel(file: string): Promise<ModelResult> {
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

const isDefaultName = (name: string, j: number) => name === `x${j}`;

/**
 * The model's feature columns in the data, matched by name: a file without a header has the names
 * x0, x1, … (as training gave them), so a model trained on such a file matches such a file. Any
 * mismatch is an error naming the first one; nothing is matched by position unless --by-position
 * says so. A classifier's label column, when present, is used to score accuracy.
 */
export function selectColumns(model: ModelResult, table: Table, file: string, options: PredictOptions): { features: Float32Array; labels?: number; pass: PassThrough[] } {
  const names = model.featureNames;
  const labelName = model.algorithm !== 'kmeans' ? model.labelName : undefined;
  const wanted = [...(options.idColumn !== undefined ? [options.idColumn] : []), ...(options.keep ?? [])];
  const pass = wanted.map((name) => {
    const index = columnOf(table.columns, table.hasHeader, name);
    if (index < 0) throw new DataError(file, `has no column "${name}" to carry through (columns: ${table.columns.join(', ')})`, { field: name });
    return { name, index };
  });
  const seen = new Set<string>();
  for (const c of table.columns) {
    if (seen.has(c)) throw new DataError(file, `names column "${c}" twice: cannot tell which one the model means`, { field: c });
    seen.add(c);
  }

  let index: number[];
  let labelIndex = -1;
  if (options.byPosition) {
    const carried = new Set(pass.map((p) => p.index));
    const rest = [...Array(table.cols).keys()].filter((j) => !carried.has(j));
    const withLabel = labelName !== undefined && rest.length === model.dims + 1;
    if (rest.length !== model.dims && !withLabel) {
      throw new DataError(file, `--by-position: has ${rest.length} columns besides the carried ones; the model expects ${model.dims} features${labelName !== undefined ? ' (and the label last, if any)' : ''}`);
    }
    index = rest.slice(0, model.dims);
    if (withLabel) labelIndex = rest[model.dims]!;
  } else {
    const missing = names.findIndex((n) => !seen.has(n));
    if (missing >= 0) {
      const n = names[missing]!;
      const unnamedModel = names.every(isDefaultName);
      const why = unnamedModel
        ? table.hasHeader
          ? `the model was trained on columns without names (x0, x1, …) and this file names its columns (${table.columns.slice(0, 6).join(', ')}${table.cols > 6 ? ', …' : ''}): --by-position matches them by position`
          : `the model was trained on ${names.length} feature columns, and this file's ${table.cols} columns without a header do not hold them where training read them: --by-position matches them by position`
        : table.hasHeader
          ? `the model's features are ${names.join(', ')}`
          : `this file has no header (its columns are x0, x1, …) and the model's features are named ${names.join(', ')}: add the header line, or --by-position matches them by position`;
      throw new DataError(file, `has no column "${n}" (the model's feature ${missing + 1}): ${why}`, { field: n });
    }
    index = names.map((n) => table.columns.indexOf(n));
    if (labelName !== undefined) labelIndex = table.columns.indexOf(labelName);
    const used = new Set([...names, ...(labelName !== undefined ? [labelName] : []), ...pass.map((p) => table.columns[p.index]!)]);
    const extra = table.columns.filter((c) => !used.has(c));
    if (extra.length && !options.allowExtraColumns) {
      throw new DataError(file, `has column${extra.length > 1 ? 's' : ''} the model does not use: ${extra.map((c) => `"${c}"`).join(', ')} (--allow-extra-columns ignores them, --keep carries them through)`, {
        field: extra[0],
      });
    }
  }
  const features = new Float32Array(table.rows * model.dims);
  for (let i = 0; i < table.rows; i++) {
    for (let j = 0; j < index.length; j++) features[i * model.dims + j] = table.values[i * table.cols + index[j]!]!;
  }
  return { features, ...(labelIndex >= 0 ? { labels: labelIndex } : {}), pass };
}
