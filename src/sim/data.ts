import { generateBlobs, generateClassification } from '../data/generate.js';
import { shardRange, type DatasetRef, type ShardData, type TrainingData } from '../data/types.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import type { Clock } from '../runtime/BarrierWaitRuntime.js';

/** The data set a simulation stands for: its shape, not its values. */
export interface SimData {
  algorithm: 'kmeans' | 'logreg';
  rows: number;
  dims: number;
  k: number;
  /** Bytes per stored row (float32 features, and a label for logistic regression). */
  rowBytes: number;
}

/** Rows of real values the protocol computes on: enough for every shard to own some and for k-means++. */
export function sampleRows(data: SimData, workers: number): number {
  const budget = Math.floor(4_000_000 / Math.max(1, data.dims));
  return Math.max(Math.min(budget, Math.max(2048, 8 * workers)), workers, data.k * 4);
}

/**
 * A data source standing for a large data set. The protocol gets a real sample (blobs or separable
 * points of the right dimensions, as `bspml gen` makes them) to initialise and compute on, so its
 * partials and models have their real sizes; loading a shard takes the time of reading the
 * shard's real bytes (S3 first byte plus transfer), and the shard says how many rows it stands for.
 */
export class SimDatasetSource implements DatasetSource {
  readonly sample: TrainingData;

  constructor(
    readonly data: SimData,
    workers: number,
    private readonly clock: Clock,
    /** Time to read `bytes` of a shard (the profile's S3 or local read). */
    private readonly readMs: (bytes: number) => number,
    seed = 1,
  ) {
    const rows = sampleRows(data, workers);
    if (data.algorithm === 'kmeans') {
      const { table } = generateBlobs({ rows, dims: data.dims, centers: data.k, seed });
      this.sample = { source: 'simulated', rows, dims: data.dims, features: table.values, featureNames: table.columns };
    } else {
      const { table } = generateClassification({ rows, dims: data.dims, seed, margin: 0 });
      const features = new Float32Array(rows * data.dims);
      const labels = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        features.set(table.values.subarray(r * table.cols, r * table.cols + data.dims), r * data.dims);
        labels[r] = table.values[r * table.cols + data.dims]!;
      }
      this.sample = { source: 'simulated', rows, dims: data.dims, features, labels, featureNames: table.columns.slice(0, data.dims), labelName: 'label' };
    }
  }

  /** What the start function reads (its metadata: modelled as one small read). */
  async load(_ref: DatasetRef): Promise<TrainingData> {
    await this.clock.sleep(this.readMs(64 * 1024));
    return this.sample;
  }

  /** Rows of shard `shard` of the full data set. */
  virtualRows(shard: number, shards: number): number {
    const { start, end } = shardRange(this.data.rows, shard, shards);
    return end - start;
  }

  async loadShard(_ref: DatasetRef, shard: number, shards: number): Promise<ShardData> {
    const rows = this.virtualRows(shard, shards);
    await this.clock.sleep(this.readMs(rows * this.data.rowBytes));
    const s = this.sample;
    return { shard, shards, first: shardRange(this.data.rows, shard, shards).start, rows, dims: s.dims, buffer: new SharedArrayBuffer(0), features: s.features, labels: s.labels };
  }
}
