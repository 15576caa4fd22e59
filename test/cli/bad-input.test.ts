import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeBinary } from '../../src/data/formats/binary.js';
import { runBspml, useTempDirs, type CliResult } from '../helpers/cli.js';

/*
 * Every bad input ends the command with a non-zero exit code and one line on standard error that
 * names what is wrong: the file, the 1-based line and the field, or the option. Errors of ours
 * exit 1 with "bspml: error: …"; usage errors are commander's own (exit 1, its message and our
 * hint line). A training run that fails never touches the --out file nor leaves temp files.
 */

const tempDir = useTempDirs();

/** What an existing --out file holds before a failing command; it must hold exactly this after. */
const PREVIOUS_MODEL = Buffer.from('{"previous":"model","keep":"these bytes"}\n\u00e9\r\n', 'utf8');

const KMEANS_MODEL = {
  algorithm: 'kmeans',
  k: 2,
  dims: 3,
  featureNames: ['x0', 'x1', 'x2'],
  centroids: [
    [0, 0, 0],
    [1, 1, 1],
  ],
  counts: [1, 1],
  inertia: 0,
  rounds: 1,
  converged: true,
};

async function dirWith(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await tempDir();
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

/**
 * Runs a failing train command with `--out <dir>/model.json` over an existing model file, and
 * checks that neither the file nor the directory's listing changed.
 */
async function failingTrain(dir: string, argv: string[]): Promise<CliResult> {
  const out = join(dir, 'model.json');
  await writeFile(out, PREVIOUS_MODEL);
  const before = (await readdir(dir)).sort();

  // One inner thread, not one per core (the default): every file here is far below one CSV block
  // (2 MB), which a single thread parses whatever the count, so more threads would only start.
  const result = await runBspml([...argv, '--threads', '1', '--out', out, '--no-progress']);

  expect(await readFile(out)).toEqual(PREVIOUS_MODEL);
  expect((await readdir(dir)).sort()).toEqual(before);
  return result;
}

function ourError(message: string): string {
  return `bspml: error: ${message}\n`;
}

function usageError(message: string): string {
  return `error: ${message}\n(run with --help for usage)\n`;
}

describe('bspml train: bad data files', () => {
  it('a missing data file: exit 1, names the file and why it cannot be read', async () => {
    // Prepare
    const dir = await dirWith({});
    const data = join(dir, 'missing.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '2']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: cannot read file: ENOENT: no such file or directory, stat '${data}'`));
    expect(result.stdout).toBe('');
  });

  it('a row with too few fields: exit 1, names the line and the missing field', async () => {
    // Prepare
    const dir = await dirWith({ 'ragged.csv': 'a,b\n1,2\n3\n5,6\n' });
    const data = join(dir, 'ragged.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: row 3, field "b": expected 2 fields, found 1`));
    expect(result.stdout).toBe('');
  });

  it('a row with too many fields: exit 1, names the line and the counts', async () => {
    // Prepare
    const dir = await dirWith({ 'ragged.csv': '1,2\n3,4\n5,6\n7,8,9\n' });
    const data = join(dir, 'ragged.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: row 4: expected 2 fields, found 3`));
    expect(result.stdout).toBe('');
  });

  it('a non-numeric field: exit 1, names the line, the field and the text', async () => {
    // Prepare
    const dir = await dirWith({ 'words.csv': 'a,b\n1,2\n3,foo\n' });
    const data = join(dir, 'words.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: row 3, field "b": "foo" is not a number`));
    expect(result.stdout).toBe('');
  });

  it('a NaN field: exit 1, names the line and the field', async () => {
    // Prepare
    const dir = await dirWith({ 'nan.csv': 'a,b\n1,2\n3,4\n5,NaN\n' });
    const data = join(dir, 'nan.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: row 4, field "b": NaN is not a finite number`));
    expect(result.stdout).toBe('');
  });

  it.each([
    ['Infinity', 'Infinity is not a finite number'],
    ['-inf', '-inf is not a finite number'],
    ['1e39', '1e39 is out of the float32 range'],
  ])('an infinite field (%s): exit 1, names the line and the field', async (text, detail) => {
    // Prepare
    const dir = await dirWith({ 'inf.csv': `1,2\n${text},3\n` });
    const data = join(dir, 'inf.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: row 2, field "x0": ${detail}`));
    expect(result.stdout).toBe('');
  });

  it('an empty file: exit 1, says it has no data rows', async () => {
    // Prepare
    const dir = await dirWith({ 'empty.csv': '' });
    const data = join(dir, 'empty.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: no data rows`));
    expect(result.stdout).toBe('');
  });

  it('a file with only a header: exit 1, says so', async () => {
    // Prepare
    const dir = await dirWith({ 'header.csv': 'a,b\n' });
    const data = join(dir, 'header.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: no data rows (the file has only a header)`));
    expect(result.stdout).toBe('');
  });

  it('a truncated binary file: exit 1, names the file and the expected and actual sizes', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'blobs.bin');
    const gen = await runBspml(['gen', 'blobs', '--rows', '10', '--dims', '2', '--out', data]);
    expect(gen.code).toBe(0);
    const whole = await readFile(data);
    await writeFile(data, whole.subarray(0, whole.length - 4));

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: expected ${whole.length} bytes for 10 rows × 2 columns, found ${whole.length - 4}`));
    expect(result.stdout).toBe('');
  });

  it('a NaN in a binary file: exit 1, names the 1-based row and the field', async () => {
    // Prepare
    const values = Float32Array.from([1, 2, 3, 4, 5, NaN]);
    const table = { columns: ['a', 'b'], rows: 3, cols: 2, values, hasHeader: true, firstLine: 1 };
    const dir = await dirWith({ 'nan.bin': Buffer.from(encodeBinary(table)) });
    const data = join(dir, 'nan.bin');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: row 3, field "b": NaN is not a finite number`));
    expect(result.stdout).toBe('');
  });

  it('the same bad file fails the same way on the dynamodb backend', async () => {
    // Prepare
    const dir = await dirWith({ 'nan.csv': 'a,b\n1,2\n3,4\n5,NaN\n' });
    const data = join(dir, 'nan.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1', '--backend', 'dynamodb']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: row 4, field "b": NaN is not a finite number`));
    expect(result.stdout).toBe('');
  });
});

describe('bspml train: data that does not fit the job', () => {
  it('k larger than the rows: exit 1, names k and the row count', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,b\n1,2\n3,4\n' });
    const data = join(dir, 'two.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '3']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`k = 3 is larger than the 2 rows of ${data}`));
    expect(result.stdout).toBe('');
  });

  it('more workers than rows: exit 1, names workers and the row count', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,b\n1,2\n3,4\n' });
    const data = join(dir, 'two.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', data, '--k', '1', '--workers', '3']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`workers = 3 is more than the 2 rows of ${data}; every worker needs at least one row`));
    expect(result.stdout).toBe('');
  });

  it('a logreg label that is a fraction (a continuous target): exit 1, names the label column and the value', async () => {
    // Prepare
    const dir = await dirWith({ 'labels.csv': 'a,b,label\n1,2,0\n3,4,1\n5,6,2.5\n' });
    const data = join(dir, 'labels.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'logreg', '--data', data]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: field "label": label 2.5 is not a class: a classifier's labels are integers, strings or booleans (scikit-learn refuses continuous targets too)`));
    expect(result.stdout).toBe('');
  });

  it('a logreg label that is a fraction in a chosen column of a headerless file: names the column x1', async () => {
    // Prepare
    const dir = await dirWith({ 'labels.csv': '0,-2,5\n1,0.5,6\n' });
    const data = join(dir, 'labels.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'logreg', '--data', data, '--label-column', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: field "x1": label 0.5 is not a class: a classifier's labels are integers, strings or booleans (scikit-learn refuses continuous targets too)`));
    expect(result.stdout).toBe('');
  });

  it.each([
    { what: 'one class (all 1)', csv: 'a,label\n1,1\n2,1\n3,1\n', only: '1' },
    { what: 'one class (all "spam")', csv: 'a,label\n1,spam\n2,spam\n', only: '"spam"' },
  ])('logreg labels with $what: exit 1, a classifier needs two classes (issue 20 defect 3)', async ({ csv, only }) => {
    // Prepare
    const dir = await dirWith({ 'labels.csv': csv });
    const data = join(dir, 'labels.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'logreg', '--data', data, '--workers', '2']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: field "label": every row has the class ${only}: a classifier needs at least two classes`));
    expect(result.stdout).toBe('');
  });

  it('an svm by local SGD on three classes: exit 1, names the label column and the count (newton fits them one-vs-rest)', async () => {
    // Prepare
    const dir = await dirWith({ 'labels.csv': 'a,label\n1,0\n2,1\n3,2\n' });
    const data = join(dir, 'labels.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'svm', '--solver', 'local-sgd', '--data', data]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`invalid job spec: solver: local-sgd trains a two-class SVM; ${data} has 3 classes (field "label"), which newton fits one-vs-rest`));
  });

  it('--solver newton (or gd) with more than two classes: exit 1, names the option', async () => {
    // Prepare
    const dir = await dirWith({ 'labels.csv': 'a,label\n1,0\n2,1\n3,2\n' });
    const data = join(dir, 'labels.csv');

    // Act
    const newton = await failingTrain(dir, ['train', 'logreg', '--data', data, '--solver', 'newton']);
    const gd = await failingTrain(dir, ['train', 'logreg', '--data', data, '--solver', 'gd']);

    // Assess
    expect(newton.code).toBe(1);
    expect(newton.stderr).toBe(ourError(`invalid job spec: solver: newton is for two classes; ${data} has 3 (field "label"), which lbfgs or giant solve`));
    expect(gd.code).toBe(1);
    expect(gd.stderr).toBe(ourError(`invalid job spec: solver: gd is for two classes; ${data} has 3 (field "label"), which lbfgs or giant solve`));
  });

  it('--solver giant with two classes (exit 1, one line naming the option), or an unknown solver: --out untouched', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,label\n1,0\n2,1\n3,0\n4,1\n' });
    const data = join(dir, 'two.csv');

    // Act
    const giant = await failingTrain(dir, ['train', 'logreg', '--data', data, '--solver', 'giant']);
    const unknown = await failingTrain(dir, ['train', 'logreg', '--data', data, '--solver', 'dane']);

    // Assess
    expect(giant.code).toBe(1);
    expect(giant.stderr).toBe(ourError(`invalid job spec: solver: giant is for more than two classes; ${data} has two (field "label"): use newton or lbfgs`));
    // commander's refusal of a value outside the list, as for every listed option: the option, the value, the choices
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.split('\n')[0]).toBe("error: option '--solver <name>' argument 'dane' is invalid. must be one of: newton, lbfgs, gd, local-sgd, giant.");
  });

  it('an unknown logreg --label-column: exit 1, names the column asked for and lists the columns', async () => {
    // Prepare
    const dir = await dirWith({ 'labels.csv': 'a,b,label\n1,2,0\n3,4,1\n' });
    const data = join(dir, 'labels.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'logreg', '--data', data, '--label-column', 'target']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: field "target": unknown label column; the columns are a, b, label`));
    expect(result.stdout).toBe('');
  });

  it('a logreg --label-column index past the last column: exit 1, as an unknown column', async () => {
    // Prepare
    const dir = await dirWith({ 'labels.csv': 'a,b,label\n1,2,0\n3,4,1\n' });
    const data = join(dir, 'labels.csv');

    // Act
    const result = await failingTrain(dir, ['train', 'logreg', '--data', data, '--label-column', '3']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: field "3": unknown label column; the columns are a, b, label`));
    expect(result.stdout).toBe('');
  });
});

describe('bspml train: an --out that cannot be written', () => {
  // Written as the CLI should behave: today the fs error escapes as an "internal error" (exit 2,
  // a stack trace over several lines, naming the hidden temp file rather than --out).
  it('a --out in a missing directory: exit 1, one line naming the --out path, no report', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,b\n1,2\n3,4\n' });
    const out = join(dir, 'no-such-dir', 'model.json');
    const before = (await readdir(dir)).sort();

    // Act
    const result = await runBspml(['train', 'kmeans', '--data', join(dir, 'two.csv'), '--k', '1', '--threads', '1', '--out', out, '--no-progress']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^bspml: error: ${escape(out)}: [^\\n]*ENOENT[^\\n]*\\n$`));
    expect(result.stdout).toBe('');
    expect((await readdir(dir)).sort()).toEqual(before);
  });
});

describe('bspml train: bad options (commander usage errors)', () => {
  it('an unknown option: exit 1 with commander\'s message', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,b\n1,2\n3,4\n' });

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', join(dir, 'two.csv'), '--k', '1', '--bogus']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(usageError("unknown option '--bogus'"));
    expect(result.stdout).toBe('');
  });

  it('--k 0: exit 1, names the option, the value and the rule', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,b\n1,2\n3,4\n' });

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', join(dir, 'two.csv'), '--k', '0']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(usageError("option '--k <n>' argument '0' is invalid. must be a whole number ≥ 1."));
    expect(result.stdout).toBe('');
  });

  it('--workers two: exit 1, names the option, the value and the rule', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,b\n1,2\n3,4\n' });

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', join(dir, 'two.csv'), '--k', '1', '--workers', 'two']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(usageError("option '--workers <n>' argument 'two' is invalid. must be a whole number ≥ 1."));
    expect(result.stdout).toBe('');
  });

  it('--backend of an unknown store: exit 1, lists the backends', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,b\n1,2\n3,4\n' });

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', join(dir, 'two.csv'), '--k', '1', '--backend', 'cassandra']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(usageError("option '--backend <name>' argument 'cassandra' is invalid. must be one of: memory, dynamodb, redis, s3."));
    expect(result.stdout).toBe('');
  });

  it('a missing --k: exit 1, names the required option', async () => {
    // Prepare
    const dir = await dirWith({ 'two.csv': 'a,b\n1,2\n3,4\n' });

    // Act
    const result = await failingTrain(dir, ['train', 'kmeans', '--data', join(dir, 'two.csv')]);

    // Assess
    expect(result.code).toBe(1);
    // Not a commander usage error: --k may come from a spec file (train kmeans --spec FILE).
    expect(result.stderr).toBe('bspml: error: --k is required for kmeans\n');
    expect(result.stdout).toBe('');
  });
});

