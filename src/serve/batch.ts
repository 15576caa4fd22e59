import type { PartsDatasetSource } from '../data/sources/PartsDatasetSource.js';
import { DataError } from '../errors.js';
import { csvField } from '../data/formats/csvField.js';
import { reorderRows } from '../data/rows.js';
import type { ModelResult } from '../domain/results.js';
import { formatSlice, type FormatSlice } from '../algorithms/predictionText.js';
import { partBytes, rowsText, type FormatPool } from './formatPool.js';
import { compilePredictor, type Predictor } from './predictor.js';

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
  /** The same from the body's pieces in order, where the sink can write them without joining them first (a file). */
  writeChunks?(index: number, count: number, chunks: readonly Uint8Array[]): Promise<string>;
}

export interface BatchPredictResult {
  rows: number;
  shards: number;
  parts: string[];
  /** Shards parsed, predicted and written as text in the parsing threads (`stage`), no rows coming back. */
  staged: number;
  /** Waiting for shards' text: loaded, predicted and formatted (the next shard is under way meanwhile, and the part before is written). */
  loadMs: number;
  /** Predicting here, the shards not staged. */
  predictMs: number;
  /** Writing the predictions as text in the format pool, summed over the shards not staged (it overlaps the next shard). */
  formatMs: number;
  /** Waiting for the part before to be written before writing the next (one write at a time), and for the last. */
  writeMs: number;
}

/** The header `bspml predict` writes for the model (src/cli/predict.ts). */
export function predictHeader(predictor: Predictor): string {
  if (predictor.kind === 'kmeans') return 'cluster,distance';
  if (predictor.kind === 'multinomial') return `prediction,${predictor.classes!.map((c) => csvField(`p_${String(c)}`)).join(',')}`;
  if (predictor.kind === 'svm-ovr') return `prediction,${predictor.classes!.map((c) => csvField(`decision_${String(c)}`)).join(',')}`;
  return `prediction,${predictor.kind === 'svm' ? 'decision' : 'probability'}`;
}

/** A loaded shard's predictions, ready to format: `order` maps the model's features to the shard's columns. */
export function predictShardRows(predictor: Predictor, order: readonly number[], shard: { features: Float32Array; rows: number; dims: number }): FormatSlice {
  // The data plane keeps features in file order; the model wants its own.
  const identity = order.length === shard.dims && order.every((c, j) => c === j);
  const x = identity ? shard.features : reorderRows(shard.features, shard.rows, shard.dims, order);
  return formatSlice(predictor, predictor.run(x, shard.rows), shard.rows);
}

/** How a shard is loaded (the data plane's LoadOptions, as the source takes them). */
export type ShardLoadOptions = NonNullable<Parameters<PartsDatasetSource['loadShard']>[3]>;
/** A data set's parts and columns, as the source describes them. */
export type DataLayout = Awaited<ReturnType<PartsDatasetSource['describe']>>;

/** A block parser that predicts the rows where it parses them (src/runtime/parsePool.ts staged), closed when done. */
export type StagedParser = Parameters<PartsDatasetSource['stageShard']>[3] & { close(): void };

export interface BatchPredictOptions {
  shards?: number;
  /**
   * Parses, predicts and formats CSV shards' blocks in the parsing threads, only their text coming
   * back (src/inner/predictStage.ts), given the model, where each of its features is among a row's,
   * and the features per row; other shards (binary, Parquet) are loaded with `parser`.
   */
  stage?: (model: ModelResult, order: readonly number[], dims: number) => StagedParser;
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
  const result: BatchPredictResult = { rows: 0, shards, parts: [], staged: 0, loadMs: 0, predictMs: 0, formatMs: 0, writeMs: 0 };
  const load = options.parser ? { parser: options.parser } : {};
  const stage = options.stage?.(model, order, layout.featureNames.length);

  /** Shard s's part, as text chunks after the header. */
  const shardText = async (s: number): Promise<Uint8Array[]> => {
    if (stage && datasets.stageable(layout, s, shards)) {
      const chunks: Uint8Array[] = [];
      const { rows } = await datasets.stageShard(layout, s, shards, stage, (text) => chunks.push(text));
      result.rows += rows;
      result.staged++;
      return chunks;
    }
    const shard = await datasets.loadShard(layout, s, shards, load);
    const t1 = performance.now();
    const slice = predictShardRows(predictor, order, shard);
    result.predictMs += performance.now() - t1;
    result.rows += shard.rows;
    const { chunks, ms } = await format(slice, options.formatter);
    result.formatMs += ms;
    return chunks;
  };

  // Two shards under way at a time: the next one loads (or parses, predicts and formats in the
  // threads) while this one finishes, so the cores never wait for a shard's last blocks; each part
  // is written once the part before it is (one write at a time, in shard order).
  const texts: (Promise<Uint8Array[]> | undefined)[] = [];
  const begin = (s: number) => {
    if (s >= shards || texts[s]) return;
    texts[s] = shardText(s);
    // Awaited in its turn; meanwhile its failure must not count as unhandled.
    texts[s]!.catch(() => undefined);
  };
  let writing: Promise<string> | undefined;
  try {
    for (let s = 0; s < shards; s++) {
      begin(s);
      begin(s + 1);
      const t0 = performance.now();
      const chunks = await texts[s]!;
      const t1 = performance.now();
      result.loadMs += t1 - t0;
      if (writing) result.parts.push(await writing);
      result.writeMs += performance.now() - t1;
      writing = sink.writeChunks ? sink.writeChunks(s, shards, [Buffer.from(`${header}\n`), ...chunks]) : sink.write(s, shards, partBytes(header, chunks));
      writing.catch(() => undefined);
    }
    const t2 = performance.now();
    if (writing) result.parts.push(await writing);
    result.writeMs += performance.now() - t2;
  } finally {
    stage?.close();
  }
  return result;
}

/** The slice's text in the pool (or here) and how long it took. */
async function format(slice: FormatSlice, formatter: Pick<FormatPool, 'format'> | undefined): Promise<{ chunks: Uint8Array[]; ms: number }> {
  const t0 = performance.now();
  const chunks = formatter ? await formatter.format(slice) : [rowsText(slice)];
  return { chunks, ms: performance.now() - t0 };
}


