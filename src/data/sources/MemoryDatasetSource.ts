import { DataError } from '../../errors.js';
import type { DatasetSource } from '../../ports/DatasetSource.js';
import type { DatasetLayout } from '../layout.js';
import { sliceShard, type DatasetRef, type ShardData, type TrainingData } from '../types.js';

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

  /** One part, already parsed and checked: its rows are counted (as in the binary format), not lines. */
  async describe(ref: DatasetRef): Promise<DatasetLayout> {
    const data = await this.load(ref);
    return {
      uri: ref.uri,
      parts: [{ name: ref.uri, uri: ref.uri, format: 'binary', bytes: 0, rows: data.rows, dataOffset: 0, firstLine: 1 }],
      columns: data.labelName !== undefined ? [...data.featureNames, data.labelName] : [...data.featureNames],
      featureNames: [...data.featureNames],
      ...(data.labelName !== undefined ? { labelName: data.labelName, labelIndex: data.dims } : {}),
      bytes: 0,
    };
  }

  /** Rows [first, end) of the data set, sliced as `sliceShard` does: row i's position is its index. */
  async loadShard(layout: DatasetLayout, shard: number, shards: number): Promise<ShardData> {
    return sliceShard(await this.load({ uri: layout.uri }), shard, shards);
  }
}
