import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

/*
 * Vitest global setup: bundles the inner workers' entry (src/inner/thread.ts) once per run and
 * names it in BSPML_THREAD_ENTRY, the variable the deployed worker uses for its own bundle
 * (serverless.yml). Without it every thread a test starts registers tsx and compiles thread.ts
 * and its imports from source, ~0.3 s of CPU each, and the suite starts a few thousand threads.
 * The bundle is built from the sources of this run, so it is never stale; the from-source path
 * keeps a test of its own (test/inner/ThreadPool.test.ts). Child processes the tests spawn
 * inherit the variable. A BSPML_THREAD_ENTRY set by the caller is left as it is.
 */

const ROOT = resolve(import.meta.dirname, '../..');

export default async function setup(): Promise<(() => Promise<void>) | void> {
  if (process.env.BSPML_THREAD_ENTRY) return;
  const dir = await mkdtemp(join(tmpdir(), 'bspml-test-thread-'));
  const outfile = join(dir, 'thread.mjs');
  await build({
    entryPoints: [join(ROOT, 'src/inner/thread.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    logLevel: 'warning',
  });
  process.env.BSPML_THREAD_ENTRY = outfile;
  return async () => {
    delete process.env.BSPML_THREAD_ENTRY;
    await rm(dir, { recursive: true, force: true });
  };
}
