import { spawn } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliArgs, runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Issue 20 defects 7, 8 and 9: `simulate` and `tune` check what `train` checks, before they
 * calibrate or simulate (one line naming the option, exit 1, no stack), refuse sizes whose round
 * cannot run on Lambda at once, check their output files first, and end on SIGTERM even while the
 * simulator computes.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function oneLine(result: { code: number; stderr: string; stdout: string }, message: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('calibrated '))).toHaveLength(1);
}

describe('issue 20 defect 8: simulate and tune validate the job as train does', () => {
  it.each([
    [['--rows', '100', '--workers', '5000'], /^bspml: error: simulate: --workers 5000: invalid job spec: workers: .*1000\n$/],
    [['--rows', '100', '--workers', '4', '--rounds', '1000000000'], /^bspml: error: simulate: --rounds 1000000000: invalid job spec: maxRounds: .*100000\n$/],
    [['--rows', '100', '--workers', '4', '--threads', '1000'], /^bspml: error: simulate: --threads 1000: invalid job spec: threads: .*64\n$/],
    [['--rows', '3', '--workers', '4'], /^bspml: error: simulate: --workers 4 is more than the 3 rows \(--rows\); every worker needs at least one row\n$/],
    [['--rows', '30', '--workers', '4', '--k', '31'], /^bspml: error: simulate: --k 31 is larger than the 30 rows \(--rows\)\n$/],
  ])('simulate kmeans %j: one line naming the option, before any calibration', async (argv, message) => {
    // Act
    const result = await runBspml(['simulate', 'kmeans', '--dims', '2', ...argv]);

    // Assess
    oneLine(result, message);
    expect(result.stderr).not.toContain('calibrated');
  });

  it.each([
    [['simulate', 'logreg', '--dims', '4', '--rows', '100', '--workers', '2', '--classes', '2'], /^bspml: error: --classes 2: multinomial logistic regression has 3 classes or more \(logreg only\)\n$/],
    [['simulate', 'kmeans', '--dims', '4', '--rows', '100', '--workers', '2', '--classes', '4'], /^bspml: error: --classes 4: multinomial logistic regression has 3 classes or more \(logreg only\)\n$/],
    [['simulate', 'logreg', '--dims', '4', '--rows', '100', '--workers', '2', '--classes', '4', '--solver', 'newton'], /^bspml: error: --solver newton: with --classes, lbfgs or giant\n$/],
  ])('%j: one line naming the option, before any calibration', async (argv, message) => {
    // Act
    const result = await runBspml(argv);

    // Assess
    oneLine(result, message);
    expect(result.stderr).not.toContain('calibrated');
  });

  it('tune --max-workers 1000000000: one line', async () => {
    const result = await runBspml(['tune', 'kmeans', '--rows', '1000', '--dims', '2', '--max-workers', '1000000000']);
    oneLine(result, /^bspml: error: tune: --max-workers 1000000000: a job has at most 1000 workers\n$/);
  });

  it('tune --k beyond the rows: one line', async () => {
    const result = await runBspml(['tune', 'kmeans', '--rows', '10', '--dims', '2', '--k', '11']);
    oneLine(result, /^bspml: error: tune: --k 11 is larger than the 10 rows \(--rows\)\n$/);
  });
});

describe('issue 20 defect 7: absurd sizes answer at once', () => {
  it('simulate --rows 10^15 on 4 workers: refused after calibration, naming Lambda\'s limit and the options that lift it', async () => {
    const result = await runBspml(['simulate', 'kmeans', '--rows', '1000000000000000', '--dims', '2', '--workers', '4']);
    oneLine(result, /bspml: error: simulate: --rows 1000000000000000 on --workers 4 × --threads 1: a worker would compute about [\d,]+ s per round, beyond Lambda's limit of 900 s: give more --workers or --threads, or fewer --rows\n$/);
  });

  it('simulate ends on SIGTERM while it computes', { timeout: 60_000 }, async () => {
    // Prepare: a simulation of many rounds and workers (about 35 s here).
    const child = spawn(process.execPath, cliArgs(['simulate', 'kmeans', '--rows', '1000000', '--dims', '2', '--workers', '100', '--rounds', '900']), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('calibrated') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 500)); // into the simulation proper

    // Act
    child.kill('SIGTERM');
    const ended = await Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 5000))]);
    if (ended === 'still running') child.kill('SIGKILL');

    // Assess
    expect(ended, stderr).toEqual({ code: null, signal: 'SIGTERM' });
  });
});

describe('issue 20 defect 9: outputs are checked first', () => {
  const tempDir = useTempDirs('bspml-simout-');

  it('simulate --json DIR: refused before simulating', async () => {
    const dir = await tempDir();
    const result = await runBspml(['simulate', 'kmeans', '--rows', '1000', '--dims', '2', '--workers', '2', '--json', dir]);
    oneLine(result, /^bspml: error: .*: cannot write: is a directory \(give a file name\)\n$/);
    expect(result.stderr).not.toContain('calibrated');
  });

  it('tune --out missing/t.html: refused before simulating, nothing written', async () => {
    const dir = await tempDir();
    const result = await runBspml(['tune', 'kmeans', '--rows', '1000', '--dims', '2', '--out', join(dir, 'missing', 't.html')]);
    oneLine(result, /^bspml: error: .*missing\/t\.html: cannot write: .*no such file or directory/);
    expect(result.stderr).not.toContain('calibrated');
    await mkdir(join(dir, 'x'));
    expect(await readdir(dir)).toEqual(['x']);
  });
});
