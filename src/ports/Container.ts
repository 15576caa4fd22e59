import type { Shape } from '../algorithms/types.js';
import type { CsvBlockParser } from '../data/formats/csv-blocks.js';
import type { ShardReserver } from '../data/rows.js';
import type { Summary } from '../data/summary.js';
import type { ShardData } from '../data/types.js';
import type { JobRecord } from '../domain/job.js';

/** What a container lends the loading of a shard (LoadOptions' `parser` and `reserve`). */
export interface ShardLoading {
  parser: CsvBlockParser;
  reserve: ShardReserver;
}

/** The threads of a container, as a worker's round uses them: the partial of a shard they hold. */
export interface PartialThreads {
  partial(key: string, rows: number, shape: Shape, model: Float64Array, shard?: number): Promise<{ partial: Float64Array; computeMs: number }>;
}

/**
 * The container a worker's task runs in, as the protocol drives it (runWorker, prepareShard, the
 * lingering loop): what survives between invocations (job records, shards handed to its threads)
 * and its threads. The entry points hand one in: src/inner/WorkerContainer.ts on Lambda and in
 * local runs, the simulator's SimContainer (src/sim/container.ts) in simulations. The protocol
 * never builds one, so it knows no thread pool.
 */
export interface Container {
  readonly threads: number;
  readonly pool: PartialThreads;
  /** The job's record, read once per container (`refresh`: read again) through `read`. */
  job(jobId: string, read: () => Promise<JobRecord | undefined>, options?: { refresh?: boolean }): Promise<JobRecord | undefined>;
  /**
   * The shard, loaded through `load` and given to the threads on first use; then kept. `via` is the
   * threads' help with loading, where the container has threads to lend (the simulator's has none).
   */
  shard(jobId: string, shard: number, load: (via?: ShardLoading) => Promise<ShardData>): Promise<{ key: string; data: ShardData; loadMs: number; cacheHit: boolean }>;
  /** The preparation round's summary of a shard this container holds. */
  summarize(key: string, data: ShardData, options: { shard: number; seed: number; sampleSize: number }): Promise<Summary>;
}
