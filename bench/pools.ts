/*
 * What the benches time on our side: a worker's thread pool computing one round's partial over the
 * whole shard, for several thread counts at once (npm run bench, bench/threads.ts).
 */
import { kmeans, logreg } from '../src/algorithms/index.js';
import type { Shape } from '../src/algorithms/types.js';
import { sliceShard, type TrainingData } from '../src/data/types.js';
import { ThreadPool } from '../src/inner/ThreadPool.js';
import type { KmeansSpec, LogregSpec } from '../src/domain/spec.js';

export interface Timing {
  medianMs: number;
  minMs: number;
  samplesMs: number[];
}

export function summarise(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs, minMs: sorted[0]!, samplesMs: samples.map((v) => Math.round(v * 100) / 100) };
}

// ---------------------------------------------------------------------------------------------
// Our side: a worker's thread pool computing one round's partial over the whole shard.

export interface RoundTiming {
  /** partial over all rows through the pool (messages, threads, merge) plus the model update. */
  round: Timing;
  /** The pool's compute phase alone (what a round reports as compute). */
  compute: Timing;
  kernels: string;
  /** Worker↔thread bytes per round, both directions. */
  bytesPerRound: number;
  /** The pool's first round (instances created in the threads, glue code not yet optimised). */
  firstRoundMs: number;
}

/**
 * Rounds of one partial + update on pools of each thread count, interleaved round by round so that
 * load from other processes on the machine falls on every pool alike.
 */
export async function timeRounds(data: TrainingData, shape: Shape, model: Float64Array, threadCounts: number[], repeats: number): Promise<RoundTiming[]> {
  const pools = threadCounts.map((n) => new ThreadPool(n));
  try {
    for (const pool of pools) {
      await pool.ready;
      pool.addShard('bench', sliceShard(data, 0, 1));
    }
    const spec = { tol: 0, lr: 0.1, l2: 0 } as unknown as KmeansSpec & LogregSpec;
    const update = (partial: Float64Array) => (shape.algorithm === 'kmeans' ? kmeans.update(spec, shape, model, partial) : logreg.update(spec, shape, model, partial));
    const rounds = pools.map(() => [] as number[]);
    const computes = pools.map(() => [] as number[]);
    const kernels = pools.map(() => '');
    const bytes = pools.map(() => 0);
    const first = pools.map(() => 0);
    for (let r = 0; r <= repeats; r++) {
      for (const [i, pool] of pools.entries()) {
        const before = pool.traffic.toThreads + pool.traffic.fromThreads;
        const started = performance.now();
        const result = await pool.partial('bench', data.rows, shape, model);
        update(result.partial);
        const ms = performance.now() - started;
        bytes[i] = pool.traffic.toThreads + pool.traffic.fromThreads - before;
        kernels[i] = result.kernels;
        if (r === 0) {
          first[i] = ms; // warm-up: instantiation in the threads, JIT of the glue
          continue;
        }
        rounds[i]!.push(ms);
        computes[i]!.push(result.computeMs);
      }
    }
    return pools.map((_, i) => ({ round: summarise(rounds[i]!), compute: summarise(computes[i]!), kernels: kernels[i]!, bytesPerRound: bytes[i]!, firstRoundMs: first[i]! }));
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

/** The logistic-regression model layout: weights, bias, then column means and std devs (1, no scaling). */
export function logregModel(w: Float64Array, dims: number): Float64Array {
  const model = new Float64Array(3 * dims + 1);
  model.set(w);
  model.fill(1, 2 * dims + 1);
  return model;
}

