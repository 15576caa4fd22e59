import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { featureMatrix, readCsv, runOnnx } from '../helpers/onnx.js';

/*
 * Issue 19, part 5: `bspml export --format onnx`. Each model kind is trained through the command
 * line on scikit-learn's data sets (test/fixtures/labels/), exported, and the .onnx file run in
 * ONNX Runtime on the same rows as `bspml predict`: the same labels (the model's own classes:
 * strings, integers, other numbers), and probabilities, decision values and distances to 1e-5.
 */

const tempDir = useTempDirs('bspml-export-');
const FIXTURES = new URL('../fixtures/labels/', import.meta.url).pathname;
const TOLERANCE = 1e-5;

interface ModelFile {
  algorithm: string;
  featureNames: string[];
  classes?: (string | number)[];
  k?: number;
}

/** Trains, exports and predicts on `data`; ONNX Runtime's outputs on the same rows beside predict's CSV. */
async function trainExportPredict(dir: string, train: string[], data: string, options: { predict?: string[]; editModel?: (model: ModelFile) => ModelFile } = {}) {
  const model = join(dir, 'model.json');
  const onnx = join(dir, 'model.onnx');
  const predictions = join(dir, 'predictions.csv');
  // One inner thread (the default is one per core): what is checked is the export of whatever model
  // was trained, against predict's output for that same model.
  const trained = await runBspml(['train', ...train, '--data', data, '--threads', '1', '--out', model, '--quiet']);
  expect(trained.code, trained.stderr).toBe(0);
  if (options.editModel) await writeFile(model, JSON.stringify(options.editModel(JSON.parse(await readFile(model, 'utf8')) as ModelFile)));
  const exported = await runBspml(['export', '--model', model, '--format', 'onnx', '--out', onnx]);
  const predicted = await runBspml(['predict', '--model', model, '--data', data, '--out', predictions, ...(options.predict ?? [])]);
  expect(exported.code, exported.stderr).toBe(0);
  expect(predicted.code, predicted.stderr).toBe(0);
  const file = JSON.parse(await readFile(model, 'utf8')) as ModelFile;
  const input = await readCsv(data);
  const rows = input.rows.length;
  const run = await runOnnx(onnx, featureMatrix(input, file.featureNames), rows, file.featureNames.length);
  return { file, rows, run, predicted: await readCsv(predictions), bytes: await readFile(onnx) };
}

/** One column of predict's output, by name. */
function column(csv: { header: string[]; rows: string[][] }, name: string): string[] {
  const at = csv.header.indexOf(name);
  expect(at, `predict wrote no column "${name}" (${csv.header.join(', ')})`).toBeGreaterThanOrEqual(0);
  return csv.rows.map((r) => r[at]!);
}

/** The largest absolute difference between predict's figures and ONNX Runtime's. */
function maxDiff(expected: string[], actual: ArrayLike<unknown>, stride = 1, offset = 0): number {
  let worst = 0;
  expected.forEach((e, i) => (worst = Math.max(worst, Math.abs(Number(e) - Number(actual[i * stride + offset])))));
  return worst;
}

const labelsOf = (data: ArrayLike<unknown>) => Array.from(data as ArrayLike<unknown>, (v) => String(v));

