import { ThreadPool } from '../inner/ThreadPool.js';
import type { ShardLoading } from '../ports/Container.js';

/*
 * Threads that parse CSV blocks, as a training worker's inner threads do, for a process that loads
 * shards without training on them (batch predictions: src/cli/batch-predict.ts), and that predict
 * the blocks they parse (`staged`: src/inner/predictStage.ts). One per core by default; closed by
 * the caller.
 */
export function openParsePool(threads: number): { parser: ShardLoading['parser']; staged: ThreadPool['staged']; close(): Promise<void> } {
  const pool = new ThreadPool(threads);
  return { parser: pool, staged: (model, order, dims) => pool.staged(model, order, dims), close: () => pool.close() };
}
