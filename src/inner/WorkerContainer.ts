import type { Summary } from '../data/summary.js';
import type { ShardData } from '../data/types.js';
import type { JobRecord } from '../domain/job.js';
import type { Container, ShardLoading } from '../ports/Container.js';
import { ThreadPool } from './ThreadPool.js';

/**
 * A container's memory when none is given: Lambda's (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB), else
 * the stack's default worker memory.
 */
export function containerMemoryMb(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return Number.isFinite(mb) && mb > 0 ? mb : 10_240;
}

/**
 * Share of a container's memory its shard cache may hold: the rest is the runtime, the threads, a
 * loading shard's transient copy, models and partials.
 */
export const SHARD_CACHE_SHARE = 0.5;

/**
 * What survives between invocations of a warm worker container: its thread pool, the shards it has
 * loaded (already handed to the threads) and the specs of jobs it has served (specs never change).
 * The shards are kept within a memory budget, least recently used evicted first: when workers
 * outnumber containers, each container would otherwise keep every shard it ever loaded.
 */
export class WorkerContainer implements Container {
  readonly pool: ThreadPool;
  /** In use order, least recently used first (a Map keeps insertion order; a hit re-inserts). */
  private readonly shards = new Map<string, ShardData>();
  private readonly jobs = new Map<string, JobRecord>();
  /** Bytes of rows the shard cache may hold. */
  readonly cacheBudgetBytes: number;
  cacheHits = 0;
  cacheMisses = 0;
  evictions = 0;

  constructor(threads?: number, options: { memoryMb?: number } = {}) {
    this.pool = new ThreadPool(threads);
    this.cacheBudgetBytes = Math.floor((options.memoryMb ?? containerMemoryMb()) * 1024 * 1024 * SHARD_CACHE_SHARE);
  }

  /** Bytes of rows the cached shards hold. */
  get cachedBytes(): number {
    let total = 0;
    for (const shard of this.shards.values()) total += shardBytes(shard);
    return total;
  }

  get threads(): number {
    return this.pool.size;
  }

  hasShard(jobId: string, shard: number): boolean {
    return this.shards.has(shardKey(jobId, shard));
  }

  /** Whether any shard of the job is cached here. */
  servesJob(jobId: string): boolean {
    for (const key of this.shards.keys()) if (key.startsWith(`${jobId}/`)) return true;
    return false;
  }

  /** The job's record, read once (or again with `refresh`: it gains its data summary after round 0). */
  async job(jobId: string, read: () => Promise<JobRecord | undefined>, options: { refresh?: boolean } = {}): Promise<JobRecord | undefined> {
    const cached = options.refresh ? undefined : this.jobs.get(jobId);
    if (cached) return cached;
    const job = await read();
    if (job && job.status === 'RUNNING') this.jobs.set(jobId, job);
    return job;
  }

  /**
   * The shard, loaded and given to the threads on first use. `load` is handed the pool's help: its
   * threads parse CSV blocks, and the rows can be written straight where the threads read them.
   */
  async shard(jobId: string, shard: number, load: (via: ShardLoading) => Promise<ShardData>): Promise<{ key: string; data: ShardData; loadMs: number; cacheHit: boolean }> {
    const key = shardKey(jobId, shard);
    const cached = this.shards.get(key);
    if (cached) {
      this.cacheHits++;
      this.shards.delete(key);
      this.shards.set(key, cached);
      return { key, data: cached, loadMs: 0, cacheHit: true };
    }
    this.cacheMisses++;
    const started = performance.now();
    // A cold container's threads boot while the shard loads; both are the cost of a cold start.
    const pool = this.pool;
    const via: ShardLoading = { parser: pool, reserve: (features, labels) => pool.reserveShard(features, labels) };
    const [loaded] = await Promise.all([load(via), pool.ready]);
    // A container serves one job at a time in practice; shards of other jobs only hold memory.
    for (const other of [...this.shards.keys()]) {
      if (!other.startsWith(`${jobId}/`)) {
        this.shards.delete(other);
        this.pool.dropShard(other);
      }
    }
    for (const other of [...this.jobs.keys()]) if (other !== jobId) this.jobs.delete(other);
    // Room first, least recently used out, so the threads never hold more than the budget plus
    // this shard (which is kept even when it alone is larger than the budget).
    let held = this.cachedBytes;
    for (const [other, data] of this.shards) {
      if (held + shardBytes(loaded) <= this.cacheBudgetBytes) break;
      this.shards.delete(other);
      this.pool.dropShard(other);
      held -= shardBytes(data);
      this.evictions++;
    }
    // Keep the pool's placement of the rows, so that the loaded copy can be collected.
    const data = this.pool.addShard(key, loaded);
    this.shards.set(key, data);
    return { key, data, loadMs: performance.now() - started, cacheHit: false };
  }

  /** The preparation round's summary of a shard this container holds, computed by its threads. */
  summarize(key: string, data: ShardData, options: { shard: number; seed: number; sampleSize: number }): Promise<Summary> {
    return this.pool.summarize(key, data, options);
  }

  async close(): Promise<void> {
    this.shards.clear();
    this.jobs.clear();
    await this.pool.close();
  }
}

function shardKey(jobId: string, shard: number): string {
  return `${jobId}/${shard}`;
}

function shardBytes(shard: ShardData): number {
  return shard.features.byteLength + (shard.labels?.byteLength ?? 0);
}
