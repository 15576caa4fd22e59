/*
 * `npm run bench:threads`: inner-thread scaling of one worker, the question a 6-vCPU Lambda asks:
 * how much faster is a round's compute with 1, 2, … 6 inner threads over the same shard? Pools of
 * every thread count time the same partial, interleaved round by round (bench/pools.ts), so load
 * from other processes falls on all of them alike. Meaningful only on a machine with at least as
 * many idle cores as the largest count: the load average is printed before and after.
 *
 *   BENCH_THREADS=1,2,3,4,6 (default: 1 … min(6, available parallelism))
 *   BENCH_ROWS (default 1,000,000), BENCH_REPEATS (default 7)
 *   --out FILE   also write the figures as JSON (nothing is written by default)
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { kernelInfo } from '../src/kernels/backend.js';
import { kmeansCase, label, logregCase } from './cases.js';
import { logregModel, timeRounds } from './pools.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const COUNTS = (process.env.BENCH_THREADS ?? Array.from({ length: Math.min(6, availableParallelism()) }, (_, i) => i + 1).join(','))
  .split(',')
  .map(Number);
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? process.argv[outIndex + 1] : undefined;

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const kernels = kernelInfo();
console.log(`${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, Node ${process.version}; kernels ${kernels.kind === 'wasm' ? `wasm (${kernels.build})` : 'js'}; load ${load()}`);
console.log(`threads ${COUNTS.join(', ')}; ${label(ROWS)} rows; compute of one round, fastest and median of ${REPEATS} after a warm-up`);

const cases = [
  (() => {
    const c = kmeansCase(ROWS, 16, 16, 1);
    return { name: c.name, data: c.data, shape: { algorithm: 'kmeans' as const, dims: 16, k: 16 }, model: c.centroids };
  })(),
  (() => {
    const c = logregCase(ROWS, 32, 3);
    return { name: c.name, data: c.data, shape: { algorithm: 'logreg' as const, dims: 32, k: 1 }, model: logregModel(c.w, 32) };
  })(),
];

const results = [];
for (const c of cases) {
  const timings = await timeRounds(c.data, c.shape, c.model, COUNTS, REPEATS);
  const base = timings[0]!.compute.minMs;
  const rows = COUNTS.map((threads, i) => {
    const t = timings[i]!.compute;
    const speedup = base / t.minMs;
    return { threads, minMs: t.minMs, medianMs: t.medianMs, speedup, efficiency: speedup / (threads / COUNTS[0]!) };
  });
  console.log(`\n${c.name}`);
  console.log('| threads | fastest (ms) | median (ms) | speed-up vs ' + COUNTS[0] + ' | efficiency |');
  console.log('|--:|--:|--:|--:|--:|');
  for (const r of rows) console.log(`| ${r.threads} | ${r.minMs.toFixed(1)} | ${r.medianMs.toFixed(1)} | ${r.speedup.toFixed(2)}× | ${(r.efficiency * 100).toFixed(0)} % |`);
  results.push({ case: c.name, rows });
}
console.log(`\nload after: ${load()}`);
if (out) writeFileSync(out, `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version }, kernels, rows: ROWS, repeats: REPEATS, results }, null, 2)}\n`);
