import { spawn } from 'node:child_process';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliArgs, runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * `bspml predict`: columns matched by name, columns carried through, a closed pipe; and the model
 * files and output paths of issue 12 defect 19.
 */

const tempDir = useTempDirs('bspml-predict-');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const MODEL = {
  algorithm: 'kmeans',
  k: 2,
  dims: 2,
  featureNames: ['a', 'b'],
  centroids: [
    [0, 0],
    [10, 10],
  ],
  counts: [1, 1],
  inertia: 0,
  rounds: 1,
  converged: true,
};

async function setUp(files: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('bspml predict: columns', () => {
  it('matches feature columns by name, whatever their order, and carries --id-column and --keep through', async () => {
    // Prepare: the same points with the columns in two orders, an id and a column to keep.
    const dir = await setUp({
      'model.json': JSON.stringify(MODEL),
      'ab.csv': 'a,b\n1,1\n9,11\n',
      'reordered.csv': 'id,b,group,a\n101,1,7,1\n102,11,8,9\n',
    });

    // Act
    const plain = await runBspml(['predict', '--model', join(dir, 'model.json'), '--data', join(dir, 'ab.csv')]);
    const carried = await runBspml(['predict', '--model', join(dir, 'model.json'), '--data', join(dir, 'reordered.csv'), '--id-column', 'id', '--keep', 'group']);

    // Assess
    expect(plain.code, plain.stderr).toBe(0);
    expect(carried.code, carried.stderr).toBe(0);
    const rows = (text: string) => text.trimEnd().split('\n');
    expect(rows(plain.stdout)[0]).toBe('cluster,distance');
    expect(rows(carried.stdout)[0]).toBe('id,group,cluster,distance');
    expect(rows(carried.stdout).slice(1).map((r) => r.split(',').slice(2).join(','))).toEqual(rows(plain.stdout).slice(1));
    expect(rows(carried.stdout).slice(1).map((r) => r.split(',').slice(0, 3).join(','))).toEqual(['101,7,0', '102,8,1']);
  });

  it('names a feature column the data lacks, and a column the model does not use unless told to ignore it', async () => {
    // Prepare
    const dir = await setUp({ 'model.json': JSON.stringify(MODEL), 'missing.csv': 'a,c\n1,2\n', 'extra.csv': 'a,b,c\n1,2,3\n' });
    const model = join(dir, 'model.json');

    // Act
    const missing = await runBspml(['predict', '--model', model, '--data', join(dir, 'missing.csv')]);
    const extra = await runBspml(['predict', '--model', model, '--data', join(dir, 'extra.csv')]);
    const allowed = await runBspml(['predict', '--model', model, '--data', join(dir, 'extra.csv'), '--allow-extra-columns']);
    const noId = await runBspml(['predict', '--model', model, '--data', join(dir, 'extra.csv'), '--id-column', 'id']);

    // Assess
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`bspml: error: ${join(dir, 'missing.csv')}: field "b": has no column "b" (the model's feature 2): the model's features are a, b\n`);
    expect(extra.code).toBe(1);
    expect(extra.stderr).toBe(`bspml: error: ${join(dir, 'extra.csv')}: field "c": has column the model does not use: "c" (--allow-extra-columns ignores them, --keep carries them through)\n`);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(noId.code).toBe(1);
    expect(noId.stderr).toBe(`bspml: error: ${join(dir, 'extra.csv')}: field "id": has no column "id" to carry through (columns: a, b, c)\n`);
  });
});

describe('bspml predict: model files (issue 12 defect 19)', () => {
  it.each([
    ['a feature named twice', { ...MODEL, featureNames: ['a', 'a'] }, 'feature "a" is named twice in featureNames'],
    [
      'a label that is also a feature',
      { algorithm: 'logreg', dims: 2, featureNames: ['a', 'b'], labelName: 'b', weights: [1, 1], bias: 0, loss: 0, accuracy: 1, gradNorm: 0, rounds: 1, converged: true },
      'the label "b" is also a feature',
    ],
  ])('refuses a model with %s', async (_what, model, message) => {
    const dir = await setUp({ 'model.json': JSON.stringify(model), 'ab.csv': 'a,b\n1,1\n' });
    const result = await runBspml(['predict', '--model', join(dir, 'model.json'), '--data', join(dir, 'ab.csv')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`bspml: error: ${join(dir, 'model.json')}: not a bspml model: ${message}\n`);
  });
});

describe('output paths (issue 12 defect 19)', () => {
  it('train --out naming a directory fails before anything is read or trained', async () => {
    const dir = await tempDir();
    const result = await runBspml(['train', 'kmeans', '--data', join(dir, 'absent.csv'), '--k', '2', '--out', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`bspml: error: ${dir}: cannot write: is a directory (give a file name)\n`);
  });

  it('a write removes the temporary file an earlier killed write left beside its output', async () => {
    // Prepare: what kill -9 between write and rename leaves, a minute old.
    const dir = await setUp({ 'model.json': JSON.stringify(MODEL), 'ab.csv': 'a,b\n1,1\n' });
    const stale = join(dir, '.out.csv.0123abcd.tmp');
    await writeFile(stale, 'half');
    await utimes(stale, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));

    // Act
    const result = await runBspml(['predict', '--model', join(dir, 'model.json'), '--data', join(dir, 'ab.csv'), '--out', join(dir, 'out.csv')]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['ab.csv', 'model.json', 'out.csv']);
  });
});

describe('bspml predict | head', () => {
  it('ends quietly, exit 0, when the reader closes the pipe early', async () => {
    // Prepare: enough rows that the output outlasts the reader.
    const rows = Array.from({ length: 60_000 }, (_, i) => `${i % 10},${i % 7}`).join('\n');
    const dir = await setUp({ 'model.json': JSON.stringify(MODEL), 'ab.csv': `a,b\n${rows}\n` });

    // Act: read the first chunk, then close the pipe, as head does.
    const child = spawn(process.execPath, cliArgs(['predict', '--model', join(dir, 'model.json'), '--data', join(dir, 'ab.csv')]), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

    // Assess
    expect(first.split('\n')[0]).toBe('cluster,distance');
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code, stderr).toBe(0);
  });
});
