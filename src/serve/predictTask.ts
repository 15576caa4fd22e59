import type { PartsDatasetSource } from '../data/sources/PartsDatasetSource.js';
import type { ModelResult } from '../domain/results.js';
import { predictHeader, predictShardRows, type DataLayout, type PartSink, type ShardLoadOptions } from './batch.js';
import { partBytes, rowsText } from './formatPool.js';
import { compilePredictor, type Predictor } from './predictor.js';

/*
 * One task of a predict job's fan-out round: shard `shard` of `shards` loaded through the training
 * data plane (the layout described once, when the job starts), predicted and written as part
 * `shard`. The tasks are independent: run in any order, at once or one by one, their parts are those
 * `bspml predict --out` writes in one process (src/serve/batch.ts), byte for byte. What a stack's
 * predict worker runs per task message (src/serve/predictJob.ts, handlers/predictWorker.ts).
 */

export interface PredictTaskInput {
  /** The model's features matched by name against the data's columns (prepareTasks). */
  layout: DataLayout;
  shard: number;
  shards: number;
}

export interface PredictTaskResult {
  part: string;
  rows: number;
}

/** What the job's start does once: the data set described with the model's features. */
export async function describeForModel(model: ModelResult, data: string, datasets: Pick<PartsDatasetSource, 'describe'>): Promise<DataLayout> {
  return datasets.describe({ uri: data, features: [...model.featureNames] });
}

/** A compiled model and the map from its features to the layout's columns, made once per environment and model version. */
export interface PreparedModel {
  predictor: Predictor;
  order: number[];
  header: string;
}

export function prepareModel(model: ModelResult, layout: DataLayout): PreparedModel {
  return preparePredictor(compilePredictor(model), layout);
}

/** The same for a model already compiled (a predict worker's, cached by version: src/serve/modelStore.ts). */
export function preparePredictor(predictor: Predictor, layout: Pick<DataLayout, 'featureNames'>): PreparedModel {
  return { predictor, order: predictor.featureNames.map((name) => layout.featureNames.indexOf(name)), header: predictHeader(predictor) };
}

export async function runPredictTask(prepared: PreparedModel, task: PredictTaskInput, datasets: Pick<PartsDatasetSource, 'loadShard'>, sink: PartSink, load: ShardLoadOptions = {}): Promise<PredictTaskResult> {
  if (!Number.isInteger(task.shard) || task.shard < 0 || task.shard >= task.shards) throw new RangeError(`predict task for shard ${task.shard} of ${task.shards}: no such shard`);
  const shard = await datasets.loadShard(task.layout, task.shard, task.shards, load);
  const body = rowsText(predictShardRows(prepared.predictor, prepared.order, shard));
  const part = await sink.write(task.shard, task.shards, partBytes(prepared.header, [body]));
  return { part, rows: shard.rows };
}
