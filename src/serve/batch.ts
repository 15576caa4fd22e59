import type { PartsDatasetSource } from '../data/sources/PartsDatasetSource.js';
import { DataError } from '../errors.js';
import type { ModelResult } from '../domain/results.js';
import { partBytes, rowsText, type FormatPool, type FormatSlice } from './formatPool.js';
import { compilePredictor, type Predictor, type RawPredictions } from './predictor.js';

/*
 * Batch predictions over a data set through the training data plane (describe, then loadShard:
 * byte ranges of CSV parts, rows of binary parts, Parquet row groups), one output part per shard,
 * written in shard order, so the parts read one after another are the rows in data set order.
 * Each part is CSV as `bspml predict` writes it (the same header, the same numbers).
 */

/** Where the output parts go: a local directory or an S3 prefix (src/serve/partSink.ts). */
export interface PartSink {
  /** Writes part `index` (of `count`); its name is `part-00000.csv` and so on. */
  write(index: number, count: number, body: Uint8Array): Promise<string>;
}

export interface BatchPredictResult {
  rows: number;
  shards: number;
  parts: string[];
  /** Waiting for shards to load (the next one loads while one is predicted and written). */
  loadMs: number;
  predictMs: number;
  /** Writing the predictions as text, summed over the shards (in the pool it overlaps the next shard's loading and predicting). */
  formatMs: number;
  /** Waiting for the part before to be formatted and written (one part in flight while the next shard is loaded and predicted). */
  writeMs: number;
}

/** The header `bspml predict` writes for the model (src/cli/predict.ts). */
export function predictHeader(predictor: Predictor): string {
  if (predictor.kind === 'kmeans') return 'cluster,distance';
  const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  if (predictor.kind === 'multinomial') return `prediction,${predictor.classes!.map((c) => field(`p_${String(c)}`)).join(',')}`;
  if (predictor.kind === 'svm-ovr') return `prediction,${predictor.classes!.map((c) => field(`decision_${String(c)}`)).join(',')}`;
  return `prediction,${predictor.kind === 'svm' ? 'decision' : 'probability'}`;
}

/** What to write for the rows' predictions as `bspml predict` writes them, one line each (src/serve/formatPool.ts: formatRows). */
export function formatSlice(predictor: Predictor, raw: RawPredictions, rows: number): FormatSlice {
  const names = (predictor.classes ?? []).map((c) => {
    const v = String(c);
    return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  });
  return { kmeans: predictor.kind === 'kmeans', names, index: raw.index, scores: raw.scores, width: raw.width, from: 0, to: rows };
}

/** A loaded shard's predictions, ready to format: `order` maps the model's features to the shard's columns. */
export function predictShardRows(predictor: Predictor, order: readonly number[], shard: { features: Float32Array; rows: number; dims: number }): FormatSlice {
  // The data plane keeps features in file order; the model wants its own.
  const identity = order.length === shard.dims && order.every((c, j) => c === j);
  const x = identity ? shard.features : reorder(shard.features, shard.rows, shard.dims, order, predictor.dims);
  return formatSlice(predictor, predictor.run(x, shard.rows), shard.rows);
}

/** How a shard is loaded (the data plane's LoadOptions, as the source takes them). */
export type ShardLoadOptions = NonNullable<Parameters<PartsDatasetSource['loadShard']>[3]>;
/** A data set's parts and columns, as the source describes them. */
export type DataLayout = Awaited<ReturnType<PartsDatasetSource['describe']>>;

export interface BatchPredictOptions {
  shards?: number;
  /** Parses CSV blocks in parallel, as a training worker's inner threads do (src/runtime/parsePool.ts); absent: here. */
  parser?: ShardLoadOptions['parser'];
  /** Formats the parts' text in parallel (src/serve/formatPool.ts); absent: here. */
  formatter?: Pick<FormatPool, 'format'>;
}

export async function batchPredict(model: ModelResult, data: string, datasets: PartsDatasetSource, sink: PartSink, options: BatchPredictOptions = {}): Promise<BatchPredictResult> {
  const predictor = compilePredictor(model);
  // The model's features by name; every other column (an id, the truth, text) is read past.
  const layout = await datasets.describe({ uri: data, features: [...model.featureNames] });
  const order = model.featureNames.map((name) => layout.featureNames.indexOf(name));
  const shards = options.shards ?? layout.parts.length;
  if (shards < 1) throw new DataError(data, 'no parts to predict on');
  const header = predictHeader(predictor);
  const result: BatchPredictResult = { rows: 0, shards, parts: [], loadMs: 0, predictMs: 0, formatMs: 0, writeMs: 0 };
  const load = options.parser ? { parser: options.parser } : {};
  // The next shard loads while this one is predicted; its text formats in the pool while the next
  // is loaded and predicted here, and its part is written once the part before it is.
  let next = datasets.loadShard(layout, 0, shards, load);
  let writing: Promise<string> | undefined;
  for (let s = 0; s < shards; s++) {
    const t0 = performance.now();
    const shard = await next;
    if (s + 1 < shards) {
      next = datasets.loadShard(layout, s + 1, shards, load);
      // Awaited next time round; meanwhile its failure must not count as unhandled.
      next.catch(() => undefined);
    }
    const t1 = performance.now();
    const slice = predictShardRows(predictor, order, shard);
    const t2 = performance.now();
    const formatting = format(slice, options.formatter).then(({ chunks, ms }) => {
      result.formatMs += ms;
      return chunks;
    });
    // The part before: formatted meanwhile, then written; parts are written in order, one at a time.
    const t3 = performance.now();
    if (writing) result.parts.push(await writing);
    result.writeMs += performance.now() - t3;
    writing = formatting.then((chunks) => sink.write(s, shards, partBytes(header, chunks)));
    // Awaited next time round; meanwhile its failure must not count as unhandled.
    writing.catch(() => undefined);
    result.rows += shard.rows;
    result.loadMs += t1 - t0;
    result.predictMs += t2 - t1;
  }
  const t4 = performance.now();
  if (writing) result.parts.push(await writing);
  result.writeMs += performance.now() - t4;
  return result;
}

/** The slice's text in the pool (or here) and how long it took. */
async function format(slice: FormatSlice, formatter: Pick<FormatPool, 'format'> | undefined): Promise<{ chunks: Uint8Array[]; ms: number }> {
  const t0 = performance.now();
  const chunks = formatter ? await formatter.format(slice) : [rowsText(slice)];
  return { chunks, ms: performance.now() - t0 };
}

function reorder(features: Float32Array, rows: number, from: number, order: readonly number[], dims: number): Float32Array {
  const x = new Float32Array(rows * dims);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dims; j++) x[i * dims + j] = features[i * from + order[j]!]!;
  return x;
}
