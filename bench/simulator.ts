/*
 * `npm run bench:sim`: the simulator held against this machine. Trains k-means for real on the
 * local runtime and simulates the same job with `--profile local`, for 1×1, 1×2 and 4×1, and prints
 * the median per-round times and their ratio (target: within a factor of 1.35), with the load
 * average before and after (the machine may be shared). BENCH_ROWS (default 1,000,000),
 * BENCH_ROUNDS (default 8), BENCH_REPEATS (default 3: the whole comparison that many times);
 * BENCH_OUT=FILE writes the figures as JSON (nothing is written by default).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { holdLocal } from '../src/sim/holdLocal.js';

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const runs = [];
process.stdout.write(`k-means ${rows.toLocaleString('en-US')} × 16, k = 16, ${rounds} rounds; ${availableParallelism()} cores; load ${load()}\n`);
process.stdout.write('| run | W × I | measured ms/round | predicted ms/round | predicted / measured |\n|--:|---|--:|--:|--:|\n');
for (let run = 1; run <= repeats; run++) {
  const result = await holdLocal({ rows, dims: 16, k: 16, rounds, cases: [[1, 1], [1, 2], [4, 1]] });
  runs.push({ ...result, load: loadavg() });
  for (const c of result.cases) {
    process.stdout.write(`| ${run} | ${c.workers} × ${c.threads} | ${c.measuredMs.toFixed(1)} | ${c.predictedMs.toFixed(1)} | ${c.ratio.toFixed(2)} |\n`);
  }
  process.stdout.write(`|  | calibration ${(result.msPerRow * 1e6).toFixed(1)} ns/row; load ${load()} | | | |\n`);
}
if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${JSON.stringify({ rows, rounds, cores: availableParallelism(), runs }, null, 2)}\n`);
