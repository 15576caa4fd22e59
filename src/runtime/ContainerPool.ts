import { totalmem } from 'node:os';
import { WorkerContainer } from '../inner/WorkerContainer.js';

/** Lambda's most memory (MB), and its least. */
const LAMBDA_MAX_MB = 10_240;
const LAMBDA_MIN_MB = 128;

/** This machine's memory in MB: the cgroup's limit where one is set (a container), else the host's. */
export function machineMemoryMb(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const bytes = constrained && constrained > 0 && constrained < totalmem() ? constrained : totalmem();
  return Math.floor(bytes / (1024 * 1024));
}

/**
 * Each local container's memory when none is given (issue 20 defect 14): half of this machine's
 * memory shared by the pool's containers, at most Lambda's 10,240 MB. Lambda's default alone let
 * each of 32 in-process containers cache 5 GB; now all of them together cache at most a quarter of
 * the machine (each caches half its memory: WorkerContainer).
 */
export function localContainerMemoryMb(containers: number, machineMb = machineMemoryMb()): number {
  return Math.max(LAMBDA_MIN_MB, Math.min(LAMBDA_MAX_MB, Math.floor(machineMb / 2 / containers)));
}

/**
 * Local stand-in for Lambda's container fleet: at most `limit` containers, each serving one
 * invocation at a time; a warm container that already holds the shard is preferred, as a warm
 * Lambda would be reused. Containers outlive jobs, as warm Lambdas do.
 */
export class ContainerPool {
  private readonly idle: WorkerContainer[] = [];
  private readonly all = new Set<WorkerContainer>();
  private readonly waiters: (() => void)[] = [];

  /** Each container's memory (MB), which bounds its shard cache. */
  readonly memoryMb: number;

  /** `memoryMb`: each container's memory (default: this machine's share, localContainerMemoryMb). */
  constructor(
    readonly limit: number,
    memoryMb?: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
    this.memoryMb = memoryMb ?? localContainerMemoryMb(limit);
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
