import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/*
 * Vitest global setup: bundles the CLI (src/cli/main.ts) once per run for the tests that start
 * `bspml` as a process (signals, exit codes, pipes), and names it in BSPML_TEST_CLI
 * (test/helpers/cli.ts spawns it with plain node). From source each such process loads tsx and
 * compiles the CLI's modules, ~0.6 s of CPU more than the bundle. The bundle is built from the
 * sources of this run, so it is never stale; packages stay outside it (resolved from the
 * repository's node_modules, the bundle sits in the repository), and every module keeps its own
 * import.meta.url, so what it finds beside itself (package.json, the kernels' WebAssembly, the
 * thread entry, tsx for threads) it finds as from source. The from-source path keeps a test of its
 * own (test/cli/bin.test.ts).
 */

const ROOT = resolve(import.meta.dirname, '../..');

export default async function setup(): Promise<(() => Promise<void>) | void> {
  if (process.env.BSPML_TEST_CLI) return;
  // Under /.esbuild*/, which git ignores.
  const dir = await mkdtemp(join(ROOT, '.esbuild-test-cli-'));
  const outfile = join(dir, 'bspml.mjs');
  await build({
    stdin: { contents: "import { main } from './src/cli/main.ts';\nawait main();\n", resolveDir: ROOT, sourcefile: 'bspml-test-entry.ts', loader: 'ts' },
    outdir: dir,
    entryNames: 'bspml',
    outExtension: { '.js': '.mjs' },
    // What the sources import lazily (`await import(...)`: the emulators, the AWS-only commands' clients)
    // stays lazy, in chunks beside the entry, as it is from source: bundled into one file, every
    // package those modules import would load at each start (s3rver, dynalite: ~0.2 s of CPU a process).
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    target: `node${process.versions.node.split('.')[0]}`,
    logLevel: 'warning',
    plugins: [
      {
        name: 'own-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async ({ path }) => ({
            contents: (await readFile(path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(path).href)),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  process.env.BSPML_TEST_CLI = outfile;
  return async () => {
    delete process.env.BSPML_TEST_CLI;
    await rm(dir, { recursive: true, force: true });
  };
}
