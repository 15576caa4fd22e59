import { MemoryDatasetSource } from '../data/sources/MemoryDatasetSource.js';
import { generateBlobs } from '../data/generate.js';
import { LocalRuntime } from '../runtime/LocalRuntime.js';
import { MemoryStore } from '../stores/MemoryStore.js';
import { calibrate } from './calibrate.js';
import { localProfile } from './profile.js';
import { simulate } from './simulate.js';

export interface HoldCase {
  workers: number;
  threads: number;
  /**
   * Fastest per-round time (ms) of the real local run, over rounds after the first (which loads the
   * shards), and the simulation's per-round time with the fastest calibration round, taken just
   * before: on a shared machine the fastest of several is the least disturbed estimate of each.
   */
  measuredMs: number;
  predictedMs: number;
  ratio: number;
  /** The same with medians on both sides (noisier under load). */
  measuredMedianMs: number;
  predictedMedianMs: number;
  measuredRoundsMs: number[];
  calibrationRoundsMs: number[];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : 0;
}

/**
 * Holds the simulator's `local` profile against this machine: trains k-means for real with the
 * local runtime (memory store) and simulates the same job, for each W × I, and compares the median
 * per-round time — publish to end of aggregation, as `bspml train` reports it — over rounds after
 * the first (the first loads the shards). One calibration, on the same shape, runs before the cases.
 */
export async function holdLocal(options: { rows: number; dims: number; k: number; rounds: number; cases: [number, number][]; seed?: number }): Promise<{ msPerRow: number; cases: HoldCase[] }> {
  const { rows, dims, k, rounds } = options;
  const { table } = generateBlobs({ rows, dims, centers: k, seed: options.seed ?? 5, std: 2 });
  const datasets = new MemoryDatasetSource().add('blobs', { source: 'blobs', rows, dims, features: table.values, featureNames: table.columns });
  const shape = { algorithm: 'kmeans' as const, dims, k };
  const cases: HoldCase[] = [];
  // One calibration for every case, so that the predictions differ only by what the model says
  // about workers and threads.
  const cal = await calibrate(shape, { fresh: true, rounds: 7 });
  // As `bspml simulate --profile local` does: the marginal time per row, and the call's fixed cost
  // per round apart.
  const msPerRow = cal.marginalMsPerRow;
  const profile = localProfile();
  profile.threadRoundTripMs.value = cal.callMs;
  for (const [workers, threads] of options.cases) {
    const runtime = new LocalRuntime({ store: new MemoryStore(), datasets, defaultThreads: threads });
    let measuredRoundsMs: number[];
    try {
      const out = await runtime.train({ algorithm: 'kmeans', k, seed: 3, workers, threads, maxRounds: rounds, tol: 0, data: { uri: 'blobs' } });
      measuredRoundsMs = out.rounds.slice(1).map((r) => r.aggregatedAt - r.publishedAt);
    } finally {
      await runtime.close();
    }
    const config = { algorithm: 'kmeans', rows, dims, k, workers, threads, memoryMb: 10_240, rounds, backend: 'memory', sync: 'event', seed: 3 } as const;
    const fastest = await simulate(config, profile, () => msPerRow);
    const typical = await simulate(config, profile, () => cal.msPerRow);
    const measuredMs = Math.min(...measuredRoundsMs);
    const predictedMs = median(fastest.roundTimes.slice(1).map((s) => s * 1000));
    cases.push({
      workers,
      threads,
      measuredMs,
      predictedMs,
      ratio: predictedMs / measuredMs,
      measuredMedianMs: median(measuredRoundsMs),
      predictedMedianMs: median(typical.roundTimes.slice(1).map((s) => s * 1000)),
      measuredRoundsMs,
      calibrationRoundsMs: cal.roundsMs,
    });
  }
  return { msPerRow, cases };
}