describe('export --format onnx: ONNX Runtime gives what bspml predict writes', () => {
  it.each([
    { name: 'iris', labels: 'strings', type: 'string' },
    { name: 'iris-bool', labels: 'booleans as text', type: 'string' },
  ])('multinomial or binary logistic regression on $name ($labels): labels equal, probabilities to 1e-5', async ({ name, type }) => {
    // Prepare
    const dir = await tempDir();

    // Act
    const { file, rows, run, predicted } = await trainExportPredict(dir, ['logreg', '--C', '1', '--tol', '1e-8'], join(FIXTURES, `${name}.csv`));

    // Assess
    expect(run.inputNames).toEqual(['X']);
    expect(run.outputNames).toEqual(['label', 'probabilities']);
    const classes = file.classes!;
    const { label, probabilities } = run.outputs;
    expect(label!.type).toBe(type);
    expect(labelsOf(label!.data)).toEqual(column(predicted, 'prediction'));
    expect(probabilities!.dims).toEqual([rows, classes.length]);
    if (classes.length === 2) {
      expect(maxDiff(column(predicted, 'probability'), probabilities!.data, 2, 1)).toBeLessThan(TOLERANCE);
      const p1 = column(predicted, 'probability').map((p) => String(1 - Number(p)));
      expect(maxDiff(p1, probabilities!.data, 2, 0)).toBeLessThan(TOLERANCE);
    } else {
      classes.forEach((c, k) => expect(maxDiff(column(predicted, `p_${String(c)}`), probabilities!.data, classes.length, k), `p_${String(c)}`).toBeLessThan(TOLERANCE));
    }
    // Some of each class is predicted: a constant label would not pass for the right reason.
    expect(new Set(labelsOf(label!.data)).size).toBe(classes.length);
  });

  it('binary logistic regression with -1/+1 labels: int64 labels -1 and 1, P(+1) to 1e-5', async () => {
    // Prepare
    const dir = await tempDir();

    // Act
    const { file, run, predicted } = await trainExportPredict(dir, ['logreg', '--C', '1'], join(FIXTURES, 'cancer-pm1.csv'));

    // Assess
    expect(file.classes).toEqual([-1, 1]);
    expect(run.outputs.label!.type).toBe('int64');
    expect(labelsOf(run.outputs.label!.data)).toEqual(column(predicted, 'prediction'));
    expect(new Set(labelsOf(run.outputs.label!.data))).toEqual(new Set(['-1', '1']));
    expect(maxDiff(column(predicted, 'probability'), run.outputs.probabilities!.data, 2, 1)).toBeLessThan(TOLERANCE);
  });

  it('classes that are not integers (0.25, 0.75) come out as doubles', async () => {
    // Prepare: a model file whose classes were written as fractions.
    const dir = await tempDir();

    // Act
    const { run, predicted } = await trainExportPredict(dir, ['logreg', '--C', '1'], join(FIXTURES, 'cancer-pm1.csv'), { editModel: (m) => ({ ...m, classes: [0.25, 0.75] }) });

    // Assess
    expect(run.outputs.label!.type).toBe('float64');
    expect(labelsOf(run.outputs.label!.data)).toEqual(column(predicted, 'prediction'));
    expect(new Set(labelsOf(run.outputs.label!.data))).toEqual(new Set(['0.25', '0.75']));
  });

  it.each([
    { name: 'cancer-pm1', type: 'int64' },
    { name: 'iris-bool', type: 'string' },
  ])('linear SVM on $name: labels equal ($type), decision values to 1e-5', async ({ name, type }) => {
    // Prepare
    const dir = await tempDir();

    // Act
    const { run, predicted } = await trainExportPredict(dir, ['svm', '--C', '1'], join(FIXTURES, `${name}.csv`));

    // Assess
    expect(run.outputNames).toEqual(['label', 'decision']);
    expect(run.outputs.label!.type).toBe(type);
    expect(labelsOf(run.outputs.label!.data)).toEqual(column(predicted, 'prediction'));
    expect(new Set(labelsOf(run.outputs.label!.data)).size).toBe(2);
    expect(maxDiff(column(predicted, 'decision'), run.outputs.decision!.data)).toBeLessThan(TOLERANCE);
  });

  it('one-vs-rest SVM on iris (three string classes): labels equal, each class\'s decision value to 1e-5', async () => {
    // Prepare
    const dir = await tempDir();

    // Act
    const { file, rows, run, predicted } = await trainExportPredict(dir, ['svm', '--C', '1', '--tol', '1e-8'], join(FIXTURES, 'iris.csv'));

    // Assess
    const classes = file.classes!;
    expect(classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(run.outputNames).toEqual(['label', 'decision']);
    expect(run.outputs.label!.type).toBe('string');
    expect(labelsOf(run.outputs.label!.data)).toEqual(column(predicted, 'prediction'));
    expect(new Set(labelsOf(run.outputs.label!.data)).size).toBe(3);
    expect(run.outputs.decision!.dims).toEqual([rows, 3]);
    classes.forEach((c, k) => expect(maxDiff(column(predicted, `decision_${String(c)}`), run.outputs.decision!.data, 3, k), String(c)).toBeLessThan(TOLERANCE));
  });

  it('k-means on iris (species left out): clusters equal, distances to 1e-5, and the distance to each centroid', async () => {
    // Prepare
    const dir = await tempDir();

    // Act
    const { file, rows, run, predicted } = await trainExportPredict(dir, ['kmeans', '--k', '3', '--drop', 'species', '--seed', '7'], join(FIXTURES, 'iris.csv'), { predict: ['--allow-extra-columns'] });

    // Assess
    expect(file.featureNames).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    expect(run.outputNames).toEqual(['cluster', 'distance', 'distances']);
    const { cluster, distance, distances } = run.outputs;
    expect(cluster!.type).toBe('int64');
    expect(labelsOf(cluster!.data)).toEqual(column(predicted, 'cluster'));
    expect(new Set(labelsOf(cluster!.data)).size).toBe(3);
    expect(maxDiff(column(predicted, 'distance'), distance!.data)).toBeLessThan(TOLERANCE);
    // The distance to the row's own cluster, among the k, is the nearest one.
    expect(distances!.dims).toEqual([rows, 3]);
    const own = labelsOf(cluster!.data).map((c, i) => (distances!.data as Float64Array)[i * 3 + Number(c)]!);
    expect(maxDiff(column(predicted, 'distance'), own)).toBeLessThan(TOLERANCE);
  });

  it('the feature names and classes are in the file\'s metadata', async () => {
    // Prepare
    const dir = await tempDir();

    // Act
    const { file, bytes } = await trainExportPredict(dir, ['logreg', '--C', '1'], join(FIXTURES, 'iris.csv'));

    // Assess: metadata_props are stored as plain UTF-8 strings.
    const text = bytes.toString('latin1');
    expect(text).toContain(JSON.stringify(file.featureNames));
    expect(text).toContain(JSON.stringify(file.classes));
    expect(text).toContain('feature_names');
  });
});
