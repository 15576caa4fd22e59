import { MemoryDatasetSource } from '../data/MemoryDatasetSource.js';
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
  const msPerRow = cal.fastestMsPerRow;
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
    const fastest = await simulate(config, localProfile(), () => cal.fastestMsPerRow);
    const typical = await simulate(config, localProfile(), () => cal.msPerRow);
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
