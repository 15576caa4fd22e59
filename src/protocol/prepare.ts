import { algorithmFor } from '../algorithms/index.js';
import { resolveClassWeights } from '../algorithms/classWeights.js';
import type { LoadOptions } from '../data/dataset.js';
import type { DatasetLayout } from '../data/layout.js';
import type { PieceReport } from '../data/types.js';
import { decodeSummary, encodeSummary, errorSummary, mergeSummaries, type PreparedData, type Summary, type SummaryError } from '../data/summary.js';
import type { DataSummary } from '../data/types.js';
import { classKey, sortClasses } from '../data/textColumns.js';
import { BspmlError, DataError, SpecError } from '../errors.js';
import type { Container } from '../ports/Container.js';
import { PREPARE_DIGEST } from './constants.js';
import type { ProtocolDeps } from './deps.js';
import type { JobSpec } from '../domain/spec.js';
import type { TrainJobRecord, RoundTask, WorkerReport } from '../domain/job.js';

/*
 * The preparation round (round 0). Each worker loads its shard (kept in its container for the
 * training rounds), summarises it and writes the summary as its partial; a shard with a bad value
 * writes the error instead of throwing, so a data error is reported once, by the aggregator, and
 * never retried. The aggregator merges the summaries in shard order, checks the whole data set and
 * computes the model of round 1 from the summary.
 */

/**
 * Bytes of a shard's initialisation sample in its round-0 partial that the sample's size is held
 * to (unless k needs more, below): with the summary's JSON, a partial then fits one DynamoDB item
 * (350 KB chunks) however large the shard or W. Each shard sends its bottom-m rows, so the merged
 * sample is the data set's bottom-m exactly, the same rows for every W and I.
 */
export const SAMPLE_BUDGET_BYTES = 256 * 1024;

/**
 * Sample rows per centroid that k-means++ is always given, budget or not: k-means|| (Bahmani et
 * al., "Scalable K-Means++", VLDB 2012) reclusters about 10·k oversampled candidates; twice that.
 */
export const SAMPLE_ROWS_PER_CENTROID = 20;

/** Bytes a sample row takes in a partial: its key, part and position (float64) and its features (float32). */
export function sampleRowBytes(dims: number): number {
  return 24 + 4 * dims;
}

/**
 * Rows of the initialisation sample (k-means++); 0 when the model needs none: the spec's
 * `initSample`, at most what SAMPLE_BUDGET_BYTES holds of rows of `dims` features, but never fewer
 * than SAMPLE_ROWS_PER_CENTROID·k. A function of the spec and the columns only, so every worker and
 * the aggregator agree on it whatever the partitioning.
 */
export function sampleSizeOf(spec: JobSpec, dims: number): number {
  if (!('initSample' in spec)) return 0;
  const budgetRows = Math.floor(SAMPLE_BUDGET_BYTES / sampleRowBytes(dims));
  return Math.min(spec.initSample, Math.max(budgetRows, SAMPLE_ROWS_PER_CENTROID * spec.k));
}

/**
 * How a shard's reader reads the job's labels: a classifier's as text (any class: strings,
 * booleans, integers in any range), coded per shard, the classes collected by this round.
 */
export function loadOptions(spec: JobSpec): LoadOptions {
  return {
    ...(spec.algorithm === 'kmeans' ? {} : { labelText: true }),
    // Held-out rows never reach a shard: every summary and partial is of the training rows only.
    ...(spec.holdout !== undefined ? { holdout: { fraction: spec.holdout, seed: spec.seed, keep: 'train' as const } } : {}),
  };
}

