import { algorithmByName, type Shape } from '../algorithms/index.js';
import { summarizeShard, type Summary } from '../data/summary.js';
import type { ShardData, TrainingData } from '../data/types.js';
import type { JobRecord } from '../domain/job.js';
import type { Container } from '../ports/Container.js';
import type { VirtualClock } from './clock.js';
import type { Host } from './cpu.js';

/** Thread-milliseconds of compute per row of a shard, for a shape (from the calibration). */
export type ComputeModel = (shape: Shape) => number;

/** Rows of the sample each simulated partial is computed on: real arithmetic, real sizes, little time. */
const SAMPLE_BLOCK = 64;

/**
 * A simulated Lambda environment as the protocol sees it (the Container port, as `WorkerContainer` offers it):
 * caches the job and its shard between invocations as a warm container does; its partial is the
 * algorithm's real partial over a small block of the sample (see samplePartial), and takes the virtual time of the shard's real rows on
 * its host's cores: calibrated thread-ms per row × rows, shared among at most `threads` cores.
 */
export class SimContainer implements Container {
  private readonly shards = new Map<string, ShardData>();
  private readonly jobs = new Map<string, JobRecord>();
  private calls = 0;
  readonly pool;

  constructor(
    readonly threads: number,
    private readonly clock: VirtualClock,
    private readonly host: Host,
    private readonly msPerRow: ComputeModel,
    /** The sample partials are computed on, and the full data set's rows of a shard. */
    private readonly sample: TrainingData,
    private readonly rowsOf: (shard: ShardData) => number,
    /** Per-thread overhead of a round trip to the threads (ms), and the one-off start of the threads. */
    private readonly threadRoundTripMs: number,
    threadStartMs: number,
    /** Shared tally of shard requests: served from this environment's cache, or loaded (from S3). */
    private readonly cache: { hits: number; loads: number; reloads: number; seen: Set<string> } = { hits: 0, loads: 0, reloads: 0, seen: new Set() },
  ) {
    const self = this;
    let started = false;
    this.pool = {
      traffic: { toThreads: 0, fromThreads: 0 },
      broken: false,
      async partial(key: string, _sampleRows: number, shape: Shape, model: Float64Array) {
        const began = self.clock.now();
        if (!started) {
          started = true;
          await self.clock.sleep(threadStartMs * self.threads);
        }
        const shard = self.shards.get(key);
        if (!shard) throw new Error(`shard ${key} is not loaded in this container`);
        const partial = self.samplePartial(shard, shape, model);
        // As the thread pool: the ranges the partial reads, written once into the threads' shared buffer.
        const ranges = algorithmByName(shape.algorithm).threadRanges?.(shape, model) ?? [[0, model.length]];
        self.pool.traffic.toThreads += ranges.reduce((bytes, [from, to]) => bytes + (to - from) * 8, 0);
        self.pool.traffic.fromThreads += partial.byteLength * self.threads;
        await self.host.run(self.rowsOf(shard) * self.msPerRow(shape), self.threads);
        await self.clock.sleep(self.threadRoundTripMs * self.threads);
        return { partial, computeMs: self.clock.now() - began, kernels: 'wasm' as const };
      },
    };
  }

  async job(jobId: string, read: () => Promise<JobRecord | undefined>, options: { refresh?: boolean } = {}): Promise<JobRecord | undefined> {
    const cached = options.refresh ? undefined : this.jobs.get(jobId);
    if (cached) return cached;
    const job = await read();
    if (job) this.jobs.set(jobId, job);
    return job;
  }

  async shard(jobId: string, shard: number, load: () => Promise<ShardData>): Promise<{ key: string; data: ShardData; loadMs: number; cacheHit: boolean }> {
    const key = `${jobId}/${shard}`;
    const cached = this.shards.get(key);
    if (cached) {
      this.cache.hits++;
      return { key, data: cached, loadMs: 0, cacheHit: true };
    }
    this.cache.loads++;
    // A load of a shard that some environment loaded before: the task landed away from it.
    if (this.cache.seen.has(key)) this.cache.reloads++;
    this.cache.seen.add(key);
    const began = this.clock.now();
    const data = await load();
    this.shards.clear();
    this.shards.set(key, data);
    return { key, data, loadMs: this.clock.now() - began, cacheHit: false };
  }

  /** The preparation round's summary, computed here (the threads' share of it is not simulated). */
  async summarize(_key: string, data: ShardData, options: { shard: number; seed: number; sampleSize: number }): Promise<Summary> {
    return summarizeShard(data, options);
  }

  hasShard(jobId: string, shard: number): boolean {
    return this.shards.has(`${jobId}/${shard}`);
  }

  async close(): Promise<void> {
    this.shards.clear();
    this.jobs.clear();
  }

  private samplePartial(shard: ShardData, shape: Shape, model: Float64Array): Float64Array {
    const algorithm = algorithmByName(shape.algorithm);
    const out = new Float64Array(algorithm.partialLength(shape));
    const sampleRows = this.sample.rows;
    const block = Math.min(SAMPLE_BLOCK, sampleRows);
    // k-means moves to a new block each call, so that its centroids keep shifting for the rounds asked
    // for (with tol 0 a shift of exactly 0 would end the job). Logistic regression keeps one block per
    // shard: its solvers check that the objective falls from round to round, which only a fixed set
    // of rows can show.
    const call = shape.algorithm === 'kmeans' ? this.calls++ : 0;
    const start = ((shard.shard * 7919 + call * 104_729) * block) % Math.max(1, sampleRows - block + 1);
    algorithm.partial(shape, model, { features: this.sample.features, labels: this.sample.labels, dims: shape.dims, start, end: start + block }, out);
    return out;
  }
}
