import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/* `bspml export` refuses what it cannot export: one line naming the option or file, exit 1, nothing written. */

const tempDir = useTempDirs('bspml-export-bad-');

const MODEL = {
  algorithm: 'kmeans',
  k: 2,
  dims: 2,
  featureNames: ['a', 'b'],
  centroids: [
    [0, 0],
    [1, 1],
  ],
  counts: [1, 1],
  inertia: 0,
  rounds: 1,
  converged: true,
};

describe('export: bad input', () => {
  it.each([
    { case: 'an unknown format', argv: (d: string) => ['--model', join(d, 'model.json'), '--format', 'pmml', '--out', join(d, 'm.pmml')], says: /--format pmml: unknown export format \(known: onnx\)/ },
    { case: 'a model file that is not ours', argv: (d: string) => ['--model', join(d, 'other.json'), '--out', join(d, 'm.onnx')], says: /other\.json: not a bspml model: algorithm/ },
    { case: 'a model file that is not JSON', argv: (d: string) => ['--model', join(d, 'data.csv'), '--out', join(d, 'm.onnx')], says: /data\.csv: not a bspml model: not valid JSON/ },
    { case: 'a missing model file', argv: (d: string) => ['--model', join(d, 'absent.json'), '--out', join(d, 'm.onnx')], says: /absent\.json: cannot read model file/ },
    { case: '--out in a missing folder', argv: (d: string) => ['--model', join(d, 'model.json'), '--out', join(d, 'no', 'such', 'm.onnx')], says: /--out .*m\.onnx: the folder .*such does not exist/ },
    { case: '--out over the model itself', argv: (d: string) => ['--model', join(d, 'model.json'), '--out', join(d, 'model.json')], says: /is the model file itself/ },
  ])('$case: one line, exit 1, nothing written', async ({ argv, says }) => {
    // Prepare
    const dir = await tempDir();
    await writeFile(join(dir, 'model.json'), JSON.stringify(MODEL));
    await writeFile(join(dir, 'other.json'), JSON.stringify({ format: 'sklearn', coef: [1, 2] }));
    await writeFile(join(dir, 'data.csv'), 'a,b\n1,2\n');
    const before = (await readdir(dir)).sort();

    // Act
    const result = await runBspml(['export', ...argv(dir)]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(says);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
    expect((await readdir(dir)).sort()).toEqual(before);
    expect(JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'))).toEqual(MODEL);
  });
});