describe('bspml predict: bad model files and data', () => {
  /** Runs a failing predict with `--out <dir>/predictions.csv` over an existing file, checking it is kept. */
  async function failingPredict(dir: string, argv: string[]): Promise<CliResult> {
    const out = join(dir, 'predictions.csv');
    await writeFile(out, PREVIOUS_MODEL);
    const before = (await readdir(dir)).sort();

    const result = await runBspml([...argv, '--out', out]);

    expect(await readFile(out)).toEqual(PREVIOUS_MODEL);
    expect((await readdir(dir)).sort()).toEqual(before);
    return result;
  }

  it('a model file that is missing: exit 1, names the file', async () => {
    // Prepare
    const dir = await dirWith({ 'data.csv': '1,2,3\n' });
    const model = join(dir, 'missing.json');

    // Act
    const result = await failingPredict(dir, ['predict', '--model', model, '--data', join(dir, 'data.csv')]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${model}: cannot read model file: ENOENT: no such file or directory, open '${model}'`));
    expect(result.stdout).toBe('');
  });

  // The first case is a text file that ends in a line break: V8 quotes the text in its JSON.parse
  // message, line break included, so unless the CLI flattens that message the error spans two lines.
  it.each([
    ['plain text', 'not json\n'],
    ['a truncated model', JSON.stringify(KMEANS_MODEL, null, 2).slice(0, 40)],
  ])('a model file that is not JSON (%s): exit 1, one line naming the file', async (_what, content) => {
    // Prepare
    const dir = await dirWith({ 'model.json': content, 'data.csv': '1,2,3\n' });
    const model = join(dir, 'model.json');

    // Act
    const result = await failingPredict(dir, ['predict', '--model', model, '--data', join(dir, 'data.csv')]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^bspml: error: ${escape(model)}: not a bspml model: not valid JSON \\([^\\n]+\\)\\n$`));
    expect(result.stdout).toBe('');
  });

  it('a model of the wrong shape (a required field missing): exit 1, names the field', async () => {
    // Prepare
    const dir = await dirWith({ 'model.json': '{"algorithm":"kmeans","k":2}\n', 'data.csv': '1,2,3\n' });
    const model = join(dir, 'model.json');

    // Act
    const result = await failingPredict(dir, ['predict', '--model', model, '--data', join(dir, 'data.csv')]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${model}: not a bspml model: dims: Invalid input: expected number, received undefined`));
    expect(result.stdout).toBe('');
  });

  it('a model of the wrong shape (an unknown algorithm): exit 1, names the field', async () => {
    // Prepare
    const dir = await dirWith({ 'model.json': '{"algorithm":"forest","weights":[1]}\n', 'data.csv': '1,2,3\n' });
    const model = join(dir, 'model.json');

    // Act
    const result = await failingPredict(dir, ['predict', '--model', model, '--data', join(dir, 'data.csv')]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${model}: not a bspml model: algorithm: Invalid discriminator value. Expected 'kmeans' | 'logreg' | 'svm'`));
    expect(result.stdout).toBe('');
  });

  it('a model of the wrong shape (JSON that is not an object): exit 1', async () => {
    // Prepare
    const dir = await dirWith({ 'model.json': '[1,2]\n', 'data.csv': '1,2,3\n' });
    const model = join(dir, 'model.json');

    // Act
    const result = await failingPredict(dir, ['predict', '--model', model, '--data', join(dir, 'data.csv')]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${model}: not a bspml model: model: Invalid input: expected object, received array`));
    expect(result.stdout).toBe('');
  });

  it('a model whose centroids do not match its dims: exit 1, says so', async () => {
    // Prepare
    const bad = { ...KMEANS_MODEL, centroids: [[0, 0], [1, 1]] };
    const dir = await dirWith({ 'model.json': JSON.stringify(bad), 'data.csv': '1,2,3\n' });
    const model = join(dir, 'model.json');

    // Act
    const result = await failingPredict(dir, ['predict', '--model', model, '--data', join(dir, 'data.csv')]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${model}: not a bspml model: dims = 3 does not match its weights or centroids`));
    expect(result.stdout).toBe('');
  });

  it('a multinomial model whose classes, rows of weights and biases differ in number, or whose rows are not dims long: exit 1, says so', async () => {
    // Prepare
    const good = { algorithm: 'logreg', dims: 2, featureNames: ['a', 'b'], labelName: 'label', classes: [0, 1, 2], weights: [[1, 2], [3, 4], [5, 6]], bias: [0, 0, 0], loss: 0.1, accuracy: 1, gradNorm: 0, rounds: 3, converged: true };
    const dir = await dirWith({
      'rows.json': JSON.stringify({ ...good, weights: [[1, 2], [3, 4]] }),
      'wide.json': JSON.stringify({ ...good, weights: [[1, 2], [3, 4], [5, 6, 7]] }),
      'data.csv': 'a,b\n1,2\n',
    });

    // Act
    const rows = await failingPredict(dir, ['predict', '--model', join(dir, 'rows.json'), '--data', join(dir, 'data.csv')]);
    const wide = await failingPredict(dir, ['predict', '--model', join(dir, 'wide.json'), '--data', join(dir, 'data.csv')]);

    // Assess
    expect(rows.code).toBe(1);
    expect(rows.stderr).toBe(ourError(`${join(dir, 'rows.json')}: not a bspml model: 3 classes but 2 rows of weights and 3 biases`));
    expect(wide.code).toBe(1);
    expect(wide.stderr).toBe(ourError(`${join(dir, 'wide.json')}: not a bspml model: dims = 2 does not match its weights or centroids`));
  });

  it('data whose header does not name the columns of a model trained without names: exit 1, names the first mismatch', async () => {
    // Prepare
    const dir = await dirWith({ 'model.json': JSON.stringify(KMEANS_MODEL), 'data.csv': 'a,b\n1,2\n3,4\n' });
    const data = join(dir, 'data.csv');

    // Act
    const result = await failingPredict(dir, ['predict', '--model', join(dir, 'model.json'), '--data', data]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      ourError(`${data}: field "x0": has no column "x0" (the model's feature 1): the model was trained on columns without names (x0, x1, …) and this file names its columns (a, b): --by-position matches them by position`),
    );
    expect(result.stdout).toBe('');
  });

  it('bad data for a good model: exit 1, the same line-and-field message as train', async () => {
    // Prepare
    const dir = await dirWith({ 'model.json': JSON.stringify(KMEANS_MODEL), 'data.csv': '1,2,3\n4,x,6\n' });
    const data = join(dir, 'data.csv');

    // Act
    const result = await failingPredict(dir, ['predict', '--model', join(dir, 'model.json'), '--data', data]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(ourError(`${data}: row 2, field "x1": "x" is not a number`));
    expect(result.stdout).toBe('');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
