import { WorkerContainer } from '../inner/WorkerContainer.js';

/**
 * Local stand-in for Lambda's container fleet: at most `limit` containers, each serving one
 * invocation at a time; a warm container that already holds the shard is preferred, as a warm
 * Lambda would be reused. Containers outlive jobs, as warm Lambdas do.
 */
export class ContainerPool {
  private readonly idle: WorkerContainer[] = [];
  private readonly all = new Set<WorkerContainer>();
  private readonly waiters: (() => void)[] = [];

  /** `memoryMb`: each container's memory, which bounds its shard cache (default: WorkerContainer's). */
  constructor(
    readonly limit: number,
    private readonly memoryMb?: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  }

  get size(): number {
    return this.all.size;
  }

  containers(): WorkerContainer[] {
    return [...this.all];
  }

  async acquire(jobId: string, shard: number, threads: number): Promise<WorkerContainer> {
    for (;;) {
      const matching = this.idle.filter((c) => c.threads === threads);
      // Best: the container that already holds this shard; next: one holding none of this job's
      // shards (so another shard's cache is not displaced); else any of the right size.
      const pick = matching.find((c) => c.hasShard(jobId, shard)) ?? matching.find((c) => !c.servesJob(jobId)) ?? matching[0];
      if (pick) {
        this.idle.splice(this.idle.indexOf(pick), 1);
        return pick;
      }
      if (this.all.size < this.limit) return this.create(threads);
      const stale = this.idle.find((c) => c.threads !== threads);
      if (stale) {
        this.idle.splice(this.idle.indexOf(stale), 1);
        this.all.delete(stale);
        await stale.close();
        return this.create(threads);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async release(container: WorkerContainer): Promise<void> {
    if (container.pool.broken) {
      this.all.delete(container);
      await container.close();
    } else {
      this.idle.push(container);
    }
    this.waiters.shift()?.();
  }

  async close(): Promise<void> {
    const all = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(all.map((c) => c.close()));
  }

  private create(threads: number): WorkerContainer {
    const container = new WorkerContainer(threads, { memoryMb: this.memoryMb });
    this.all.add(container);
    return container;
  }
}
