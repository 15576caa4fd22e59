import { createNumberText, type NumberText } from '../data/formats/numberText.js';
import { formatRows, formatSlice } from '../algorithms/predictionText.js';
import { compilePredictor, type Predictor } from '../algorithms/predictor.js';
import { parseCsvBlock, type CsvBlockRequest, type CsvBlockResult, type CsvBlockRows } from '../data/formats/csv-blocks.js';
import { parseFeatureBlock } from '../data/formats/csv.js';
import { maxLineBytes } from '../data/formats/line-limit.js';
import { featureColumns, reorderRows } from '../data/rows.js';
import type { ModelResult } from '../domain/results.js';

/*
 * Batch predictions where the rows are parsed: a parsing thread parses a block of CSV lines, predicts
 * its rows and writes their predictions as the text `bspml predict` writes, and hands back only that
 * text (a few numbers a row instead of every feature). So the rows are never copied back to the
 * reading thread, never gathered into a shard, and the three steps run on the block while it is in
 * this thread's cache, one after another on every core, with no second pool to share the cores with.
 */

export interface PredictStage {
  predictor: Predictor;
  /** Where each of the model's features is among the block's (file order); undefined: the same order. */
  order: Int32Array | undefined;
  /** Features per row in the block (the data set's, in file order). */
  dims: number;
  text: NumberText;
  /** Reused across blocks: the parsed rows and, when reordered, the model's. */
  rows?: CsvBlockRows;
  x?: Float32Array;
  /** Per file column, where its value goes in a row of the model's features (−1: not read), for a block's shape (columns, skip). */
  slots?: { key: string; slot: Int32Array };
  readonly maxLine: number;
}

/** A model made ready to predict blocks whose rows have `dims` features, the model's j-th at `order[j]`. */
export function predictStage(model: ModelResult, order: readonly number[], dims: number): PredictStage {
  const predictor = compilePredictor(model);
  const identity = order.length === dims && order.every((c, j) => c === j);
  return { predictor, order: identity ? undefined : Int32Array.from(order), dims, text: createNumberText(), maxLine: maxLineBytes() };
}

/** Where each file column's value goes in a row of the model's features, for the block's columns. */
function slotsFor(stage: PredictStage, request: CsvBlockRequest): Int32Array | undefined {
  // A label is checked and coded as it is placed: those blocks take the general way.
  if (request.labelIndex !== undefined || request.labelText) return undefined;
  const cols = request.columns.length;
  const key = `${cols}:${request.skip?.join(',') ?? ''}`;
  if (stage.slots?.key === key) return stage.slots.slot;
  const featureCols = featureColumns(cols, undefined, request.skip);
  if (featureCols.length !== stage.dims) return undefined;
  const slot = new Int32Array(cols).fill(-1);
  const order = stage.order;
  for (let j = 0; j < stage.predictor.dims; j++) slot[featureCols[order ? order[j]! : j]!] = j;
  stage.slots = { key, slot };
  return slot;
}

const NO_ROWS: CsvBlockRows = { features: new Float32Array(0), positions: new Float64Array(0) };

/** The block parsed, predicted and written: its text, and no rows (`out` empty). */
export function predictBlock(stage: PredictStage, request: CsvBlockRequest): CsvBlockResult {
  const slot = slotsFor(stage, request);
  if (slot) {
    // The most rows the block can hold: a row takes at least a digit and a separator per column.
    const most = Math.floor((request.bytes.length + 1) / (2 * request.columns.length)) + 1;
    const dims = stage.predictor.dims;
    if (!stage.x || stage.x.length < most * dims) stage.x = new Float32Array(most * dims);
    const fast = parseFeatureBlock(request.bytes, request.columns.length, slot, dims, stage.x, stage.maxLine);
    if (fast) {
      const x = stage.x.subarray(0, fast.rows * dims);
      const text = formatRows(formatSlice(stage.predictor, stage.predictor.run(x, fast.rows), fast.rows), stage.text);
      return { rows: fast.rows, lines: fast.lines, bytes: request.bytes, out: NO_ROWS, text };
    }
  }
  // The general way (a problem somewhere in the block, or a label): its rows, lines and problem are the reference.
  const { out: _ignored, stage: _key, ...shape } = request;
  const parsed = parseCsvBlock({ ...shape, ...(stage.rows ? { out: stage.rows } : {}) });
  stage.rows = parsed.out;
  const { rows } = parsed;
  const features = parsed.out.features;
  let x = features.subarray(0, rows * stage.dims);
  if (stage.order) {
    const dims = stage.order.length;
    if (!stage.x || stage.x.length < rows * dims) stage.x = new Float32Array(Math.max(rows * dims, features.length));
    x = reorderRows(features, rows, stage.dims, stage.order, stage.x);
  }
  const text = formatRows(formatSlice(stage.predictor, stage.predictor.run(x, rows), rows), stage.text);
  return { rows, lines: parsed.lines, bytes: parsed.bytes, out: NO_ROWS, text, ...(parsed.problem ? { problem: parsed.problem } : {}) };
}
