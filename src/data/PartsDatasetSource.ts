import { DataError } from '../errors.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import { describe, loadShard, type LoadOptions } from './dataset.js';
import type { DatasetLayout, LoadedShard } from './layout.js';
import type { ByteSource } from './sources/bytes.js';
import { classLabelProblem } from './labels.js';
import type { DatasetRef, TrainingData } from './types.js';

/**
 * A data set of one or many parts (CSV, csv.gz, binary, Parquet) read through a ByteSource.
 * `describe(ref)` reads metadata only; `loadShard(layout, shard, shards)` reads one shard's
 * pieces. Until the preparation round replaces it, the older port is served too: `load(ref)`
 * (the whole set as one shard) and `loadShard(ref, shard, shards)` (describing first, once per ref).
 */
export class PartsDatasetSource implements DatasetSource {
  private readonly layouts = new Map<string, Promise<DatasetLayout>>();

  constructor(readonly bytes: ByteSource) {}

  describe(ref: DatasetRef): Promise<DatasetLayout> {
    return describe(ref, this.bytes);
  }

  loadShard(layout: DatasetLayout, shard: number, shards: number, options?: LoadOptions): Promise<LoadedShard>;
  loadShard(ref: DatasetRef, shard: number, shards: number): Promise<LoadedShard>;
  async loadShard(of: DatasetLayout | DatasetRef, shard: number, shards: number, options: LoadOptions = {}): Promise<LoadedShard> {
    if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
      throw new RangeError(`shard ${shard} of ${shards} does not exist`);
    }
    if ('parts' in of) return loadShard(of, shard, shards, this.bytes, options);
    return loadShard(await this.layoutOf(of), shard, shards, this.bytes, { labelRule: classLabelProblem });
  }

  async load(ref: DatasetRef): Promise<TrainingData> {
    const layout = await this.layoutOf(ref);
    const shard = await loadShard(layout, 0, 1, this.bytes, { labelRule: classLabelProblem });
    if (shard.rows === 0) {
      const onlyHeader = layout.parts.length === 1 && layout.parts[0]!.hasHeader;
      throw new DataError(ref.uri, `no data rows${onlyHeader ? ' (the file has only a header)' : ''}`);
    }
    return {
      source: ref.uri,
      rows: shard.rows,
      dims: shard.dims,
      features: shard.features,
      ...(shard.labels ? { labels: shard.labels } : {}),
      featureNames: layout.featureNames,
      ...(layout.labelName !== undefined ? { labelName: layout.labelName } : {}),
    };
  }

  /** Forgets described layouts, so that a changed file is described afresh. */
  clear(): void {
    this.layouts.clear();
  }

  private layoutOf(ref: DatasetRef): Promise<DatasetLayout> {
    const key = JSON.stringify([ref.uri, ref.labelColumn ?? null]);
    let pending = this.layouts.get(key);
    if (!pending) {
      pending = this.describe(ref);
      this.layouts.set(key, pending);
      // A failed describe is not remembered, so fixing the file and retrying works without a new instance.
      pending.catch(() => {
        if (this.layouts.get(key) === pending) this.layouts.delete(key);
      });
    }
    return pending;
  }
}
