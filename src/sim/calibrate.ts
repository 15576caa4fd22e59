import { algorithmByName, type Shape } from '../algorithms/index.js';
import { sliceShard, type TrainingData } from '../data/types.js';
import { generateBlobs } from '../data/generate.js';
import { ThreadPool } from '../inner/ThreadPool.js';
import { Rng } from '../util/random.js';

export interface Calibration {
  shape: Shape;
  rows: number;
  /** Thread-milliseconds per row, median of the timed rounds (one thread). */
  msPerRow: number;
  /** The same from the fastest round: the least disturbed wall time on a shared machine. */
  fastestMsPerRow: number;
  /**
   * Process CPU time per row (median): what the kernels take when they have a core to themselves,
   * whatever else this machine runs. The main thread only waits meanwhile, so the process's CPU
   * time is the computing thread's, plus a little of the runtime's own.
   */
  cpuMsPerRow: number;
  /**
   * The wall time of one more row: the slope between the fastest round on all the rows and the
   * fastest on a quarter of them. A call to the pool also costs a fixed round trip (posting the
   * model, waking the thread, returning the partial), which a per-row figure taken from one size
   * spreads over its rows; at 156,250 rows that made k-means d = 16 read 49.6 ns per row where
   * 1M rows ran at 34. The fixed part is `callMs`.
   */
  marginalMsPerRow: number;
  /** The fixed cost of one call to a one-thread pool (ms): the intercept of that line. */
  callMs: number;
  /**
   * The same slope from the median rounds (all rows against a quarter): what a typical round
   * costs, as a run of many rounds sees it, where `marginalMsPerRow` is its least disturbed round.
   */
  typicalMarginalMsPerRow: number;
  /** The intercept of the median line (ms per call). */
  typicalCallMs: number;
  /**
   * Threads that computed at once (the pool's size). The figures above are per thread: a round's
   * wall time times the threads, over the rows, so that the simulator's processor sharing divides
   * them again; with more than one thread they include what the threads cost each other (memory
   * bandwidth, a shared cache, a neighbour on one of the cores).
   */
  threads: number;
  /** Each timed round (ms), for the spread. */
  roundsMs: number[];
}

const cache = new Map<string, Calibration>();

/**
 * Times the real kernels on this machine: a ThreadPool (one thread unless `threads` says more; the
 * WebAssembly kernels, as a worker runs them) computing the partial of generated rows of the given
 * shape, a few rounds after a warm-up; the per-row figures are what the simulator scales by rows,
 * vCPUs and threads. About 0.2–1 s per shape; results are kept for the process.
 */
export async function calibrate(shape: Shape, options: { rows?: number; rounds?: number; fresh?: boolean; threads?: number } = {}): Promise<Calibration> {
  const threads = Math.max(1, options.threads ?? 1);
  const id = `${shapeKey(shape)}/${options.rows ?? ''}/${threads}`;
  const hit = cache.get(id);
  if (hit && !options.fresh) return hit;
  // Enough rows that a round takes tens of ms whatever the shape, within ~64 MB of rows.
  const perRowWork = shape.dims * (shape.algorithm === 'kmeans' ? shape.k : 4);
  const rows = options.rows ?? Math.max(2_000, Math.min(200_000, Math.floor(16_000_000 / shape.dims), Math.floor(40_000_000 / perRowWork)));
  const data = sample(shape, rows);
  const rng = new Rng(7);
  const model = new Float64Array(algorithmByName(shape.algorithm).modelLength(shape));
  if (shape.algorithm === 'kmeans') {
    for (let i = 0; i < model.length; i++) model[i] = data.features[(i * 7919) % data.features.length]!;
  } else {
    // Logistic regression's model head: weights and bias, column means (0) and std devs (1); the
    // solver's tail stays zero (its cost per row does not depend on those values).
    for (let i = 0; i <= shape.dims; i++) model[i] = 0.01 * rng.normal();
    model.fill(1, 2 * shape.dims + 1, 3 * shape.dims + 1);
  }
  const pool = new ThreadPool(threads);
  try {
    await pool.ready;
    pool.addShard('calibration', sliceShard(data, 0, 1));
    const quarter = Math.max(1, Math.floor(rows / 4));
    pool.addShard('quarter', sliceShard({ ...data, rows: quarter, features: data.features.subarray(0, quarter * shape.dims), ...(data.labels ? { labels: data.labels.subarray(0, quarter) } : {}) }, 0, 1));
    await pool.partial('calibration', rows, shape, model); // warm-up
    await pool.partial('quarter', quarter, shape, model);
    const roundsMs: number[] = [];
    const quarterMs: number[] = [];
    const cpuMs: number[] = [];
    for (let i = 0; i < (options.rounds ?? 5); i++) {
      const cpu = process.cpuUsage();
      roundsMs.push((await pool.partial('calibration', rows, shape, model)).computeMs);
      const used = process.cpuUsage(cpu);
      cpuMs.push((used.user + used.system) / 1000);
      // Interleaved, so that both sizes see the same neighbours.
      quarterMs.push((await pool.partial('quarter', quarter, shape, model)).computeMs);
    }
    const sorted = [...roundsMs].sort((a, b) => a - b);
    const quarterSorted = [...quarterMs].sort((a, b) => a - b);
    const cpuSorted = [...cpuMs].sort((a, b) => a - b);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    // A disturbed round can make a slope meaningless (≤ 0 or above the whole round's per-row
    // figure): then that round's figure per row stands.
    const line = (all: number, part: number) => {
      const slope = (all - part) / (rows - quarter);
      const marginal = slope > 0 && slope <= all / rows ? slope : all / rows;
      return { marginal, intercept: Math.max(0, all - marginal * rows) };
    };
    const fastest = line(sorted[0]!, quarterSorted[0]!);
    const typical = line(median(sorted), median(quarterSorted));
    // Thread-milliseconds: a round's wall time is the rows over the threads at the per-thread rate.
    const result: Calibration = {
      shape,
      rows,
      msPerRow: (median(sorted) * threads) / rows,
      fastestMsPerRow: (sorted[0]! * threads) / rows,
      cpuMsPerRow: median(cpuSorted) / rows,
      marginalMsPerRow: fastest.marginal * threads,
      callMs: fastest.intercept,
      typicalMarginalMsPerRow: typical.marginal * threads,
      typicalCallMs: typical.intercept,
      threads,
      roundsMs,
    };
    cache.set(id, result);
    return result;
  } finally {
    await pool.close();
  }
}

