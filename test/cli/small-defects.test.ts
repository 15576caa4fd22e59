import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Issue 20 defects 6 and 11: --local-steps bounded (the limit named with the variable that lifts
 * it); --k beyond its limit said as such; --lr refused where the solver takes none; a profile's
 * negative latency refused naming the parameter; convert refusing a header-only CSV and a
 * directory output before reading. Each: exit 1, one line, nothing written.
 */

function oneLine(result: { code: number; stderr: string }, message: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
}

const saved = process.env.BSPML_MAX_LOCAL_STEPS;
afterEach(() => {
  if (saved === undefined) delete process.env.BSPML_MAX_LOCAL_STEPS;
  else process.env.BSPML_MAX_LOCAL_STEPS = saved;
});

describe('issue 20 defect 6: --local-steps has an upper bound', () => {
  it('10^9 steps: refused at once, naming the limit and BSPML_MAX_LOCAL_STEPS', async () => {
    const result = await runBspml(['train', 'logreg', '--solver', 'local-sgd', '--local-steps', '1000000000', '--data', 'data/classification.csv', '--max-rounds', '2', '--no-progress']);
    oneLine(result, /^bspml: error: invalid job spec: localSteps \(--local-steps\): 1000000000 is above the limit of 100,000 steps per thread per round \(BSPML_MAX_LOCAL_STEPS lifts it\)\n$/);
  });

  it('BSPML_MAX_LOCAL_STEPS lowers (or lifts) the limit', async () => {
    process.env.BSPML_MAX_LOCAL_STEPS = '10';
    const refused = await runBspml(['train', 'logreg', '--solver', 'local-sgd', '--local-steps', '11', '--data', 'data/classification.csv', '--max-rounds', '1', '--no-progress']);
    oneLine(refused, /above the limit of 10 steps per thread per round/);
    const accepted = await runBspml(['train', 'logreg', '--solver', 'local-sgd', '--local-steps', '10', '--data', 'data/classification.csv', '--max-rounds', '1', '--no-progress', '--quiet']);
    expect(accepted.code, accepted.stderr).toBe(0);
  });
});

describe('issue 20 defect 11: the four small ones', () => {
  const tempDir = useTempDirs('bspml-small-');

  it('--k 200000 is refused for its size, not as missing', async () => {
    const result = await runBspml(['train', 'kmeans', '--k', '200000', '--data', 'data/blobs.csv', '--no-progress']);
    oneLine(result, /^bspml: error: invalid job spec: k: .*100000\n$/);
    expect(result.stderr).not.toContain('required');
  });

  it.each([[[]], [['--solver', 'newton']], [['--solver', 'lbfgs']]])('--lr with %j: refused, not silently ignored', async (solver) => {
    const result = await runBspml(['train', 'logreg', '--lr', '0.1', ...solver, '--data', 'data/classification.csv', '--no-progress']);
    oneLine(result, /^bspml: error: --lr: only with solver gd or local-sgd; .* takes no learning rate\n$/);
  });

  it('a spec file with "lr" and solver newton: refused naming the file', async () => {
    const dir = await tempDir();
    const spec = join(dir, 'j.job.json');
    await writeFile(spec, JSON.stringify({ algorithm: 'logreg', solver: 'newton', lr: 0.3, data: { uri: 'data/classification.csv' } }));
    const result = await runBspml(['train', '--spec', spec, '--data', 'data/classification.csv', '--no-progress']);
    oneLine(result, /^bspml: error: .*j\.job\.json: "lr": only with solver gd or local-sgd; newton takes no learning rate\n$/);
  });

  it.each([
    [{ lambda: { coldStartMs: { median: -5 } } }, /lambda\.coldStartMs\.median must be a number > 0 \(got -5\)/],
    [{ lambda: { coldStartMs: -5 } }, /lambda\.coldStartMs is a distribution: give \{"median": …, "p99": …\} in ms, not a number/],
    [{ lambda: { mbPerVcpu: -1 } }, /lambda\.mbPerVcpu must be a number ≥ 0 \(got -1\)/],
  ])('simulate --profile %j: one line naming the parameter', async (profile, message) => {
    const path = join(await tempDir(), 'p.json');
    await writeFile(path, JSON.stringify(profile));
    const result = await runBspml(['simulate', 'kmeans', '--rows', '100', '--dims', '2', '--workers', '2', '--profile', path]);
    oneLine(result, message);
  });

  it('convert of a header-only CSV: refused, no output file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'h.csv'), 'a,b\n');
    const result = await runBspml(['convert', join(dir, 'h.csv'), join(dir, 'out.parquet')]);
    oneLine(result, /h\.csv: no data rows \(only a header\)\n$/);
    expect(await readdir(dir)).toEqual(['h.csv']);
  });

  it('convert to a directory: refused before reading', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'bad.csv'), 'a,b\n1,x\n'); // would fail on reading; the output is checked first
    const result = await runBspml(['convert', join(dir, 'bad.csv'), dir]);
    oneLine(result, /: cannot write: is a directory \(give a file name\)\n$/);
    expect(await readFile(join(dir, 'bad.csv'), 'utf8')).toBe('a,b\n1,x\n');
  });
});
