import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Issue 19, part 2: any labels. Data sets as pandas writes them (string labels with pandas'
 * unnamed index column, -1/+1, booleans), trained and predicted through the command line, against
 * scikit-learn's LogisticRegression(C=1) on the same rows (test/fixtures/labels/, made by
 * scripts/labels.py): the same classes in the same order, the same predicted labels, the
 * probabilities to 1e-6, whatever the number of workers.
 */

const tempDir = useTempDirs('bspml-labels-');
const FIXTURES = new URL('../fixtures/labels/', import.meta.url).pathname;

interface Reference {
  classes: (string | number | boolean)[];
  predictions: (string | number | boolean)[];
  probabilities: number[][];
  accuracy: number;
  logLoss: number;
}

/** A predictions file: header, then rows split at commas (no field here holds one). */
function parse(csv: string): { header: string[]; rows: string[][] } {
  const [head, ...rest] = csv.trimEnd().split('\n');
  return { header: head!.split(','), rows: rest.map((r) => r.split(',')) };
}

describe.each([
  { name: 'iris', label: 'species', workers: 3 },
  { name: 'cancer-pm1', label: 'diagnosis', workers: 2 },
  { name: 'iris-bool', label: 'virginica', workers: 1 },
])('$name ($label): scikit-learn\'s classes, predictions and probabilities', ({ name, label, workers }) => {
  it(`train (${workers} workers) and predict give scikit-learn's classes in np.unique order, its predicted labels, and its probabilities to 1e-6`, async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(FIXTURES, `${name}.csv`);
    const model = join(dir, 'model.json');
    const out = join(dir, 'predictions.csv');
    const reference = JSON.parse(await readFile(join(FIXTURES, `${name}-sklearn.json`), 'utf8')) as Reference;
    // Booleans as pandas writes them (True/False); other classes as JSON has them.
    const text = (c: string | number | boolean) => (typeof c === 'boolean' ? (c ? 'True' : 'False') : String(c));

    // Act
    const trained = await runBspml(['train', 'logreg', '--data', data, '--C', '1', '--tol', '1e-10', '--max-rounds', '300', '--workers', String(workers), '--threads', '2', '--out', model, '--quiet']);
    const predicted = await runBspml(['predict', '--model', model, '--data', data, '--out', out]);

    // Assess
    expect(trained.code, trained.stderr).toBe(0);
    expect(predicted.code, predicted.stderr).toBe(0);
    const file = JSON.parse(await readFile(model, 'utf8')) as { classes: (string | number)[]; labelName: string; featureNames: string[]; accuracy: number; loss: number; penalty: number };
    expect(file.labelName).toBe(label);
    expect(file.featureNames).not.toContain('');
    expect(file.classes.map(text)).toEqual(reference.classes.map(text));
    // Numbers stay numbers in the model file; strings (booleans' text too) strings.
    expect(file.classes.map((c) => typeof c)).toEqual(reference.classes.map((c) => (typeof c === 'number' ? 'number' : 'string')));
    const { header, rows } = parse(await readFile(out, 'utf8'));
    const binary = reference.classes.length === 2;
    expect(header).toEqual(binary ? ['prediction', 'probability'] : ['prediction', ...reference.classes.map((c) => `p_${text(c)}`)]);
    expect(rows.map((r) => r[0])).toEqual(reference.predictions.map(text));
    let worst = 0;
    rows.forEach((r, i) => {
      const ours = binary ? [1 - Number(r[1]), Number(r[1])] : r.slice(1).map(Number);
      ours.forEach((p, k) => (worst = Math.max(worst, Math.abs(p - reference.probabilities[i]![k]!))));
    });
    expect(worst).toBeLessThanOrEqual(1e-6);
    expect(file.accuracy).toBeCloseTo(reference.accuracy, 12);
    // The written model's objective, data term and penalty apart: the data term is scikit-learn's training log-loss.
    expect(file.penalty).toBeGreaterThan(0);
    expect(Math.abs(file.loss - file.penalty - reference.logLoss)).toBeLessThanOrEqual(1e-6);
    expect(predicted.stderr).toBe(`predicted ${rows.length} rows; accuracy ${(100 * reference.accuracy).toFixed(2)}% against column "${label}"; written to ${out}\n`);
  }, 60_000);
});

