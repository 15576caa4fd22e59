import type { DatasetRef, TrainingData, ShardData } from '../data/types.js';

/** Reads training data: the whole set when a job starts, one shard per worker. */
export interface DatasetSource {
  /** Parses and validates the whole data set; throws DataError naming the file, row and field. */
  load(ref: DatasetRef): Promise<TrainingData>;
  /** Rows [first, end) of shard `shard` of `shards`, in memory a worker's threads can share. */
  loadShard(ref: DatasetRef, shard: number, shards: number): Promise<ShardData>;
}
