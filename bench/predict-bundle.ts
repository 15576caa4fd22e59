import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { PREDICT_BUNDLE_LIMIT, PREDICT_LOAD_TARGET_MS } from '../src/serve/bundle.js';
import { ESM_REQUIRE_BANNER, LAMBDA_ESBUILD } from '../scripts/lambda-bundle.js';

/*
 * The predict function's bundle, built as serverless-esbuild builds it (serverless.yml's esbuild
 * settings): its deflated size (a zip's entry, less ~100 bytes of headers) and its module-load
 * time in new Node 24 processes (npm's `node@24`, as test/aws/node-runtime.test.ts runs it).
 * `npm run bench:predict-bundle [-- --runs N]`. Prints the load average beside the timings.
 */

const ROOT = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 0) || 10;

const dir = await mkdtemp(join(tmpdir(), 'bspml-predict-bundle-'));
try {
  const outfile = join(dir, 'handlers/predict.mjs');
  await build({ ...LAMBDA_ESBUILD, banner: ESM_REQUIRE_BANNER, entryPoints: [join(ROOT, 'handlers/predict.ts')], outfile });
  const bytes = await readFile(outfile);
  const deflated = deflateRawSync(bytes, { level: 9 }).byteLength;
  await writeFile(join(dir, 'load.mjs'), "const t0 = performance.now(); await import('./handlers/predict.mjs'); const t1 = performance.now(); console.log(JSON.stringify({ node: process.versions.node, startMs: t0, loadMs: t1 - t0 }));\n");
  const samples: { node: string; startMs: number; loadMs: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await promisify(execFile)('npx', ['-y', '-p', 'node@24', 'node', join(dir, 'load.mjs')], { cwd: dir, env: { ...process.env, BSPML_BUCKET: 'bench', AWS_REGION: 'us-east-1' }, timeout: 120_000 });
    samples.push(JSON.parse(stdout.trim().split('\n').at(-1)!));
  }
  const loads = samples.map((s) => s.loadMs).sort((a, b) => a - b);
  const starts = samples.map((s) => s.startMs).sort((a, b) => a - b);
  const mid = (v: number[]) => v[Math.floor(v.length / 2)]!;
  console.log(`predict bundle: ${(bytes.byteLength / 1024).toFixed(0)} KB minified, ${(deflated / 1024).toFixed(0)} KB deflated (limit ${PREDICT_BUNDLE_LIMIT / 1000} KB zipped)`);
  console.log(`module load under Node ${samples[0]!.node}, ${runs} new processes: median ${mid(loads).toFixed(1)} ms, ${loads[0]!.toFixed(1)}–${loads.at(-1)!.toFixed(1)} (target ≤ ${PREDICT_LOAD_TARGET_MS} ms); Node's own start before it: median ${mid(starts).toFixed(1)} ms`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${(await import('node:os')).availableParallelism()} cores`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
