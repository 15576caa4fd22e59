import type { ShardData } from '../data/types.js';
import type { JobRecord } from '../protocol/types.js';
import { ThreadPool } from './ThreadPool.js';

/**
 * What survives between invocations of a warm worker container: its thread pool, the shards it has
 * loaded (already handed to the threads) and the specs of jobs it has served (specs never change).
 */
export class WorkerContainer {
  readonly pool: ThreadPool;
  private readonly shards = new Map<string, ShardData>();
  private readonly jobs = new Map<string, JobRecord>();
  cacheHits = 0;
  cacheMisses = 0;

  constructor(threads?: number) {
    this.pool = new ThreadPool(threads);
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

  /** The shard, loaded and given to the threads on first use. */
  async shard(jobId: string, shard: number, load: () => Promise<ShardData>): Promise<{ key: string; data: ShardData; loadMs: number; cacheHit: boolean }> {
    const key = shardKey(jobId, shard);
    const cached = this.shards.get(key);
    if (cached) {
      this.cacheHits++;
      return { key, data: cached, loadMs: 0, cacheHit: true };
    }
    this.cacheMisses++;
    const started = performance.now();
    // A cold container's threads boot while the shard loads; both are the cost of a cold start.
    const [loaded] = await Promise.all([load(), this.pool.ready]);
    // A container serves one job at a time in practice; shards of other jobs only hold memory.
    for (const other of [...this.shards.keys()]) {
      if (!other.startsWith(`${jobId}/`)) {
        this.shards.delete(other);
        this.pool.dropShard(other);
      }
    }
    for (const other of [...this.jobs.keys()]) if (other !== jobId) this.jobs.delete(other);
    // Keep the pool's placement of the rows, so that the loaded copy can be collected.
    const data = this.pool.addShard(key, loaded);
    this.shards.set(key, data);
    return { key, data, loadMs: performance.now() - started, cacheHit: false };
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
