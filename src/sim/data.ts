import { generateBlobs, generateClassification } from '../data/generate.js';
import { MemoryDatasetSource } from '../data/sources/MemoryDatasetSource.js';
import type { DatasetLayout } from '../data/layout.js';
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
  /** Multinomial logistic regression's classes: labels 0..C−1, dealt to the rows in turn; absent: two. */
  classes?: number;
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
  private readonly memory = new MemoryDatasetSource();

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
        labels[r] = data.classes !== undefined ? r % data.classes : table.values[r * table.cols + data.dims]!;
      }
      this.sample = { source: 'simulated', rows, dims: data.dims, features, labels, featureNames: table.columns.slice(0, data.dims), labelName: 'label' };
    }
    this.memory.add('simulated', this.sample);
  }

  /** What the start function reads: the data set's metadata (one small read). */
  async describe(ref: DatasetRef): Promise<DatasetLayout> {
    await this.clock.sleep(this.readMs(64 * 1024));
    return this.memory.describe(ref);
  }

  /** Rows of shard `shard` of the full data set. */
  virtualRows(shard: number, shards: number): number {
    const { start, end } = shardRange(this.data.rows, shard, shards);
    return end - start;
  }

  /**
   * Takes the time of reading the full data set's shard, and returns the sample's shard (real rows
   * that the preparation round checks and summarises; the compute time is the full shard's).
   */
  async loadShard(layout: DatasetLayout, shard: number, shards: number): Promise<ShardData> {
    await this.clock.sleep(this.readMs(this.virtualRows(shard, shards) * this.data.rowBytes));
    return this.memory.loadShard(layout, shard, shards);
  }
}
