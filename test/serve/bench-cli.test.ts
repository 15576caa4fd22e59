import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * `bspml bench predict` and `bspml tune predict` end to end on a small synthetic model: the JSON
 * they promise (issue 24), and a page with its chart. What they measure is not asserted (no timed
 * unit tests): only that every figure is there and sane.
 */

describe('bspml bench predict and tune predict', () => {
  const tempDir = useTempDirs('bspml-bench-predict-');

  it('times the cold start in new processes and warm batches, writes JSON, and tunes from it', async () => {
    // Prepare
    const dir = await tempDir();
    const benchJson = join(dir, 'bench.json');
    const tuneJson = join(dir, 'tune.json');
    const page = join(dir, 'tune.html');

    // Act
    const bench = await runBspml(['bench', 'predict', '--synthetic', '20x4', '--cold-runs', '1', '--budget-ms', '20', '--json', benchJson]);
    const tune = await runBspml(['tune', 'predict', '--bench', benchJson, '--json', tuneJson, '--out', page]);

    // Assess
    expect(bench.code, bench.stderr).toBe(0);
    const result = JSON.parse(await readFile(benchJson, 'utf8'));
    expect(result.coldStartMs).toBeGreaterThan(0);
    expect(result.cold.parts.loadMs).toBeGreaterThan(0);
    expect(result.warm.map((w: { batchRows: number }) => w.batchRows)).toEqual([1, 100, 1000, 10000]);
    for (const w of result.warm) {
      expect(w.p50Ms).toBeGreaterThan(0);
      expect(w.p99Ms).toBeGreaterThanOrEqual(w.p50Ms);
      expect(w.samples).toBeGreaterThanOrEqual(20);
      expect(w.plainP50Ms).toBeGreaterThan(0);
    }
    // 20 × 4 is a multinomial: on the kernel where it is built, timed beside the plain loops.
    expect(result.kernels).toBe(process.env.BSPML_KERNELS === 'js' ? 'plain loops (BSPML_KERNELS=js)' : 'WebAssembly (relaxed)');
    expect(bench.stdout).toMatch(/plain loops p50 ms \(ratio\)/);
    expect(bench.stdout).toMatch(/cold start [\d.]+ ms \(median of 1 processes/);
    expect(tune.code, tune.stderr).toBe(0);
    const tuned = JSON.parse(await readFile(tuneJson, 'utf8'));
    for (const s of ['cost', 'speed', 'balanced']) {
      expect(Object.keys(tuned.recommendations[s])).toEqual(expect.arrayContaining(['memoryMb', 'batchRows', 'usdPerMillionRows', 'p50Ms']));
    }
    expect(tune.stdout).toMatch(/^cost\s+\d+ MB/m);
    const html = await readFile(page, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('$ per million rows');
  }, 120_000);

  it('refuses a run with neither a model nor a shape, and a shape it cannot read, with one line', async () => {
    // Act
    const none = await runBspml(['bench', 'predict']);
    const bad = await runBspml(['bench', 'predict', '--synthetic', '784by10']);

    // Assess
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('bspml: error: give --model FILE or --synthetic DIMSxCLASSES (one of them)\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^bspml: error: --synthetic 784by10: expected DIMSxCLASSES/);
  });

  it('refuses a --bench file that is not a bench result, with one line', async () => {
    // Prepare
    const dir = await tempDir();
    const file = join(dir, 'other.json');
    await writeFile(file, '{"rows": 3}');

    // Act
    const missing = await runBspml(['tune', 'predict', '--bench', join(dir, 'none.json')]);
    const other = await runBspml(['tune', 'predict', '--bench', file]);

    // Assess
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^bspml: error: --bench .*none\.json: cannot read a bspml bench predict result: ENOENT/);
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(`bspml: error: --bench ${file}: not a bspml bench predict --json result (no warm batches)\n`);
  });
});
