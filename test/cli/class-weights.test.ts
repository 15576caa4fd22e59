import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Issue 19, part 4: class weights (--class-weight balanced|JSON) and the one-vs-rest SVM, trained
 * and predicted through the command line on the data sets of test/fixtures/labels/, against
 * scikit-learn's fits of the same rows (test/fixtures/weights/, made by scripts/weights.py):
 * LogisticRegression(class_weight=…) and LinearSVC(class_weight=…), one-vs-rest on iris's three
 * classes. Both objectives are strictly convex, so the optimum is unique: probabilities and
 * decision values to 1e-6, the same predicted labels, the same weights per class.
 */

const tempDir = useTempDirs('bspml-weights-');
const DATA = new URL('../fixtures/labels/', import.meta.url).pathname;
const REFERENCES = new URL('../fixtures/weights/', import.meta.url).pathname;

interface Reference {
  data: string;
  label: string;
  classWeightOption: string | null;
  classes: (string | number)[];
  classWeights: number[];
  predictions: (string | number)[];
  accuracy: number;
  probabilities?: number[][];
  objective?: number;
  decision?: number[] | number[][];
}

interface ModelFile {
  classes: (string | number)[];
  classWeights?: number[];
  loss: number;
  accuracy: number;
  converged: boolean;
}

async function reference(name: string): Promise<Reference> {
  return JSON.parse(await readFile(join(REFERENCES, `${name}-sklearn.json`), 'utf8')) as Reference;
}

/** A predictions file: header, then rows split at commas (no field here holds one). */
function parse(csv: string): { header: string[]; rows: string[][] } {
  const [head, ...rest] = csv.trimEnd().split('\n');
  return { header: head!.split(','), rows: rest.map((r) => r.split(',')) };
}

/** Trains `algorithm` on the reference's data with its class weights, then predicts the same rows. */
async function trainAndPredict(algorithm: 'logreg' | 'svm', ref: Reference, workers: number, extra: string[] = []) {
  const dir = await tempDir();
  const data = join(DATA, ref.data);
  const model = join(dir, 'model.json');
  const out = join(dir, 'predictions.csv');
  const weights = ref.classWeightOption === null ? [] : ['--class-weight', ref.classWeightOption];
  const trained = await runBspml(['train', algorithm, '--data', data, '--C', '1', '--tol', '1e-10', '--max-rounds', '300', '--workers', String(workers), '--threads', '2', ...weights, ...extra, '--out', model, '--quiet']);
  expect(trained.code, trained.stderr).toBe(0);
  const predicted = await runBspml(['predict', '--model', model, '--data', data, '--out', out]);
  expect(predicted.code, predicted.stderr).toBe(0);
  return { file: JSON.parse(await readFile(model, 'utf8')) as ModelFile, predictions: parse(await readFile(out, 'utf8')) };
}

describe.each([
  { name: 'logreg-cancer-balanced', workers: 3, what: 'two classes -1/+1, balanced' },
  { name: 'logreg-cancer-json', workers: 1, what: 'two classes, {"-1": 3}' },
  { name: 'logreg-iris-json', workers: 3, what: 'three string classes, {"setosa": 2, "virginica": 0.5}' },
  { name: 'logreg-iris-balanced', workers: 2, what: 'three classes, balanced' },
])('logistic regression with class weights: $what', ({ name, workers }) => {
  it(`(${workers} workers) gives scikit-learn's class weights, objective, predictions and probabilities to 1e-6`, async () => {
    // Prepare
    const ref = await reference(name);

    // Act
    const { file, predictions } = await trainAndPredict('logreg', ref, workers);

    // Assess
    expect(file.converged).toBe(true);
    expect(file.classes.map(String)).toEqual(ref.classes.map(String));
    expect(file.classWeights!.length).toBe(ref.classWeights.length);
    file.classWeights!.forEach((w, k) => expect(Math.abs(w - ref.classWeights[k]!)).toBeLessThanOrEqual(1e-12));
    // The objective in scikit-learn's terms divided by C·n: (1/n)·Σ w_y·log-loss + (λ/2)·‖v‖².
    expect(Math.abs(file.loss - ref.objective!)).toBeLessThanOrEqual(1e-6 * ref.objective!);
    expect(file.accuracy).toBeCloseTo(ref.accuracy, 12);
    const binary = ref.classes.length === 2;
    expect(predictions.rows.map((r) => r[0])).toEqual(ref.predictions.map(String));
    let worst = 0;
    predictions.rows.forEach((r, i) => {
      const ours = binary ? [1 - Number(r[1]), Number(r[1])] : r.slice(1).map(Number);
      ours.forEach((p, k) => (worst = Math.max(worst, Math.abs(p - ref.probabilities![i]![k]!))));
    });
    expect(worst).toBeLessThanOrEqual(1e-6);
  }, 60_000);
});

