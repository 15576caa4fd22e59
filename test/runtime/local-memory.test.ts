import { afterAll, describe, expect, it } from 'vitest';
import { ContainerPool, localContainerMemoryMb, machineMemoryMb } from '../../src/runtime/ContainerPool.js';

/*
 * Issue 20 defect 14: each in-process container of the local runtime could cache half of Lambda's
 * 10,240 MB, whatever the machine (W = 256 on concurrency 32 peaked at 14× the data). Locally a
 * container's memory is now the machine's half shared by the pool's containers (at most 10,240 MB),
 * so all their caches together stay within a quarter of the machine.
 */

describe('issue 20 defect 14: local caches bounded by this machine', () => {
  const pools: ContainerPool[] = [];
  afterAll(() => Promise.all(pools.map((p) => p.close())));

  it.each([
    [16_384, 32, 256],
    [131_072, 32, 2048],
    [131_072, 1, 10_240],
    [2048, 32, 128],
  ])('a %i MB machine, %i containers: %i MB each', (machine, containers, each) => {
    expect(localContainerMemoryMb(containers, machine)).toBe(each);
  });

  it('a pool of 32 without a memory setting: all the caches together within a quarter of the machine', async () => {
    // Act
    const pool = new ContainerPool(32);
    pools.push(pool);
    const container = await pool.acquire('job', 0, 1);

    // Assess
    expect(pool.memoryMb).toBe(localContainerMemoryMb(32));
    expect(container.cacheBudgetBytes * 32).toBeLessThanOrEqual(Math.max((machineMemoryMb() * 1024 * 1024) / 4, 32 * 64 * 1024 * 1024));
    await pool.release(container);
  });

  it('a memory setting given (Lambda\'s, in a test) is kept', () => {
    const pool = new ContainerPool(4, 3008);
    pools.push(pool);
    expect(pool.memoryMb).toBe(3008);
  });
});
