import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER, LAMBDA_ESBUILD } from '../../scripts/lambda-bundle.js';

/*
 * The functions run on Lambda's nodejs24.x (serverless.yml), while development may stay on Node 20.
 * The worker's thread entry and the WebAssembly kernels are bundled as the deployment bundles them,
 * then run under Node 24 itself (the npm package `node` ships its real binaries): both kernel builds
 * must load there and compute what they compute here.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = 'node@24';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bspml-node24-'));
  // The thread entry as src/aws/thread-bundle.cjs builds it for the worker (without keepNames).
  await build({ ...LAMBDA_ESBUILD, keepNames: false, entryPoints: [join(ROOT, 'src/inner/thread.ts')], outfile: join(dir, 'thread.mjs') });
  await build({ ...LAMBDA_ESBUILD, banner: ESM_REQUIRE_BANNER, entryPoints: [join(ROOT, 'test/aws/fixtures/runtime-probe.ts')], outfile: join(dir, 'probe.mjs') });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function probe(env: Record<string, string>): Promise<{ node: string; info: { kind: string; build?: string; reason?: string }; kernels: string[]; kmeans: number[]; logreg: number[] }> {
  const { stdout } = await promisify(execFile)('npx', ['-y', '-p', NODE, 'node', join(dir, 'probe.mjs')], {
    cwd: dir,
    env: { ...process.env, BSPML_THREAD_ENTRY: join(dir, 'thread.mjs'), BSPML_WASM_FILE: join(ROOT, 'src/kernels/wasm/kernels.wasm'), ...env },
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('the bundled thread and kernel code under Lambda\'s Node 24', () => {
  it('loads both WebAssembly builds, which compute the TypeScript loops\' partials', async () => {
    // Act
    const relaxed = await probe({});
    const simd128 = await probe({ BSPML_KERNELS: 'simd128' });
    const js = await probe({ BSPML_KERNELS: 'js' });

    // Assess
    expect(relaxed.node).toMatch(/^24\./);
    expect(relaxed.info).toEqual({ kind: 'wasm', build: 'relaxed' });
    expect(simd128.info).toEqual({ kind: 'wasm', build: 'simd128' });
    expect(relaxed.kernels).toEqual(['wasm', 'wasm']);
    expect(simd128.kernels).toEqual(['wasm', 'wasm']);
    expect(js.kernels).toEqual(['js', 'js']);
    // k-means partials bit for bit; logistic regression to rounding (fused multiply-add in the relaxed build).
    expect(relaxed.kmeans).toEqual(js.kmeans);
    expect(simd128.kmeans).toEqual(js.kmeans);
    expect(js.kmeans.at(-1)).toBeGreaterThan(0);
    for (const run of [relaxed, simd128]) {
      expect(run.logreg).toHaveLength(js.logreg.length);
      run.logreg.forEach((v, i) => expect(v).toBeCloseTo(js.logreg[i]!, 6));
    }
  }, 240_000);
});
