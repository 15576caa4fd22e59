import type { LoadOptions } from '../data/dataset.js';
import type { DatasetLayout } from '../data/layout.js';
import type { DatasetRef, ShardData } from '../data/types.js';

/**
 * Reads training data. The start step asks for the layout (metadata only: parts, columns, label);
 * each worker of the preparation round loads its shard, once per warm container.
 */
export interface DatasetSource {
  /** The data set's parts and columns; throws DataError naming the file when it cannot be read. */
  describe(ref: DatasetRef): Promise<DatasetLayout>;
  /**
   * Shard `shard` of `shards` of the data set `layout` describes, in memory a worker's threads can
   * share. A bad value (or a label `options.labelRule` refuses) is thrown as a DataError with its
   * `location` in the shard's pieces.
   */
  loadShard(layout: DatasetLayout, shard: number, shards: number, options?: LoadOptions): Promise<ShardData>;
}
