import type { LoadOptions } from '../data/dataset.js';
import { classKey } from '../data/textColumns.js';
import type { TrainJobRecord } from '../domain/job.js';
import { classLabelsOf, type ModelResult } from '../domain/results.js';
import { DataError } from '../errors.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import { scoreRows, type ValidationReport } from './score.js';

/*
 * Held-out metrics in the rounds (issue 19): the aggregation that ends a job scores the model it
 * writes on the spec's `validation` set, or on the `holdout` share of the training rows that the
 * workers left out, before it marks the job SUCCEEDED; the figures travel in the job's result
 * (`result.validation`). No extra round and no extra fan-out: one read of the held-out rows by the
 * aggregator, wherever it runs (the local runtime, a Lambda aggregator reading S3).
 */

/** The held-out figures of `result`, or undefined when the spec holds nothing out. */
export async function scoreHeldOut(datasets: DatasetSource, job: TrainJobRecord, result: ModelResult): Promise<ValidationReport | undefined> {
  const { spec } = job;
  const validation = 'validation' in spec ? spec.validation : undefined;
  if (validation === undefined && spec.holdout === undefined) return undefined;
  const classifier = result.algorithm !== 'kmeans';
  const labelText: LoadOptions = classifier ? { labelText: true } : {};
  let uri: string;
  let named: string;
  let layout;
  let options: LoadOptions;
  if (validation !== undefined) {
    uri = validation;
    named = validation;
    if (classifier && !(await datasets.describe({ uri })).columns.includes(result.labelName)) {
      throw new DataError(uri, `has no label column "${result.labelName}" to score the model against`, { field: result.labelName });
    }
    // The model's features by name, in whatever order the file has them; the rest left out.
    layout = await datasets.describe({ uri, features: result.featureNames, ...(classifier ? { labelColumn: result.labelName } : {}) });
    options = labelText;
  } else {
    if (!job.layout) throw new DataError(spec.data.uri, 'the job has no layout to read its held-out rows by');
    uri = spec.data.uri;
    named = `${uri} (held out: ${spec.holdout! * 100}% of the rows, seed ${spec.seed})`;
    layout = job.layout;
    options = { ...labelText, holdout: { fraction: spec.holdout!, seed: spec.seed, keep: 'holdout' } };
  }
  const shard = await datasets.loadShard(layout, 0, 1, options);
  const rows = shard.rows;
  if (rows === 0) throw new DataError(uri, `no held-out rows to score the model on${validation === undefined ? ' (the holdout fraction left none out)' : ''}`);
  const features = inModelOrder(shard.features, rows, layout.featureNames, result.featureNames, uri);
  let truth: Int32Array | undefined;
  if (classifier) {
    const classes = classLabelsOf(result);
    const index = new Map(classes.map((c, k) => [classKey(c), k]));
    const labels = shard.labels!;
    const keys = shard.labelKeys;
    truth = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      const key = keys ? keys[labels[i]!]! : String(labels[i]);
      const k = index.get(key);
      if (k === undefined) {
        // The line, where a validation set is one file read whole (row i is its i-th data line).
        const row = validation !== undefined && layout.parts.length === 1 ? { row: layout.parts[0]!.firstLine + i } : {};
        throw new DataError(uri, `label ${JSON.stringify(key)} is not one of the model's classes (${classes.join(', ')})`, { ...row, field: result.labelName });
      }
      truth[i] = k;
    }
  }
  return scoreRows(result, features, rows, truth, named);
}

/** The rows' features (in the file's order, `have`) as the model reads them (`want`). */
function inModelOrder(features: Float32Array, rows: number, have: readonly string[], want: readonly string[], uri: string): Float32Array {
  if (have.length === want.length && have.every((name, j) => name === want[j])) return features.subarray(0, rows * want.length);
  const at = want.map((name) => {
    const j = have.indexOf(name);
    if (j === -1) throw new DataError(uri, `has no column "${name}" (a feature of the model)`, { field: name });
    return j;
  });
  const out = new Float32Array(rows * want.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < want.length; j++) out[i * want.length + j] = features[i * have.length + at[j]!]!;
  return out;
}