describe.each([
  { name: 'svm-cancer-balanced', workers: 2, what: 'two classes, balanced' },
  { name: 'svm-iris-ovr', workers: 3, what: 'one-vs-rest on three string classes' },
  { name: 'svm-iris-ovr-json', workers: 1, what: 'one-vs-rest, {"setosa": 2, "virginica": 0.5} (LIBLINEAR: the rest weigh 1)' },
])('linear SVM: $what', ({ name, workers }) => {
  it(`(${workers} workers) gives LinearSVC's decision values to 1e-6 and its predictions`, async () => {
    // Prepare
    const ref = await reference(name);

    // Act
    const { file, predictions } = await trainAndPredict('svm', ref, workers);

    // Assess
    expect(file.converged).toBe(true);
    expect(file.classes.map(String)).toEqual(ref.classes.map(String));
    const ovr = ref.classes.length > 2;
    expect(predictions.header).toEqual(ovr ? ['prediction', ...ref.classes.map((c) => `decision_${String(c)}`)] : ['prediction', 'decision']);
    expect(predictions.rows.map((r) => r[0])).toEqual(ref.predictions.map(String));
    let worst = 0;
    predictions.rows.forEach((r, i) => {
      const theirs = ovr ? (ref.decision![i] as number[]) : [ref.decision![i] as number];
      r.slice(1).forEach((d, k) => (worst = Math.max(worst, Math.abs(Number(d) - theirs[k]!))));
    });
    expect(worst).toBeLessThanOrEqual(1e-6);
    // The accuracy of the written model, as scikit-learn's score.
    expect(file.accuracy).toBeCloseTo(ref.accuracy, 12);
  }, 60_000);
});

