import { execFile } from 'node:child_process';
import { cp, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '../helpers/cli.js';

/*
 * The build as npm start uses it: bin/bspml.js without a build says what to run, and the
 * WebAssembly kernels are rebuilt only when their sources (or the asc flags) changed.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tempDir = useTempDirs('bspml-build-');

function node(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, encoding: 'utf8' }, (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }));
  });
}

describe('the build', () => {
  it('bin/bspml.js before a build: exit 1 and "run npm run build first", no stack', async () => {
    // Prepare: the package as a clone has it, without dist/.
    const dir = await tempDir();
    await mkdir(join(dir, 'bin'));
    await cp(join(ROOT, 'bin', 'bspml.js'), join(dir, 'bin', 'bspml.js'));
    await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');

    // Act
    const result = await node([join(dir, 'bin', 'bspml.js'), '--version'], dir);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('bspml: not built yet: run npm run build first (dist/ is missing)\n');
  });

  it('rebuilds the kernels only when a source (the entry or a file it imports) or package.json is newer than both builds', async () => {
    // Prepare: the entry kernels.ts and one of the kernel files it imports.
    const dir = await tempDir();
    const wasm = join(dir, 'src', 'kernels', 'wasm');
    await mkdir(wasm, { recursive: true });
    const at = (seconds: number) => new Date(1_700_000_000_000 + seconds * 1000);
    const files = {
      source: join(wasm, 'kernels.ts'),
      imported: join(wasm, 'simd.ts'),
      pkg: join(dir, 'package.json'),
      relaxed: join(wasm, 'kernels.wasm'),
      simd: join(wasm, 'kernels-simd128.wasm'),
    };
    for (const file of Object.values(files)) await writeFile(file, '');
    const fresh = async () => (await node([join(ROOT, 'scripts', 'wasm-fresh.mjs')], dir)).code === 0;

    // Act + Assess
    await utimes(files.source, at(0), at(0));
    await utimes(files.imported, at(0), at(0));
    await utimes(files.pkg, at(0), at(0));
    await utimes(files.relaxed, at(10), at(10));
    await utimes(files.simd, at(10), at(10));
    expect(await fresh()).toBe(true);
    await utimes(files.source, at(20), at(20));
    expect(await fresh()).toBe(false);
    await utimes(files.source, at(0), at(0));
    await utimes(files.imported, at(20), at(20));
    expect(await fresh()).toBe(false);
    await utimes(files.imported, at(0), at(0));
    await utimes(files.pkg, at(20), at(20));
    expect(await fresh()).toBe(false);
  });
});