describe('labels: integers in any range, and what is refused', () => {
  it('labels {0, 1, 5} are three classes, {1, 2} two, {10^9, -7} two: trained, and predicted as written', async () => {
    // Prepare: two separable groups along a.
    const dir = await tempDir();
    const rows = (labels: string[]) => `a,b,y\n${Array.from({ length: 30 }, (_, i) => `${i},${(i * 7) % 5},${labels[Math.floor((i * labels.length) / 30)]}`).join('\n')}\n`;
    const cases = [
      { file: 'three.csv', labels: ['0', '1', '5'], classes: [0, 1, 5] },
      { file: 'onetwo.csv', labels: ['1', '2'], classes: [1, 2] },
      { file: 'big.csv', labels: ['1000000000', '-7'], classes: [-7, 1000000000] },
    ];
    for (const c of cases) await writeFile(join(dir, c.file), rows(c.labels));

    // Act
    const results = [];
    for (const c of cases) {
      const trained = await runBspml(['train', 'logreg', '--data', join(dir, c.file), '--out', join(dir, `${c.file}.json`), '--quiet', '--threads', '1', '--max-rounds', '50']);
      const predicted = await runBspml(['predict', '--model', join(dir, `${c.file}.json`), '--data', join(dir, c.file)]);
      results.push({ trained, predicted });
    }

    // Assess
    for (const [i, c] of cases.entries()) {
      const { trained, predicted } = results[i]!;
      expect(trained.code, trained.stderr).toBe(0);
      expect(predicted.code, predicted.stderr).toBe(0);
      expect(JSON.parse(await readFile(join(dir, `${c.file}.json`), 'utf8')).classes).toEqual(c.classes);
      const written = new Set(parse(predicted.stdout).rows.map((r) => r[0]));
      for (const label of written) expect(c.labels).toContain(label);
    }
  }, 60_000);
});

describe.each([
  { name: 'iris', workers: 2 },
  { name: 'cancer-pm1', workers: 3 },
])('train --validation on $name: scikit-learn\'s held-out metrics', ({ name, workers }) => {
  it('the report\'s validation block (--json) and the text report give scikit-learn\'s accuracy, log-loss, AUC, precision/recall/F1 and confusion matrix to 1e-6', async () => {
    // Prepare
    const train = join(FIXTURES, `${name}-train.csv`);
    const valid = join(FIXTURES, `${name}-valid.csv`);
    const reference = JSON.parse(await readFile(join(FIXTURES, `${name}-valid-sklearn.json`), 'utf8')) as {
      classes: (string | number)[];
      rows: number;
      accuracy: number;
      logLoss: number;
      precision: number;
      recall: number;
      f1: number;
      auc?: number;
      confusion: number[][];
    };
    const common = ['train', 'logreg', '--data', train, '--validation', valid, '--C', '1', '--tol', '1e-10', '--max-rounds', '300', '--workers', String(workers), '--threads', '2'];

    const page = join(await tempDir(), 'run.html');

    // Act
    const json = await runBspml([...common, '--json']);
    const text = await runBspml([...common, '--no-progress', '--report', page]);

    // Assess
    expect(json.code, json.stderr).toBe(0);
    expect(text.code, text.stderr).toBe(0);
    const v = (JSON.parse(json.stdout) as { validation: Record<string, unknown> }).validation as typeof reference & { uri: string; average: string };
    expect(v.uri).toBe(valid);
    expect(v.classes).toEqual(reference.classes);
    expect(v.rows).toBe(reference.rows);
    expect(v.accuracy).toBe(reference.accuracy);
    expect(v.confusion).toEqual(reference.confusion);
    for (const key of ['logLoss', 'precision', 'recall', 'f1'] as const) expect(Math.abs(v[key] - reference[key]), key).toBeLessThanOrEqual(1e-6);
    if (reference.auc === undefined) expect(v.auc).toBeUndefined();
    else expect(Math.abs(v.auc! - reference.auc)).toBeLessThanOrEqual(1e-6);
    expect(v.average).toBe(reference.classes.length === 2 ? 'binary' : 'macro');
    expect(text.stdout).toContain(`validation ${valid}: ${reference.rows} rows; accuracy ${(100 * reference.accuracy).toFixed(2)}%, log-loss ${v.logLoss.toPrecision(6)}`);
    expect(text.stdout).toContain(`confusion  rows: truth, columns: prediction (${reference.classes.join(', ')}): ${reference.confusion.map((r) => `[${r.join(' ')}]`).join(' ')}`);
    // The page: the figures, and the confusion matrix as a table with a row per true class.
    const html = await readFile(page, 'utf8');
    expect(html).toContain('<h2>Validation</h2>');
    expect(html).toContain(`accuracy ${(100 * reference.accuracy).toFixed(2)}%`);
    expect(html).toContain(`<tr><th>${reference.classes[0]}</th>${reference.confusion[0]!.map((n) => `<td>${n}</td>`).join('')}</tr>`);
  }, 60_000);
});