describe('one-vs-rest SVM: held-out metrics and the job spec', () => {
  it('--validation scores a one-vs-rest model: accuracy and confusion matrix agree with bspml predict on the same file', async () => {
    // Prepare
    const dir = await tempDir();
    const model = join(dir, 'model.json');
    const valid = join(DATA, 'iris-valid.csv');

    // Act
    const trained = await runBspml(['train', 'svm', '--data', join(DATA, 'iris-train.csv'), '--validation', valid, '--C', '1', '--out', model, '--json']);
    const predicted = await runBspml(['predict', '--model', model, '--data', valid]);

    // Assess
    expect(trained.code, trained.stderr).toBe(0);
    expect(predicted.code, predicted.stderr).toBe(0);
    const v = (JSON.parse(trained.stdout) as { validation: { algorithm: string; rows: number; accuracy: number; confusion: number[][]; classes: string[]; logLoss?: number } }).validation;
    const rows = parse(predicted.stdout).rows;
    const truth = (await readFile(valid, 'utf8')).trimEnd().split('\n').slice(1).map((line) => line.split(',').at(-1)!);
    const right = rows.filter((r, i) => r[0] === truth[i]).length;
    expect(v.algorithm).toBe('svm');
    expect(v.rows).toBe(50);
    expect(v.accuracy).toBeCloseTo(right / 50, 12);
    expect(v.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(v.confusion.flat().reduce((a, b) => a + b, 0)).toBe(50);
    expect(v.confusion.reduce((n, row, k) => n + row[k]!, 0)).toBe(right);
    expect(v.logLoss).toBeUndefined();
  }, 60_000);

  it('a job spec\'s "classWeight" trains the same model as --class-weight', async () => {
    // Prepare
    const dir = await tempDir();
    const spec = join(dir, 'weighted.job.json');
    await writeFile(spec, JSON.stringify({ algorithm: 'logreg', data: { uri: join(DATA, 'cancer-pm1.csv') }, C: 1, tol: 1e-10, classWeight: { '-1': 3 } }));

    // Act
    const fromSpec = await runBspml(['train', '--spec', spec, '--out', join(dir, 'a.json'), '--quiet']);
    const fromOption = await runBspml(['train', 'logreg', '--data', join(DATA, 'cancer-pm1.csv'), '--C', '1', '--tol', '1e-10', '--class-weight', '{"-1": 3}', '--out', join(dir, 'b.json'), '--quiet']);

    // Assess
    expect(fromSpec.code, fromSpec.stderr).toBe(0);
    expect(fromOption.code, fromOption.stderr).toBe(0);
    const a = JSON.parse(await readFile(join(dir, 'a.json'), 'utf8')) as ModelFile & { weights: number[] };
    const b = JSON.parse(await readFile(join(dir, 'b.json'), 'utf8')) as ModelFile & { weights: number[] };
    expect(a.classWeights).toEqual([3, 1]);
    expect(a.weights).toEqual(b.weights);
    expect(a.loss).toBe(b.loss);
  }, 60_000);
});

describe('class weights: bad values refused with one line', () => {
  const cancer = join(DATA, 'cancer-pm1.csv');
  it.each([
    { value: 'foo', message: /--class-weight.*must be balanced or a JSON object of label → weight/ },
    { value: '{"-1": 0}', message: /--class-weight.*the weight of "-1" must be a number > 0; got 0/ },
    { value: '{"-1": -2}', message: /--class-weight.*the weight of "-1" must be a number > 0; got -2/ },
    { value: '{"-1": "x"}', message: /--class-weight.*the weight of "-1" must be a number > 0; got "x"/ },
    { value: '{}', message: /--class-weight.*names no class/ },
    { value: '[2, 1]', message: /--class-weight.*must be "balanced" or an object of label → weight/ },
  ])('--class-weight $value', async ({ value, message }) => {
    // Prepare
    const dir = await tempDir();
    const out = join(dir, 'model.json');

    // Act
    const result = await runBspml(['train', 'logreg', '--data', cancer, '--class-weight', value, '--out', out, '--quiet']);

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr.split('\n')[0]).toMatch(message);
    await expect(readFile(out)).rejects.toThrow();
  });

  it('a label that is not a class is named, with the classes (the preparation round knows them)', async () => {
    // Act
    const result = await runBspml(['train', 'logreg', '--data', cancer, '--class-weight', '{"cat": 2}', '--quiet']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`bspml: error: invalid job spec: classWeight (--class-weight): "cat" is not a class of ${cancer} (its classes: -1, 1)\n`);
  });

  it.each([
    { args: ['logreg', '--solver', 'local-sgd'], solver: 'local-sgd' },
    { args: ['svm', '--solver', 'local-sgd'], solver: 'local-sgd' },
    { args: ['logreg', '--solver', 'giant'], solver: 'giant' },
  ])('with $args.0 --solver $solver: refused, naming the solvers that take weights', async ({ args, solver }) => {
    // Act
    const result = await runBspml(['train', ...args, '--data', cancer, '--class-weight', 'balanced', '--quiet']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(new RegExp(`classWeight \\(--class-weight\\): not with solver ${solver}; .*newton`));
  });

  it('a job spec whose classWeight is not balanced nor an object is refused naming the field', async () => {
    // Prepare
    const dir = await tempDir();
    const spec = join(dir, 'bad.job.json');
    await writeFile(spec, JSON.stringify({ algorithm: 'svm', data: { uri: cancer }, classWeight: 'even' }));

    // Act
    const result = await runBspml(['train', '--spec', spec, '--quiet']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`bspml: error: ${spec}: invalid job spec: classWeight: must be "balanced" or an object of label → weight, e.g. {"spam": 5, "ham": 1}; got "even"\n`);
  });

  it('local SGD on three classes is refused for the SVM (one-vs-rest is Newton\'s)', async () => {
    // Act
    const result = await runBspml(['train', 'svm', '--solver', 'local-sgd', '--data', join(DATA, 'iris.csv'), '--quiet']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^bspml: error: invalid job spec: solver: local-sgd trains a two-class SVM; .* has 3 classes \(field "species"\), which newton fits one-vs-rest\n$/);
  });
});
