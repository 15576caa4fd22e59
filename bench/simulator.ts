/*
 * `npm run bench:sim`: the simulator held against this machine, two ways.
 *
 * 1. As a user measures it (issue 18's target: within 1.35): `bspml train kmeans` on 1M × 16 blobs,
 *    k = 16, for 5 and for 45 rounds, as separate processes; the slope of their wall times is the
 *    per-round time. `bspml simulate --profile local` with the same options and rounds (its
 *    defaults are train's: one worker, a thread per core, the memory store) predicts it by the
 *    slope of its simulated wall times. BENCH_SLOPE_ROUNDS=5,45; BENCH_SLOPE=0 skips this part.
 *
 * 2. In process: trains k-means for real on the
 * local runtime and simulates the same job with `--profile local`, for 1×1, 1×2 and 4×1, and prints
 * the median per-round times and their ratio (target: within a factor of 1.35), with the load
 * average before and after (the machine may be shared). BENCH_ROWS (default 1,000,000),
 * BENCH_ROUNDS (default 8), BENCH_REPEATS (default 3: the whole comparison that many times);
 * BENCH_OUT=FILE writes the figures as JSON (nothing is written by default).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdLocal, slopeAgainstTrain } from '../src/sim/holdLocal.js';

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const slopes = [];
if (process.env.BENCH_SLOPE !== '0') {
  const [short, long] = (process.env.BENCH_SLOPE_ROUNDS ?? '5,45').split(',').map(Number) as [number, number];
  process.stdout.write(`bspml train against bspml simulate --profile local: k-means ${rows.toLocaleString('en-US')} × 16, k = 16, ${short} and ${long} rounds; ${availableParallelism()} cores\n`);
  process.stdout.write('| run | load before | train ms (short, long) | measured ms/round | simulated ms (short, long) | predicted ms/round | predicted / measured | load after |\n|--:|--:|--:|--:|--:|--:|--:|--:|\n');
  for (let run = 1; run <= repeats; run++) {
    const before = load();
    const dir = mkdtempSync(join(tmpdir(), 'bspml-bench-sim-'));
    try {
      const s = await slopeAgainstTrain({ rows, dims: 16, k: 16, rounds: [short, long], cli: [process.execPath, '--import', 'tsx', 'src/cli/main.ts'], dir });
      slopes.push({ ...s, loadBefore: before, loadAfter: loadavg() });
      process.stdout.write(
        `| ${run} | ${before} | ${s.trainMs.map((m) => m.toFixed(0)).join(', ')} | ${s.measuredMsPerRound.toFixed(1)} | ${s.simulatedMs.map((m) => m.toFixed(0)).join(', ')} | ${s.predictedMsPerRound.toFixed(1)} | ${s.ratio.toFixed(2)} | ${load()} |\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write('\n');
}

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
if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${JSON.stringify({ rows, rounds, cores: availableParallelism(), slopes, runs }, null, 2)}\n`);
