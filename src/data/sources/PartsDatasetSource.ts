import type { DatasetSource } from '../../ports/DatasetSource.js';
import { describe, loadShard, stageable, stageShard, type LoadOptions } from '../dataset.js';
import type { CsvBlockParser } from '../formats/csv-blocks.js';
import type { DatasetLayout } from '../layout.js';
import type { LoadedShard } from '../types.js';
import type { ByteSource } from '../byteSource.js';
import type { DatasetRef } from '../types.js';

/**
 * A data set of one or many parts (CSV, csv.gz, binary, Parquet) read through a ByteSource.
 * `describe(ref)` reads metadata only; `loadShard(layout, shard, shards)` reads one shard's pieces.
 */
export class PartsDatasetSource implements DatasetSource {
  constructor(readonly bytes: ByteSource) {}

  describe(ref: DatasetRef): Promise<DatasetLayout> {
    return describe(ref, this.bytes);
  }

  loadShard(layout: DatasetLayout, shard: number, shards: number, options: LoadOptions = {}): Promise<LoadedShard> {
    return loadShard(layout, shard, shards, this.bytes, options);
  }

  /** Whether `stageShard` can read the shard (every piece CSV). */
  stageable(layout: DatasetLayout, shard: number, shards: number): boolean {
    return stageable(layout, shard, shards);
  }

  /** The shard's blocks through a parser that turns their rows into text where it parses them (data/dataset.ts stageShard). */
  stageShard(layout: DatasetLayout, shard: number, shards: number, stage: CsvBlockParser, place: (text: Uint8Array, rows: number) => void): Promise<{ rows: number }> {
    return stageShard(layout, shard, shards, this.bytes, stage, place);
  }
}
