import { describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { sliceShard } from '../../src/data/types.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';

/* Issue 12 defect 12: a container's shard cache stays within a memory budget, least recently used out first. */

const DATA = blobs([[0, 0, 0, 0], [8, 8, 8, 8], [-8, 8, -8, 8]], 1000, 1.5, 4); // 3,000 rows × 4 × 4 B = 48,000 B
const SHARDS = 8; // 6,000 B of rows each
const MB = 1024 * 1024;

describe('defect 12: the shard cache has a memory budget', () => {
  it('evicts the least recently used shard to make room, and keeps a hit fresh', async () => {
    // Prepare: room for two shards (12,000 B of a 14,000 B budget).
    const container = new WorkerContainer(1, { memoryMb: (2 * 14_000) / MB });
    const load = (shard: number) => async () => sliceShard(DATA, shard, SHARDS);
    try {
      // Act: 0, 1, then 0 again (a hit: 1 becomes least recently used), then 2.
      await container.shard('job', 0, load(0));
      await container.shard('job', 1, load(1));
      const hit = await container.shard('job', 0, load(0));
      await container.shard('job', 2, load(2));

      // Assess
      expect(hit.cacheHit).toBe(true);
      expect([0, 1, 2].map((s) => container.hasShard('job', s))).toEqual([true, false, true]);
      expect(container.evictions).toBe(1);
      expect(container.cachedBytes).toBe(12_000);
      expect(container.cachedBytes).toBeLessThanOrEqual(container.cacheBudgetBytes);
    } finally {
      await container.close();
    }
  });

  it('keeps a shard larger than the whole budget (alone), rather than fail', async () => {
    const container = new WorkerContainer(1, { memoryMb: 1000 / MB });
    try {
      await container.shard('job', 0, async () => sliceShard(DATA, 0, SHARDS));
      await container.shard('job', 1, async () => sliceShard(DATA, 1, SHARDS));
      expect([container.hasShard('job', 0), container.hasShard('job', 1)]).toEqual([false, true]);
    } finally {
      await container.close();
    }
  });

  it(`with ${SHARDS} workers on 2 containers, each holds at most its budget and the model is unchanged`, async () => {
    // Prepare
    const datasets = new MemoryDatasetSource().add('blobs', DATA);
    const spec = { algorithm: 'kmeans', k: 3, workers: SHARDS, threads: 1, maxRounds: 4, tol: 0, seed: 5, data: { uri: 'blobs' } };
    const unbounded = new LocalRuntime({ store: new MemoryStore(), datasets, concurrency: 2, defaultThreads: 1 });
    const bounded = new LocalRuntime({ store: new MemoryStore(), datasets, concurrency: 2, defaultThreads: 1, containerMemoryMb: (2 * 14_000) / MB });
    const peaks: number[] = [];
    const containers = (bounded as unknown as { containers: { containers(): WorkerContainer[] } }).containers;

    try {
      // Act
      const reference = await unbounded.train(spec);
      const outcome = await new Promise<Awaited<ReturnType<LocalRuntime['train']>>>((resolve, reject) => {
        const timer = setInterval(() => peaks.push(...containers.containers().map((c) => c.cachedBytes)), 1);
        bounded.train(spec).then(resolve, reject).finally(() => clearInterval(timer));
      });

      // Assess
      expect(outcome.result).toEqual(reference.result);
      const all = containers.containers();
      expect(all.length).toBeLessThanOrEqual(2);
      for (const c of all) expect(c.cachedBytes).toBeLessThanOrEqual(c.cacheBudgetBytes);
      // 8 shards on at most 2 containers of 2 shards each: some were evicted (which container
      // served which shard depends on scheduling).
      expect(all.reduce((n, c) => n + c.evictions, 0)).toBeGreaterThan(0);
      expect(Math.max(...peaks)).toBeLessThanOrEqual(14_000);
    } finally {
      await unbounded.close();
      await bounded.close();
    }
  });
});