export interface SlopeCheck {
  rows: number;
  rounds: [number, number];
  /** Wall time of each `bspml train` process (ms), short run then long run. */
  trainMs: [number, number];
  /** `bspml simulate --profile local` wall seconds of each run (the same calibration for both). */
  simulatedMs: [number, number];
  /** Per-round time as a user measures it: (long − short) / (rounds apart). */
  measuredMsPerRound: number;
  predictedMsPerRound: number;
  ratio: number;
  /** The simulated long run's per-round p50 (ms), what `simulate` prints. */
  predictedP50Ms: number;
}

/**
 * The local profile held against `bspml train` as a user would measure it: generate blobs, run
 * `bspml train kmeans` for a few rounds and for many (one blob and tol 0, so that both run the
 * rounds asked for, checked in the model file), take the slope of the processes' wall times; run `bspml simulate --profile local` with the
 * same rounds (its defaults are train's), the second with the first's calibration, and take the
 * slope of the simulated wall times. `cli` is the command that runs bspml (e.g. node with tsx).
 */
export async function slopeAgainstTrain(options: { rows: number; dims: number; k: number; rounds: [number, number]; cli: string[]; dir: string }): Promise<SlopeCheck> {
  const { spawn } = await import('node:child_process');
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const run = (args: string[]) =>
    new Promise<number>((resolve, reject) => {
      const began = performance.now();
      let err = '';
      const child = spawn(options.cli[0]!, [...options.cli.slice(1), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(performance.now() - began) : reject(new Error(`bspml ${args.join(' ')} exited ${code}: ${err.slice(-500)}`))));
    });
  const data = join(options.dir, 'blobs.bin');
  // One Gaussian, not k of them: on k separated blobs Lloyd's assignments settle in a handful of
  // rounds and a run stops there whatever --max-rounds says (tol 0 still stops when nothing moves),
  // so a 5-round and a 45-round run took the same time and the slope was noise. Sixteen centres in
  // one blob keep moving for hundreds of rounds.
  await run(['gen', 'blobs', '--rows', String(options.rows), '--dims', String(options.dims), '--centers', '1', '--seed', '5', '--out', data]);
  const trainMs: number[] = [];
  for (const r of options.rounds) {
    const model = join(options.dir, `model-${r}.json`);
    trainMs.push(await run(['train', 'kmeans', '--data', data, '--k', String(options.k), '--max-rounds', String(r), '--tol', '0', '--no-progress', '--quiet', '--out', model]));
    const ran = (JSON.parse(await readFile(model, 'utf8')) as { rounds: number }).rounds;
    if (ran !== r) throw new Error(`bspml train kmeans stopped after ${ran} rounds of ${r}: the slope would not be a per-round time`);
  }
  const sims: { wallSeconds: number; roundSeconds: { p50: number } }[] = [];
  const first = join(options.dir, 'sim-short.json');
  for (const [i, r] of options.rounds.entries()) {
    const out = join(options.dir, `sim-${i}.json`);
    await run(['simulate', 'kmeans', '--rows', String(options.rows), '--dims', String(options.dims), '--k', String(options.k), '--profile', 'local', '--rounds', String(r), '--json', i === 0 ? first : out, ...(i === 0 ? [] : ['--calibration', first])]);
    sims.push(JSON.parse(await readFile(i === 0 ? first : out, 'utf8')));
  }
  const apart = options.rounds[1] - options.rounds[0];
  const measuredMsPerRound = (trainMs[1]! - trainMs[0]!) / apart;
  const predictedMsPerRound = ((sims[1]!.wallSeconds - sims[0]!.wallSeconds) * 1000) / apart;
  return {
    rows: options.rows,
    rounds: options.rounds,
    trainMs: [trainMs[0]!, trainMs[1]!],
    simulatedMs: [sims[0]!.wallSeconds * 1000, sims[1]!.wallSeconds * 1000],
    measuredMsPerRound,
    predictedMsPerRound,
    ratio: predictedMsPerRound / measuredMsPerRound,
    predictedP50Ms: sims[1]!.roundSeconds.p50 * 1000,
  };
}