/** A worker's part of the preparation round: the summary of its shard (or of its shard's error). */
export async function prepareShard(
  deps: Pick<ProtocolDeps, 'datasets' | 'now'>,
  container: Container,
  job: TrainJobRecord & { layout: DatasetLayout },
  task: RoundTask,
): Promise<{ partial: Float64Array; report: WorkerReport }> {
  // The runtime's clock where it has one (the simulator's virtual clock: a real duration here would
  // make a simulated run depend on how busy the machine was), else the process's.
  const now = deps.now ?? (() => performance.now());
  const started = now();
  let summary: Summary;
  let cacheHit = false;
  try {
    const shard = await container.shard(job.jobId, task.shard, (via) => deps.datasets.loadShard(job.layout, task.shard, job.shards, { ...loadOptions(job.spec), ...via }));
    cacheHit = shard.cacheHit;
    // Summarised by the container's threads, each over its range of the rows.
    summary = await container.summarize(shard.key, shard.data, { shard: task.shard, seed: job.spec.seed, sampleSize: sampleSizeOf(job.spec, job.layout.featureNames.length) });
  } catch (error) {
    // Anything but bad data (a network error, a throttled read) is thrown, for the invocation to be retried.
    if (!(error instanceof DataError)) throw error;
    summary = errorSummary(task.shard, job.layout.featureNames.length, error);
  }
  const { meta, body } = encodeSummary(summary);
  const report: WorkerReport = {
    shard: task.shard,
    rows: summary.rows,
    computeMs: 0,
    // Loading and summarising: the whole of a preparation worker's time is data preparation.
    loadMs: now() - started,
    cacheHit,
    threads: container.threads,
    modelDigest: PREPARE_DIGEST,
    summary: meta,
  };
  return { partial: body, report };
}

export interface PreparedRound {
  model: Float64Array;
  data: DataSummary;
  stats: Record<string, number>;
}

/**
 * Merges the preparation round's partials (in shard order), checks the data set as a whole and
 * initialises the model. Throws a BspmlError whose message is the job's reason when it cannot train.
 */
export function prepareModel(job: TrainJobRecord & { layout: DatasetLayout }, partials: { partial: Float64Array; report: WorkerReport }[]): PreparedRound {
  const { spec, layout } = job;
  const dims = layout.featureNames.length;
  let merged: Summary | undefined;
  for (const { partial, report } of partials) {
    if (!report.summary) throw new BspmlError('E_CODEC', `the preparation partial of shard ${report.shard} carries no summary`);
    const summary = decodeSummary(report.summary, partial);
    if (summary.dims !== dims) {
      throw new DataError(layout.uri, `shard ${report.shard} read ${summary.dims} feature columns, the data set has ${dims} (${layout.featureNames.join(', ')})`);
    }
    merged = merged ? mergeSummaries(merged, summary, sampleSizeOf(spec, dims)) : summary;
  }
  if (!merged) throw new BspmlError('E_CODEC', 'the preparation round has no partials');

  const error = firstError(merged.errors);
  if (error) throw new BspmlError('E_DATA', reasonOf(error, merged.pieces, layout));
  if (merged.rows === 0) {
    const onlyHeader = layout.parts.length === 1 && layout.parts[0]!.hasHeader === true;
    throw new DataError(layout.uri, `no data rows${onlyHeader ? ' (the file has only a header)' : ''}`);
  }
  if (job.shards > merged.rows) {
    throw new SpecError(`workers = ${job.shards} is more than the ${merged.rows} rows of ${layout.uri}; every worker needs at least one row`, 'workers');
  }
  const prepared: PreparedData = {
    ...merged,
    source: layout.uri,
    featureNames: layout.featureNames,
    ...(layout.labelName !== undefined ? { labelName: layout.labelName } : {}),
  };
  const classLabels = merged.labels ? collectClasses(prepared, layout) : undefined;
  const algorithm = algorithmFor(spec);
  algorithm.validate(spec, prepared);
  const classes = algorithm.classes?.(spec, prepared);
  // From the label counts this round collected: no pass of its own.
  const classWeight = 'classWeight' in spec ? spec.classWeight : undefined;
  const classWeights = classWeight !== undefined && classLabels ? resolveClassWeights(classWeight, classLabels, prepared.labels!, layout.uri) : undefined;
  const model = algorithm.init(spec, prepared);
  return {
    model,
    data: {
      rows: merged.rows,
      dims,
      featureNames: layout.featureNames,
      ...(layout.labelName !== undefined ? { labelName: layout.labelName } : {}),
      ...(classes !== undefined ? { classes } : {}),
      ...(classLabels !== undefined ? { classLabels } : {}),
      ...(classWeights !== undefined ? { classWeights } : {}),
    },
    // A shard can hold no rows when its byte range holds no line start, or when the parts cannot
    // be split (a gzip part) into as many ranges as workers; its partials are then zero.
    stats: { rows: merged.rows, emptyShards: merged.shardRows.filter((n) => n === 0).length, sampleRows: merged.sample.keys.length },
  };
}

