import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Issue 19, part 1: columns by name everywhere. Each case where predict used to predict silently
 * from the wrong columns is refused with one line naming the first mismatch, or gives the same
 * predictions as the file that names its columns; train's --features/--drop (and a spec's
 * data.features/data.drop), pandas' unnamed index column, ids carried as text, output columns
 * that never collide.
 */

const tempDir = useTempDirs('bspml-columns-');

async function setUp(files: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** 40 rows of 4 features and a 0/1 label (separable on x0 + x1), as CSV lines without a header. */
const ROWS = Array.from({ length: 40 }, (_, i) => {
  const a = ((i * 7) % 11) - 5;
  const b = ((i * 5) % 13) - 6;
  const c = (i * 3) % 7;
  const d = (i * 2) % 5;
  return [a, b, c, d, a + b + 0.5 * (i % 3) > 0 ? 1 : 0];
});
const lines = (rows: number[][]) => rows.map((r) => r.join(',')).join('\n') + '\n';

const QUIET = ['--quiet', '--threads', '1', '--max-rounds', '30'];
const predictionsOf = (stdout: string) => stdout.trimEnd().split('\n');

describe('predict: the silent wrong predictions of issue 19', () => {
  it('a model trained without a header, on a file whose header names other columns: refused naming x0; by position only when asked', async () => {
    // Prepare: trained on a headerless file (features x0…x3, label x4).
    const dir = await setUp({ 'train.csv': lines(ROWS), 'named.csv': `label,p,q,r,s\n${lines(ROWS.map((r) => [r[4]!, ...r.slice(0, 4)]))}` });
    const model = join(dir, 'model.json');
    const trained = await runBspml(['train', 'logreg', '--data', join(dir, 'train.csv'), '--out', model, ...QUIET]);
    expect(trained.code, trained.stderr).toBe(0);

    // Act
    const refused = await runBspml(['predict', '--model', model, '--data', join(dir, 'named.csv')]);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `bspml: error: ${join(dir, 'named.csv')}: field "x0": has no column "x0" (the model's feature 1): the model was trained on columns without names (x0, x1, …) and this file names its columns (label, p, q, r, s): --by-position matches them by position\n`,
    );
  });

  it('a file x0…x4 plus a column foo: foo is refused, never used; ignored on request, the predictions are those of the file without it', async () => {
    // Prepare: a k-means model on x0…x3 (headerless training file).
    const dir = await setUp({
      'train.csv': lines(ROWS.map((r) => r.slice(0, 4))),
      'foo.csv': `x0,x1,x2,x3,foo\n${lines(ROWS.map((r) => [...r.slice(0, 4), 1000 * r[0]!]))}`,
      'plain.csv': lines(ROWS.map((r) => r.slice(0, 4))),
    });
    const model = join(dir, 'model.json');
    expect((await runBspml(['train', 'kmeans', '--data', join(dir, 'train.csv'), '--k', '3', '--out', model, ...QUIET])).code).toBe(0);

    // Act
    const refused = await runBspml(['predict', '--model', model, '--data', join(dir, 'foo.csv')]);
    const ignored = await runBspml(['predict', '--model', model, '--data', join(dir, 'foo.csv'), '--allow-extra-columns']);
    const plain = await runBspml(['predict', '--model', model, '--data', join(dir, 'plain.csv')]);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`bspml: error: ${join(dir, 'foo.csv')}: field "foo": has column the model does not use: "foo" (--allow-extra-columns ignores them, --keep carries them through)\n`);
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(plain.code, plain.stderr).toBe(0);
    expect(ignored.stdout).toBe(plain.stdout);
  });

  it('a file without a header for a model with named features: refused; --by-position gives the predictions of the named file', async () => {
    // Prepare
    const dir = await setUp({ 'train.csv': `a,b,c,d,y\n${lines(ROWS)}`, 'bare.csv': lines(ROWS.map((r) => r.slice(0, 4))), 'shuffled.csv': `d,y,b,a,c\n${lines(ROWS.map((r) => [r[3]!, r[4]!, r[1]!, r[0]!, r[2]!]))}` });
    const model = join(dir, 'model.json');
    expect((await runBspml(['train', 'logreg', '--data', join(dir, 'train.csv'), '--out', model, ...QUIET])).code).toBe(0);

    // Act
    const refused = await runBspml(['predict', '--model', model, '--data', join(dir, 'bare.csv')]);
    const byPosition = await runBspml(['predict', '--model', model, '--data', join(dir, 'bare.csv'), '--by-position']);
    const byName = await runBspml(['predict', '--model', model, '--data', join(dir, 'shuffled.csv')]);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `bspml: error: ${join(dir, 'bare.csv')}: field "a": has no column "a" (the model's feature 1): this file has no header (its columns are x0, x1, …) and the model's features are named a, b, c, d: add the header line, or --by-position matches them by position\n`,
    );
    expect(byPosition.code, byPosition.stderr).toBe(0);
    expect(byName.code, byName.stderr).toBe(0);
    expect(predictionsOf(byPosition.stdout)).toEqual(predictionsOf(byName.stdout));
    expect(byName.stderr).toMatch(/accuracy \d+\.\d\d% against column "y"/);
  });

  it('--keep of the label column writes it once, as "label"; the prediction is "prediction"; an input column named like an output column is refused', async () => {
    // Prepare: the label column is called "label".
    const dir = await setUp({ 'train.csv': `a,b,c,d,label\n${lines(ROWS)}`, 'clash.csv': `a,b,c,d,prediction\n${lines(ROWS)}` });
    const model = join(dir, 'model.json');
    expect((await runBspml(['train', 'logreg', '--data', join(dir, 'train.csv'), '--out', model, ...QUIET])).code).toBe(0);

    // Act
    const kept = await runBspml(['predict', '--model', model, '--data', join(dir, 'train.csv'), '--keep', 'label']);
    const clash = await runBspml(['predict', '--model', model, '--data', join(dir, 'clash.csv'), '--keep', 'prediction']);

    // Assess
    expect(kept.code, kept.stderr).toBe(0);
    const rows = predictionsOf(kept.stdout);
    expect(rows[0]).toBe('label,prediction,probability');
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(ROWS.map((r) => String(r[4])));
    expect(clash.code).toBe(1);
    expect(clash.stderr).toBe('bspml: error: --keep prediction: the output has its own column "prediction" (prediction, probability); rename the input column\n');
  });
});

