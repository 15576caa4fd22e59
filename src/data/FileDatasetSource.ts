import { fileURLToPath } from 'node:url';
import { DataError } from '../errors.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import { readTable, toTrainingData } from './load.js';
import type { DatasetLayout } from './layout.js';
import { sliceShard, type DatasetRef, type ShardData, type TrainingData } from './types.js';
import { refOfLayout, wholeLayout } from './wholeLayout.js';

/**
 * Reads data sets from local files. Parses are cached per (uri, label column) so that the local
 * runtime's workers, which all call loadShard on one instance, share a single read and parse.
 */
export class FileDatasetSource implements DatasetSource {
  // Promises, not results: workers that start together then wait on the one parse in flight.
  private readonly cache = new Map<string, Promise<TrainingData>>();

  /** Reads and validates the whole file (this source has no metadata-only read yet). */
  async describe(ref: DatasetRef): Promise<DatasetLayout> {
    const pending = this.load(ref);
    const data = await pending;
    // Shards name the label by its resolved name: let them find this parse under it.
    this.cache.set(cacheKey({ uri: ref.uri, ...(data.labelName !== undefined ? { labelColumn: data.labelName } : {}) }), pending);
    return wholeLayout(ref, data);
  }

  load(ref: DatasetRef): Promise<TrainingData> {
    const key = cacheKey(ref);
    let pending = this.cache.get(key);
    if (!pending) {
      pending = this.read(ref);
      this.cache.set(key, pending);
      // A failed read is not remembered, so fixing the file and retrying works without a new instance.
      pending.catch(() => {
        if (this.cache.get(key) === pending) this.cache.delete(key);
      });
    }
    return pending;
  }

  async loadShard(layout: DatasetLayout, shard: number, shards: number): Promise<ShardData> {
    if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
      throw new RangeError(`shard ${shard} of ${shards} does not exist`);
    }
    return sliceShard(await this.load(refOfLayout(layout)), shard, shards);
  }

  /** Drops cached parses (their memory goes once no shard or caller holds them). */
  clear(): void {
    this.cache.clear();
  }

  private async read(ref: DatasetRef): Promise<TrainingData> {
    const path = localPath(ref.uri);
    const table = await readTable(path);
    return toTrainingData(table, ref.uri, ref.labelColumn);
  }
}

function cacheKey(ref: DatasetRef): string {
  return JSON.stringify([ref.uri, ref.labelColumn ?? null]);
}

function localPath(uri: string): string {
  if (uri.startsWith('s3://')) {
    throw new DataError(uri, 'FileDatasetSource reads local files; an s3:// URI needs the S3 dataset source');
  }
  return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
}
