/*
 * Batch predictions against loading (issue 24's target: batch predictions at ≥ the loading speed of
 * training). 4 CSV parts of 100,000 rows × 16 features (`bspml gen blobs`, in a temporary
 * directory, removed however the run ends); in one process, alternately, BENCH_RUNS times (default
 * 3): loading the 4 shards through the data plane with the parse pool training's workers use, then
 * `batchPredict` over the same parts with the same pool and the format pool, parts written to a
 * temporary directory, after one untimed load. Prints the speed ratio (loading time / batch time), the batch's split of time
 * and the load average with each run.
 *
 *   node --import tsx bench/predict-batch.ts [kmeans|multinomial] [--threads N]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetSource } from '../src/cli/datasets.js';
import { runCli } from '../src/cli/main.js';
import { openParsePool } from '../src/runtime/parsePool.js';
import { batchPredict } from '../src/serve/batch.js';
import { FormatPool } from '../src/serve/formatPool.js';
import { directorySink } from '../src/serve/partSink.js';
import { syntheticModel } from '../src/serve/synthetic.js';

const kind = process.argv[2] === 'multinomial' ? 'multinomial' : 'kmeans';
const at = process.argv.indexOf('--threads');
const threads = at >= 0 ? Number(process.argv[at + 1]) : availableParallelism();
const runs = Number(process.env.BENCH_RUNS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'bspml-predict-batch-'));
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
try {
  const data = join(dir, 'parts/');
  mkdirSync(data);
  for (let p = 0; p < 4; p++) {
    const code = await runCli(['gen', 'blobs', '--rows', '100000', '--dims', '16', '--centers', '8', '--seed', String(p), '--out', join(data, `part-${p}.csv`)], { stdout: quiet, stderr: quiet });
    if (code !== 0) throw new Error('bspml gen failed');
  }
  const model = syntheticModel({ dims: 16, classes: 8, kind });
  const pool = openParsePool(threads);
  const formatter = new FormatPool(threads);
  console.log(`${kind}, 8 ${kind === 'kmeans' ? 'centres' : 'classes'}: 400,000 rows × 16 features in 4 CSV parts; ${threads} parse and ${threads} format threads`);
  // Untimed: the threads start and the files reach the page cache before either side is timed.
  const warm = datasetSource(data);
  const warmLayout = await warm.datasets.describe({ uri: data, features: [...model.featureNames] });
  for (let s = 0; s < 4; s++) await warm.datasets.loadShard(warmLayout, s, 4, { parser: pool.parser });
  warm.close();
  for (let run = 1; run <= runs; run++) {
    const loading = datasetSource(data);
    const t0 = performance.now();
    const layout = await loading.datasets.describe({ uri: data, features: [...model.featureNames] });
    for (let s = 0; s < 4; s++) await loading.datasets.loadShard(layout, s, 4, { parser: pool.parser });
    const loadMs = performance.now() - t0;
    loading.close();
    const batch = datasetSource(data);
    const t1 = performance.now();
    const result = await batchPredict(model, data, batch.datasets, directorySink(join(dir, `out-${run}/`)), { parser: pool.parser, stage: pool.staged, formatter });
    const batchMs = performance.now() - t1;
    batch.close();
    const ms = (v: number) => `${(v / 1000).toFixed(2)} s`;
    console.log(
      `run ${run}: loading ${ms(loadMs)}, batch ${ms(batchMs)} (waited ${ms(result.loadMs)} for shards, predicted ${ms(result.predictMs)}, formatted ${ms(result.formatMs)}, waited ${ms(result.writeMs)} for writes): ratio ${(loadMs / batchMs).toFixed(2)}×; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
  }
  await Promise.all([pool.close(), formatter.close()]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
