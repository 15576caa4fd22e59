/*
 * Batch predictions against loading (issue 24's target: batch predictions at ≥ the loading speed of
 * training). Cases:
 *   kmeans, multinomial: 4 CSV parts of 100,000 rows × 16 features (`bspml gen blobs`), a model of
 *     8 centres or 8 classes (2 or 9 numbers written a row);
 *   wide: 4 CSV parts of 5,000 rows × 784 features (pixel-like integers, bench/imageLike.ts), a
 *     multinomial of 10 classes (784 numbers read a row, 11 written): the issue's own shape.
 * With --s3 the parts are in S3 (s3rver in this process, as the tests start it) and the predictions
 * are written there (`bspml predict --data s3://… --out s3://…`); else local files in and out.
 * Data, outputs and s3rver's store go to a temporary directory, removed however the run ends.
 * In one process, alternately, BENCH_RUNS times (default 3), after one untimed load: loading the 4
 * shards through the data plane with the parse pool training's workers use (the model's features
 * only), then `batchPredict` over the same parts with the same pool (CSV blocks parsed, predicted
 * and formatted in its threads). Prints the speed ratio (loading time / batch time), the batch's
 * split of time, both sides' CPU time (all threads) and the load average with each run, then the
 * ratios' spread.
 *
 *   node --import tsx bench/predict-batch.ts [kmeans|multinomial|wide] [--s3] [--unstaged] [--threads N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/aws/s3.js';
import { datasetSource } from '../src/cli/datasets.js';
import { runCli } from '../src/cli/main.js';
import { startS3rver, type LocalS3 } from '../src/emulators/s3rver.js';
import { openParsePool } from '../src/runtime/parsePool.js';
import { batchPredict } from '../src/serve/batch.js';
import { FormatPool } from '../src/serve/formatPool.js';
import { directorySink, s3Sink } from '../src/serve/partSink.js';
import { syntheticModel } from '../src/serve/synthetic.js';
import { imageLike } from './imageLike.js';

const kind = (['multinomial', 'wide'] as const).find((k) => process.argv.includes(k)) ?? 'kmeans';
const onS3 = process.argv.includes('--s3');
// --unstaged: the design before (shards loaded whole, predicted in this thread, formatted in the format pool), for comparison.
const unstaged = process.argv.includes('--unstaged');
const at = process.argv.indexOf('--threads');
const threads = at >= 0 ? Number(process.argv[at + 1]) : availableParallelism();
const runs = Number(process.env.BENCH_RUNS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'bspml-predict-batch-'));
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
const BUCKET = 'bspml-predict-batch';
let s3: LocalS3 | undefined;
try {
  const local = join(dir, 'parts/');
  mkdirSync(local);
  const dims = kind === 'wide' ? 784 : 16;
  const rows = kind === 'wide' ? 5_000 : 100_000;
  for (let p = 0; p < 4; p++) {
    const file = join(local, `part-${p}.csv`);
    if (kind === 'wide') {
      const data = imageLike(rows, 10, p + 1);
      const lines = [Array.from({ length: dims }, (_, j) => `x${j}`).join(',')];
      for (let i = 0; i < rows; i++) lines.push(Array.from(data.features.subarray(i * dims, (i + 1) * dims)).join(','));
      writeFileSync(file, `${lines.join('\n')}\n`);
    } else {
      const code = await runCli(['gen', 'blobs', '--rows', String(rows), '--dims', String(dims), '--centers', '8', '--seed', String(p), '--out', file], { stdout: quiet, stderr: quiet });
      if (code !== 0) throw new Error('bspml gen failed');
    }
  }
  let data = local;
  let endpoint: string | undefined;
  const client = onS3 ? createS3Client({ endpoint: (s3 = await startS3rver([BUCKET])).endpoint }) : undefined;
  if (s3 && client) {
    endpoint = s3.endpoint;
    for (const name of (await readdir(local)).sort()) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `parts/${name}`, Body: await readFile(join(local, name)) }));
    data = `s3://${BUCKET}/parts/`;
  }
  const model = syntheticModel({ dims, classes: kind === 'kmeans' ? 8 : kind === 'wide' ? 10 : 8, kind: kind === 'kmeans' ? 'kmeans' : 'multinomial' });
  const pool = openParsePool(threads);
  let formatPool: FormatPool | undefined;
  const formatter = { format: (slice: Parameters<FormatPool['format']>[0]) => (formatPool ??= new FormatPool(threads)).format(slice) };
  const shape = kind === 'wide' ? '20,000 rows × 784 features (pixel-like integers), multinomial, 10 classes' : `400,000 rows × 16 features, ${kind === 'kmeans' ? 'k-means, 8 centres' : 'multinomial, 8 classes'}`;
  console.log(`${kind}: ${shape}, in 4 CSV parts ${onS3 ? 'in S3 (s3rver, this process), predictions written there' : 'on local disk'}; ${threads} parse threads${unstaged ? `, unstaged: shards loaded whole, predicted here, formatted in ${threads} format threads` : ''}`);
  // Untimed: the threads start and the files reach the page cache before either side is timed.
  const warm = await datasetSource(data, endpoint);
  const warmLayout = await warm.datasets.describe({ uri: data, features: [...model.featureNames] });
  for (let s = 0; s < 4; s++) await warm.datasets.loadShard(warmLayout, s, 4, { parser: pool.parser });
  warm.close();
  const ratios: number[] = [];
  // CPU time as well as wall time: on cores shared with other work, wall time says more about the
  // neighbours than about either side; where both keep every core busy the ratio is the CPU ratio.
  const cpuRatios: number[] = [];
  const cpuSince = (from: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(from);
    return (used.user + used.system) / 1000;
  };
  for (let run = 1; run <= runs; run++) {
    const loading = await datasetSource(data, endpoint);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const layout = await loading.datasets.describe({ uri: data, features: [...model.featureNames] });
    for (let s = 0; s < 4; s++) await loading.datasets.loadShard(layout, s, 4, { parser: pool.parser });
    const loadMs = performance.now() - t0;
    const loadCpu = cpuSince(c0);
    loading.close();
    const batch = await datasetSource(data, endpoint);
    const sink = client ? s3Sink(client, `s3://${BUCKET}/out-${run}/`) : directorySink(join(dir, `out-${run}/`));
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    const result = await batchPredict(model, data, batch.datasets, sink, { parser: pool.parser, ...(unstaged ? {} : { stage: pool.staged }), formatter });
    const batchMs = performance.now() - t1;
    const batchCpu = cpuSince(c1);
    batch.close();
    const ms = (v: number) => `${(v / 1000).toFixed(2)} s`;
    ratios.push(loadMs / batchMs);
    cpuRatios.push(loadCpu / batchCpu);
    const cpu = (c: number, wall: number) => `${ms(c)} CPU, ${(c / wall).toFixed(2)} cores busy`;
    console.log(
      `run ${run}: loading ${ms(loadMs)} (${cpu(loadCpu, loadMs)}), batch ${ms(batchMs)} (${cpu(batchCpu, batchMs)}; ${result.staged} of ${result.shards} shards predicted in the parse threads; waited ${ms(result.loadMs)} for shards, ${ms(result.writeMs)} for writes): ratio ${(loadMs / batchMs).toFixed(2)}×, in CPU ${(loadCpu / batchCpu).toFixed(2)}×; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
  }
  const spread = (v: number[]) => `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}×`;
  console.log(`${kind}${onS3 ? ' (S3)' : ''}${unstaged ? ' unstaged' : ''}: ratio ${spread(ratios)} over ${runs} runs; in CPU time (the process's, all threads${onS3 ? ', s3rver included' : ''}) ${spread(cpuRatios)}`);
  client?.destroy();
  await Promise.all([pool.close(), formatPool?.close()]);
} finally {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
}
