import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliArgs, runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * The real program as a separate process. Checks what only a process shows: the exit code set on
 * process.exitCode, and the streams the error and the report go to. The first test runs
 * src/cli/main.ts as the entry script through tsx (it runs itself then, no build needed); the
 * others the CLI bundled once per run (test/helpers/cli.ts's cliArgs), which saves tsx's start.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tempDir = useTempDirs();

function bspml(argv: string[], env: Record<string, string> = {}, fromSource = false): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      fromSource ? ['--import', 'tsx', 'src/cli/main.ts', ...argv] : cliArgs(argv),
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1', ...env } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

describe('bspml as a process', () => {
  it('trains on good data: exit 0, the report on stdout, the model written', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'blobs.csv');
    const out = join(dir, 'model.json');
    expect((await runBspml(['gen', 'blobs', '--rows', '400', '--dims', '2', '--centers', '2', '--out', data])).code).toBe(0);

    // Act
    const result = await bspml(['train', 'kmeans', '--data', data, '--k', '2', '--workers', '2', '--threads', '1', '--out', out, '--no-progress'], {}, true);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^k-means, k = 2, on .+ \(400 rows × 2 features\)$/m);
    expect(result.stdout).toMatch(/^model\s+written to .+model\.json$/m);
    const model = JSON.parse(await readFile(out, 'utf8')) as { algorithm: string; centroids: number[][] };
    expect(model.algorithm).toBe('kmeans');
    expect(model.centroids).toHaveLength(2);
  });

  it('says so on stderr, with the reason, when the WebAssembly kernels cannot be used (a stale kernels.wasm), and still trains', async () => {
    // Prepare: a kernels.wasm with none of the kernels (as one built before they were added would lack some).
    const dir = await tempDir();
    const data = join(dir, 'blobs.csv');
    const stale = join(dir, 'kernels.wasm');
    await writeFile(stale, new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    expect((await runBspml(['gen', 'blobs', '--rows', '400', '--dims', '2', '--centers', '2', '--out', data])).code).toBe(0);

    // Act
    const result = await bspml(['train', 'kmeans', '--data', data, '--k', '2', '--threads', '1', '--no-progress'], { BSPML_WASM_FILE: stale, BSPML_KERNELS: '' });

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^bspml: warning: WebAssembly kernels unavailable \(.*kernels\.wasm lacks heapBase, kmeansAccumulate, .*run npm run build:wasm\); using the slower TypeScript loops\n$/);
    expect(result.stdout).toMatch(/^k-means, k = 2/m);
  });

  it('fails on bad data: exit 1, one line on stderr naming the file, line and field, nothing on stdout', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'bad.csv');
    await writeFile(data, 'a,b\n1,2\n3,oops\n');

    // Act
    const result = await bspml(['train', 'kmeans', '--data', data, '--k', '1', '--threads', '1', '--no-progress']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`bspml: error: ${data}: row 3, field "b": "oops" is not a number\n`);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
  });
});