/** What a calibration is kept under: the algorithm, its dimensions and, for logistic regression, the solver. */
export function shapeKey(shape: Shape): string {
  // Multinomial shapes only carry their classes: the keys of committed calibrations stay as they were.
  return `${shape.algorithm}/${shape.dims}/${shape.k}/${shape.solver ?? ''}${shape.classes !== undefined ? `/c${shape.classes}` : ''}`;
}

function sample(shape: Shape, rows: number): TrainingData {
  const { table } = generateBlobs({ rows, dims: shape.dims, centers: Math.max(2, shape.k), seed: 11, std: 2 });
  const data: TrainingData = { source: 'calibration', rows, dims: shape.dims, features: table.values, featureNames: table.columns };
  if (shape.algorithm === 'logreg') {
    const labels = new Float32Array(rows);
    for (let r = 0; r < rows; r++) labels[r] = shape.classes !== undefined ? r % shape.classes : table.values[r * shape.dims]! > 0 ? 1 : 0;
    data.labels = labels;
  }
  return data;
}

export interface MergeCalibration {
  shape: Shape;
  /** Bytes of one partial (float64). */
  partialBytes: number;
  /** CPU time of algorithm.merge per byte of partials merged (median of the timed passes). */
  nsPerByte: number;
}

/**
 * Times the real `algorithm.merge` on this machine: partials of the shape's length merged into
 * one, as the aggregator does in shard order, at least 64 MB per pass; the CPU time per byte is
 * what the simulator charges whoever aggregates for the partials it read.
 */
export function calibrateMerge(shape: Shape, options: { passes?: number } = {}): MergeCalibration {
  const algorithm = algorithmByName(shape.algorithm);
  const length = algorithm.partialLength(shape);
  const partialBytes = 8 * length;
  // Enough distinct partials that they do not all sit in the cache, as W partials read from a store do not.
  const count = Math.max(8, Math.min(4096, Math.ceil((16 * 1024 ** 2) / partialBytes)));
  const rng = new Rng(3);
  const partials = Array.from({ length: count }, () => Float64Array.from({ length }, () => rng.next()));
  const perPass = Math.max(1, Math.ceil((64 * 1024 ** 2) / (count * partialBytes)));
  const into = new Float64Array(length);
  for (const p of partials) algorithm.merge(into, p); // warm-up
  const samples: number[] = [];
  for (let pass = 0; pass < (options.passes ?? 5); pass++) {
    const cpu = process.cpuUsage();
    for (let r = 0; r < perPass; r++) for (const p of partials) algorithm.merge(into, p);
    const used = process.cpuUsage(cpu);
    samples.push(((used.user + used.system) * 1000) / (perPass * count * partialBytes));
  }
  samples.sort((a, b) => a - b);
  return { shape, partialBytes, nsPerByte: samples[Math.floor(samples.length / 2)]! };
}
