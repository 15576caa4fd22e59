import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Benchmarks never write over the committed figures: `bspml bench backends` writes under the OS
 * temp dir, or --out; only --update-docs touches docs/backends/.
 */

const tempDir = useTempDirs('bspml-bench-out-');
const DOCS = fileURLToPath(new URL('../../docs/backends/', import.meta.url));
const QUICK = ['bench', 'backends', '--backends', 'memory', '--workers', '1', '--sizes', '1', '--rounds', '3', '--cell-budget-ms', '50'];
const savedTmp = process.env.TMPDIR;

afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});

async function digest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(dir)).sort()) hash.update(name).update(await readFile(join(dir, name)));
  return hash.digest('hex');
}

describe('bspml bench backends: where it writes', () => {
  it('writes under the OS temp dir by default and to --out when given, never over docs/backends/', async () => {
    // Prepare
    const before = await digest(DOCS);
    const temp = await tempDir();
    const out = join(await tempDir(), 'figures');
    process.env.TMPDIR = temp;

    // Act
    const byDefault = await runBspml(QUICK);
    const toOut = await runBspml([...QUICK, '--out', out]);

    // Assess
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(toOut.code, toOut.stderr).toBe(0);
    expect((await readdir(join(temp, 'bspml-bench', 'backends'))).sort()).toEqual(['backends.json', 'backends.svg']);
    expect((await readdir(out)).sort()).toEqual(['backends.json', 'backends.svg']);
    expect(toOut.stdout).toContain(`wrote ${join(out, 'backends.json')} and ${join(out, 'backends.svg')}`);
    expect(await digest(DOCS)).toBe(before);
  });

  it('refuses --out with --update-docs', async () => {
    const result = await runBspml([...QUICK, '--out', await tempDir(), '--update-docs']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('bspml: error: --out and --update-docs: give one of them\n');
  });
});
