import { ThreadPool } from '../inner/ThreadPool.js';
import type { ShardLoading } from '../ports/Container.js';

/*
 * Threads that parse CSV blocks, as a training worker's inner threads do, for a process that loads
 * shards without training on them (batch predictions: src/cli/batch-predict.ts). One per core by
 * default; closed by the caller.
 */
export function openParsePool(threads: number): { parser: ShardLoading['parser']; close(): Promise<void> } {
  const pool = new ThreadPool(threads);
  return { parser: pool, close: () => pool.close() };
}
