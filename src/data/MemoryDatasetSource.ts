import { DataError } from '../errors.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import type { DatasetLayout } from './layout.js';
import { sliceShard, type DatasetRef, type ShardData, type TrainingData } from './types.js';
import { refOfLayout, wholeLayout } from './wholeLayout.js';

/** Data sets already in memory, by uri: for embedding the library and for tests. */
export class MemoryDatasetSource implements DatasetSource {
  private readonly sets = new Map<string, TrainingData>();

  add(uri: string, data: TrainingData): this {
    this.sets.set(uri, data);
    return this;
  }

  async load(ref: DatasetRef): Promise<TrainingData> {
    const data = this.sets.get(ref.uri);
    if (!data) throw new DataError(ref.uri, 'no such data set');
    return data;
  }

  async describe(ref: DatasetRef): Promise<DatasetLayout> {
    return wholeLayout(ref, await this.load(ref));
  }

  async loadShard(layout: DatasetLayout, shard: number, shards: number): Promise<ShardData> {
    return sliceShard(await this.load(refOfLayout(layout)), shard, shards);
  }
}