describe('train --validation: bad values', () => {
  it.each([
    ['a missing file', (dir: string) => join(dir, 'absent.csv'), (dir: string) => `bspml: error: ${join(dir, 'absent.csv')}: cannot read file: ENOENT: no such file or directory, stat '${join(dir, 'absent.csv')}'\n`],
    ['a class the model does not know', (dir: string) => join(dir, 'other.csv'), (dir: string) => `bspml: error: ${join(dir, 'other.csv')}: row 3, field "y": label "c" is not one of the model's classes (a, b)\n`],
    ['no label column', (dir: string) => join(dir, 'nolabel.csv'), (dir: string) => `bspml: error: ${join(dir, 'nolabel.csv')}: field "y": has no label column "y" to score the model against\n`],
  ])('%s: one line, exit 1, --out untouched', async (_what, validation, message) => {
    // Prepare
    const dir = await tempDir();
    await writeFile(join(dir, 'train.csv'), 'x,y\n1,a\n2,a\n3,b\n4,b\n');
    await writeFile(join(dir, 'other.csv'), 'x,y\n1,a\n5,c\n');
    await writeFile(join(dir, 'nolabel.csv'), 'x\n1\n');
    await writeFile(join(dir, 'model.json'), 'before');

    // Act
    const result = await runBspml(['train', 'logreg', '--data', join(dir, 'train.csv'), '--validation', validation(dir), '--out', join(dir, 'model.json'), '--quiet', '--threads', '1']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(message(dir));
    expect(await readFile(join(dir, 'model.json'), 'utf8')).toBe('before');
  });
});

describe('train --holdout: a seeded share of the rows, the same whatever W', () => {
  it('holds out the same rows on 1 and 3 workers, trains on the rest only, and scores the model on exactly those rows', async () => {
    // Prepare: the rows each side should see, read by the same holdout rule, written as two files.
    const { readTable } = await import('../../src/data/sources/load.js');
    const data = join(FIXTURES, 'iris.csv');
    const dir = await tempDir();
    const side = async (keep: 'train' | 'holdout') => {
      const t = await readTable(data, { holdout: { fraction: 0.3, seed: 42, keep }, textColumns: (columns) => [columns.indexOf('species')] });
      const species = t.columns.indexOf('species');
      const lines = Array.from({ length: t.rows }, (_, i) => t.columns.map((_c, j) => (j === species ? t.texts![j]![t.values[i * t.cols + j]!] : String(t.values[i * t.cols + j]))).join(','));
      const file = join(dir, `${keep}.csv`);
      await writeFile(file, `${t.columns.join(',')}\n${lines.join('\n')}\n`);
      return { file, rows: t.rows };
    };
    const [train, held] = [await side('train'), await side('holdout')];
    const common = ['--C', '1', '--tol', '1e-10', '--max-rounds', '300', '--threads', '2', '--json'];

    // Act
    const one = await runBspml(['train', 'logreg', '--data', data, '--holdout', '0.3', '--workers', '1', ...common]);
    const three = await runBspml(['train', 'logreg', '--data', data, '--holdout', '0.3', '--workers', '3', ...common]);
    const split = await runBspml(['train', 'logreg', '--data', train.file, '--validation', held.file, '--workers', '2', ...common]);

    // Assess
    for (const run of [one, three, split]) expect(run.code, run.stderr).toBe(0);
    type Report = { data: { rows: number }; validation: { rows: number; accuracy: number; logLoss: number; f1: number; confusion: number[][]; uri: string } };
    const [a, b, c] = [one, three, split].map((r) => JSON.parse(r.stdout) as Report);
    expect(train.rows + held.rows).toBe(150);
    expect(held.rows).toBeGreaterThan(30);
    expect(held.rows).toBeLessThan(60);
    for (const r of [a, b]) {
      expect(r.data.rows).toBe(train.rows);
      expect(r.validation.rows).toBe(held.rows);
      expect(r.validation.uri).toBe(`${data} (held out: 30% of the rows, seed 42)`);
      expect(r.validation.confusion).toEqual(c.validation.confusion);
      expect(r.validation.accuracy).toBe(c.validation.accuracy);
      expect(Math.abs(r.validation.logLoss - c.validation.logLoss)).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(r.validation.f1 - c.validation.f1)).toBeLessThanOrEqual(1e-12);
    }
    expect(Math.abs(a.validation.logLoss - b.validation.logLoss)).toBeLessThanOrEqual(1e-9);
  }, 60_000);

  it('--holdout outside (0, 1), or with --validation: one line, exit 1, --out untouched', async () => {
    // Prepare
    const dir = await tempDir();
    await writeFile(join(dir, 'model.json'), 'before');
    const data = join(FIXTURES, 'iris.csv');
    const out = ['--out', join(dir, 'model.json'), '--quiet'];

    // Act
    const big = await runBspml(['train', 'logreg', '--data', data, '--holdout', '1', ...out]);
    const both = await runBspml(['train', 'logreg', '--data', data, '--holdout', '0.2', '--validation', data, ...out]);

    // Assess
    expect(big.code).toBe(1);
    expect(big.stderr).toBe("error: option '--holdout <fraction>' argument '1' is invalid. must be a fraction between 0 and 1 (0.2 holds out a fifth of the rows).\n(run with --help for usage)\n");
    expect(both.code).toBe(1);
    expect(both.stderr).toBe('bspml: error: give --validation FILE or --holdout FRACTION, not both\n');
    expect(await readFile(join(dir, 'model.json'), 'utf8')).toBe('before');
  });
});
