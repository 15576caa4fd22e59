import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReportSchema, type RunReport } from '../../src/report/schema.js';
import { VERSION } from '../../src/version.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * The run report of `bspml train`: JSON by the schema docs/report.md documents, --json on standard
 * output, an HTML page with its charts, and --quiet / --version.
 */

const tempDir = useTempDirs('bspml-report-');
const FAST = ['--workers', '2', '--threads', '1', '--no-progress'];

async function blobs(dir: string): Promise<string> {
  const data = join(dir, 'blobs.csv');
  const gen = await runBspml(['gen', 'blobs', '--rows', '1500', '--dims', '3', '--centers', '3', '--out', data]);
  expect(gen.code, gen.stderr).toBe(0);
  return data;
}

/** Every per-round array has one entry per recorded round. */
function expectRoundArrays(report: RunReport): void {
  const n = report.totals.rounds;
  expect(n).toBeGreaterThan(0);
  const { stats, ...columns } = report.rounds;
  for (const [name, values] of Object.entries(columns)) expect(values, name).toHaveLength(n);
  for (const [name, values] of Object.entries(stats)) expect(values, `stats.${name}`).toHaveLength(n);
}

describe('bspml train --report', () => {
  it('writes a JSON report with every documented field, per-round arrays as long as the rounds', async () => {
    // Prepare
    const dir = await tempDir();
    const data = await blobs(dir);
    const file = join(dir, 'run.json');

    // Act
    const result = await runBspml(['train', 'kmeans', '--data', data, '--k', '3', '--report', file, ...FAST]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const report = runReportSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    expectRoundArrays(report);
    expect(report).toMatchObject({ source: 'local', bspmlVersion: VERSION, job: { status: 'SUCCEEDED', backend: 'memory' }, spec: { algorithm: 'kmeans', k: 3, workers: 2 } });
    expect(report.data).toMatchObject({ uri: data, rows: 1500, dims: 3 });
    expect(report.result).toMatchObject({ algorithm: 'kmeans', rounds: report.totals.rounds });
    expect(Object.keys(report.rounds.stats)).toContain('shift');
    // The preparation round (round 0) is reported apart; the training rounds count from 1.
    expect(report.prepare).toMatchObject({ workers: 2 });
    expect(report.totals.prepareMs).toBe(report.prepare!.wallMs);
    expect(report.rounds.round[0]).toBe(1);
    // Local runs measure store I/O per round; totals are the sums of the rounds.
    expect(report.rounds.requests.every((v) => typeof v === 'number' && v > 0)).toBe(true);
    expect(report.totals.requests).toBe(report.rounds.requests.reduce((a, b) => a! + b!, 0));
    expect(report.totals.computeMs).toBeCloseTo(report.rounds.computeMs.reduce((a, b) => a + b, 0), 6);
    // A memory run is priced as the stack's default data plane, at the default worker memory.
    expect(report.cost).toMatchObject({ backend: 'dynamodb', workerMemoryMb: 3008 });
    const { total, ...services } = report.cost.usd;
    expect(total).toBeCloseTo(Object.values(services).reduce((a, b) => a + b, 0), 12);
    expect(report.cost.usd.lambda).toBeGreaterThan(0);
    // The text report gains the projected cost line.
    expect(result.stdout).toMatch(/^AWS cost {3}≈ \$\d+\.\d{6} on a stack \(dynamodb data plane, 3008 MB arm64 workers\): .*Lambda \$/m);
  });

  it('prices the projected cost at the architecture asked for, and refuses one Lambda does not have', async () => {
    // Prepare
    const dir = await tempDir();
    const data = await blobs(dir);

    // Act
    const x86 = await runBspml(['train', 'kmeans', '--data', data, '--k', '3', '--seed', '5', '--json', '--architecture', 'x86_64', ...FAST]);
    const arm = await runBspml(['train', 'kmeans', '--data', data, '--k', '3', '--seed', '5', '--json', ...FAST]);
    const bad = await runBspml(['train', 'kmeans', '--data', data, '--k', '3', '--architecture', 'sparc', ...FAST]);

    // Assess: the same job; its GB-seconds at x86's price where the default is arm64's (Graviton's,
    // about 20 % lower), the requests at the same price. Timings differ between the two runs, so the
    // check is each run's own arithmetic: Lambda's dollars less its requests' over the GB-s price.
    expect(x86.code, x86.stderr).toBe(0);
    expect(arm.code, arm.stderr).toBe(0);
    const a = runReportSchema.parse(JSON.parse(arm.stdout));
    const x = runReportSchema.parse(JSON.parse(x86.stdout));
    expect(a.cost.architecture).toBe('arm64');
    expect(x.cost.architecture).toBe('x86_64');
    expect(x.cost.usd.dynamodb).toBe(a.cost.usd.dynamodb);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.split('\n')[0]).toMatch(/--architecture.*'sparc' is invalid.*arm64, x86_64/);
  });

  it('--json prints the report, and nothing else, on standard output; --worker-memory prices it', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'classes.csv');
    const gen = await runBspml(['gen', 'classification', '--rows', '1500', '--dims', '3', '--out', data]);
    expect(gen.code, gen.stderr).toBe(0);
    const base = ['train', 'logreg', '--data', data, '--max-rounds', '5', '--workers', '2', '--threads', '1'];

    // Act
    const big = await runBspml([...base, '--json']);
    const small = await runBspml([...base, '--json', '--worker-memory', '1024']);

    // Assess: the progress bar is off too; the report is priced at the memory asked for. (How the
    // Lambda part scales with it is test/aws/cli.test.ts's: two runs' timings differ too much on a
    // loaded machine to compare their dollars.)
    expect(big.code, big.stderr).toBe(0);
    expect(big.stderr).toBe('');
    const a = runReportSchema.parse(JSON.parse(big.stdout));
    const b = runReportSchema.parse(JSON.parse(small.stdout));
    expectRoundArrays(a);
    expect(a.totals.rounds).toBe(5);
    expect(Object.keys(a.rounds.stats)).toEqual(expect.arrayContaining(['gradNorm', 'accuracy']));
    expect(a.cost.workerMemoryMb).toBe(3008);
    expect(b.cost.workerMemoryMb).toBe(1024);
  });

  it('writes a self-contained HTML page with three charts', async () => {
    // Prepare
    const dir = await tempDir();
    const data = await blobs(dir);
    const file = join(dir, 'run.html');

    // Act
    const result = await runBspml(['train', 'kmeans', '--data', data, '--k', '3', '--report', file, '--quiet', ...FAST]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('');
    const html = await readFile(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg[^>]*class="marks"/g)).toHaveLength(3);
    for (const title of ['inertia per round', 'time per round (ms)', 'projected AWS cost by service']) expect(html).toContain(title);
    // Marks, not empty frames: the line of the objective and the bars of time and cost.
    expect(html).toMatch(/class="mark-line[^"]*"/);
    expect(html.match(/class="mark-rect[^"]*"/g)!.length).toBeGreaterThanOrEqual(2);
    // Nothing fetched: no script, no external reference.
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect((await readdir(dir)).sort()).toEqual(['blobs.csv', 'run.html']);
  });

  it('refuses a report file of an unknown kind before training', async () => {
    const dir = await tempDir();
    const result = await runBspml(['train', 'kmeans', '--data', join(dir, 'absent.csv'), '--k', '3', '--report', join(dir, 'run.txt'), ...FAST]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`bspml: error: --report ${join(dir, 'run.txt')}: the file must end in .json or .html\n`);
  });
});

describe('bspml --version', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await runBspml(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${pkg.version}\n`);
  });
});