describe('predict: ids carried as text', () => {
  it('--id-column with text ids, leading zeros and integers above 2^24 and 2^53 writes them exactly as the file has them', async () => {
    // Prepare
    const ids = ['007', 'user-a', '16777217', '9007199254740993', '"x,y"'];
    const data = `id,a,b\n${ids.map((id, i) => `${id},${i},${i}`).join('\n')}\n`;
    const model = {
      algorithm: 'kmeans',
      k: 1,
      dims: 2,
      featureNames: ['a', 'b'],
      centroids: [[0, 0]],
      counts: [5],
      inertia: 0,
      rounds: 1,
      converged: true,
    };
    const dir = await setUp({ 'model.json': JSON.stringify(model), 'data.csv': data });

    // Act
    const result = await runBspml(['predict', '--model', join(dir, 'model.json'), '--data', join(dir, 'data.csv'), '--id-column', 'id']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(predictionsOf(result.stdout).map((r) => r.replace(/,0,[^,]*$/, ''))).toEqual(['id,cluster,distance', ...ids]);
  });
});

describe('train: --features, --drop, a spec\'s data.features and data.drop, pandas\' index column', () => {
  const header = 'id,a,b,c,d,y';
  const withId = `${header}\n${ROWS.map((r, i) => `row-${i},${r.join(',')}`).join('\n')}\n`;

  it('--drop id and --features a,b,c,d train the model of the file without the id; so does a spec; a pandas index column is left out by itself', async () => {
    // Prepare
    const dir = await setUp({
      'ided.csv': withId,
      'plain.csv': `a,b,c,d,y\n${lines(ROWS)}`,
      'pandas.csv': `,a,b,c,d,y\n${ROWS.map((r, i) => `${i},${r.join(',')}`).join('\n')}\n`,
      'job.job.json': JSON.stringify({ algorithm: 'logreg', data: { uri: 'ided.csv', drop: ['id'] }, maxRounds: 30, threads: 1 }),
    });
    const out = (name: string) => join(dir, `${name}.json`);

    // Act
    const runs = await Promise.all([
      runBspml(['train', 'logreg', '--data', join(dir, 'plain.csv'), '--out', out('plain'), ...QUIET]),
      runBspml(['train', 'logreg', '--data', join(dir, 'ided.csv'), '--drop', 'id', '--out', out('drop'), ...QUIET]),
      runBspml(['train', 'logreg', '--data', join(dir, 'ided.csv'), '--features', 'a,b,c,d', '--out', out('features'), ...QUIET]),
      runBspml(['train', '--spec', join(dir, 'job.job.json'), '--out', out('spec'), '--quiet']),
      runBspml(['train', 'logreg', '--data', join(dir, 'pandas.csv'), '--out', out('pandas'), ...QUIET]),
    ]);
    const predicted = await runBspml(['predict', '--model', out('pandas'), '--data', join(dir, 'pandas.csv')]);

    // Assess
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const weights = async (name: string) => {
      const m = JSON.parse(await readFile(out(name), 'utf8')) as { featureNames: string[]; weights: number[]; bias: number };
      return { featureNames: m.featureNames, weights: m.weights, bias: m.bias };
    };
    const reference = await weights('plain');
    expect(reference.featureNames).toEqual(['a', 'b', 'c', 'd']);
    for (const name of ['drop', 'features', 'spec', 'pandas']) expect(await weights(name)).toEqual(reference);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(predictionsOf(predicted.stdout)).toHaveLength(ROWS.length + 1);
  });

  it('k-means --features leaves the label out; selecting a subset gives that subset\'s features in file order', async () => {
    // Prepare
    const dir = await setUp({ 'ided.csv': withId });

    // Act
    const run = await runBspml(['train', 'kmeans', '--data', join(dir, 'ided.csv'), '--features', 'c,a', '--k', '2', '--out', join(dir, 'k.json'), ...QUIET]);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'k.json'), 'utf8')).featureNames).toEqual(['a', 'c']);
  });

  it.each([
    [['--features', 'a,zz'], (data: string) => `bspml: error: ${data}: field "zz": features: no column "zz"; the columns are id, a, b, c, d, y\n`],
    [['--drop', 'y'], (data: string) => `bspml: error: ${data}: field "y": drop: "y" is the label column\n`],
    [['--drop', 'a,,b'], () => `error: option '--drop <columns>' argument 'a,,b' is invalid. an empty column name (give names or 0-based indices, separated by commas).\n(run with --help for usage)\n`],
    [['--features', 'a,a'], () => `error: option '--features <columns>' argument 'a,a' is invalid. column "a" is named twice.\n(run with --help for usage)\n`],
    [['--features', 'a', '--drop', 'id'], () => 'bspml: error: invalid job spec: data.features: give features or drop, not both\n'],
  ])('bad columns %j: one line, exit 1, --out untouched', async (args, message) => {
    // Prepare
    const dir = await setUp({ 'ided.csv': withId, 'model.json': 'before' });
    const data = join(dir, 'ided.csv');

    // Act
    const result = await runBspml(['train', 'logreg', '--data', data, ...args, '--out', join(dir, 'model.json'), ...QUIET]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(message(data));
    expect(await readFile(join(dir, 'model.json'), 'utf8')).toBe('before');
  });
});