/**
 * The classes of a classifier's labels, sorted as scikit-learn's np.unique sorts them
 * (data/textColumns.ts); refuses one class (a classifier needs two) and non-integer numbers
 * (continuous targets, as scikit-learn does). Re-keys `data.labels` by class index 0..C−1, which
 * is what the training rounds' labels hold (protocol/classes.ts) and what the algorithms read.
 */
function collectClasses(data: PreparedData, layout: DatasetLayout): (string | number)[] {
  const counts = data.labels!;
  const classes = sortClasses(Object.keys(counts));
  const field = { field: data.labelName ?? 'label' };
  const fraction = classes.find((c) => typeof c === 'number' && !Number.isInteger(c));
  if (fraction !== undefined) {
    throw new DataError(layout.uri, `label ${fraction} is not a class: a classifier's labels are integers, strings or booleans (scikit-learn refuses continuous targets too)`, field);
  }
  if (classes.length < 2) {
    throw new DataError(layout.uri, `every row has the class ${JSON.stringify(classes[0])}: a classifier needs at least two classes`, field);
  }
  data.labels = Object.fromEntries(classes.map((c, i) => [String(i), counts[classKey(c)]!]));
  return classes;
}

/** The first located error in (part, line) order; without locations, the first in shard order. */
function firstError(errors: SummaryError[]): SummaryError | undefined {
  const located = errors.filter((e) => e.location);
  if (located.length === 0) return errors[0];
  return located.sort((a, b) => {
    const x = a.location!;
    const y = b.location!;
    return x.part - y.part || x.pieceStart - y.pieceStart || x.lineInPiece - y.lineInPiece;
  })[0];
}

/**
 * One line naming the part's file, the line (or row) in that part and the column. A worker that
 * read its part from the start knew the line, and said so; one that started mid-part knew only the
 * line in its piece (and the byte where it starts): the lines of the part's earlier pieces, read by
 * other workers, are in their summaries. When one of them is missing (its shard failed too), the
 * reader's own message, which names the byte, is kept.
 */
export function reasonOf(error: SummaryError, pieces: PieceReport[], layout: DatasetLayout): string {
  const location = error.location;
  const part = location ? layout.parts[location.part] : undefined;
  if (!location || !part || error.row !== undefined) return error.message;
  const earlier = pieces.filter((p) => p.piece.part === location.part && p.piece.start < location.pieceStart).sort((a, b) => a.piece.start - b.piece.start);
  if (earlier.length === 0 || (earlier[0]!.piece.start !== part.dataOffset && earlier[0]!.piece.start !== 0)) return error.message;
  for (let i = 1; i < earlier.length; i++) if (earlier[i]!.piece.start !== earlier[i - 1]!.piece.end) return error.message;
  if (earlier[earlier.length - 1]!.piece.end !== location.pieceStart) return error.message;
  // `lineInPiece` is 0-based: the piece's first line is the line after the earlier pieces' lines.
  const line = part.firstLine + earlier.reduce((n, p) => n + p.lines, 0) + location.lineInPiece;
  return new DataError(part.name, error.detail, { row: line, ...(location.field !== undefined ? { field: location.field } : {}) }).message;
}
