import { scoreRows, type ValidationReport } from '../protocol/score.js';
import type { Holdout } from '../data/holdout.js';
import { readTable } from '../data/sources/load.js';
import { classKey, labelKey } from '../data/textColumns.js';
import { DataError } from '../errors.js';
import { classLabelsOf, type ModelResult } from '../domain/results.js';
import { datasetSource } from './datasets.js';
import { selectColumns } from './predict.js';

/*
 * `bspml train --validation FILE`: the written model scored on held-out rows. The file's columns
 * are matched to the model's by name (as predict does; columns the model does not use are
 * ignored), its labels read as text and mapped to the model's classes.
 */

export type { ValidationReport } from '../protocol/score.js';

/**
 * Scores `model` on the rows of `uri`; with `holdout`, on the rows of the training data set that
 * training left out (the same seeded choice, data/holdout.ts), named `uri (held out: …)`.
 */
export async function scoreValidation(uri: string, model: ModelResult, s3Endpoint?: string, holdout?: Holdout): Promise<ValidationReport> {
  const source = await datasetSource(uri, s3Endpoint);
  const named = holdout ? `${uri} (held out: ${holdout.fraction * 100}% of the rows, seed ${holdout.seed})` : uri;
  try {
    const table = await readTable(uri, {
      source: source.datasets.bytes,
      ...(holdout ? { holdout } : {}),
      // Everything but the features as text: the label may be any, other columns (an id) are not read as numbers.
      textColumns: (columns) => columns.flatMap((c, i) => (model.featureNames.includes(c) ? [] : [i])),
    });
    const { features, labels } = selectColumns(model, table, uri, { model: '', data: uri, allowExtraColumns: true });
    if (model.algorithm === 'kmeans') return scoreRows(model, features, table.rows, undefined, named);
    if (labels === undefined) throw new DataError(uri, `has no label column "${model.labelName}" to score the model against`, { field: model.labelName });
    const classes = classLabelsOf(model);
    const index = new Map(classes.map((c, i) => [classKey(c), i]));
    const keys = table.texts![labels]!;
    const truth = new Int32Array(table.rows);
    for (let i = 0; i < table.rows; i++) {
      const text = keys[table.values[i * table.cols + labels]!]!;
      const k = index.get(labelKey(text, labels));
      if (k === undefined) {
        throw new DataError(uri, `label ${JSON.stringify(text)} is not one of the model's classes (${classes.join(', ')})`, { row: table.firstLine + i, field: model.labelName });
      }
      truth[i] = k;
    }
    return scoreRows(model, features, table.rows, truth, named);
  } finally {
    source.close();
  }
}

/** The block as text lines for the train report. */
export function formatValidation(v: ValidationReport): string[] {
  if (v.algorithm === 'kmeans') return [`validation ${v.uri}: ${v.rows.toLocaleString('en-US')} rows; held-out inertia ${v.inertia.toLocaleString('en-US', { maximumFractionDigits: 2 })}`];
  const m = v as Extract<ValidationReport, { algorithm: 'logreg' | 'svm' }>;
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const figures = [
    `accuracy ${pct(m.accuracy)}`,
    ...(m.logLoss !== undefined ? [`log-loss ${m.logLoss.toPrecision(6)}`] : []),
    ...(m.auc !== undefined ? [`AUC ${m.auc.toFixed(4)}`] : []),
    `precision ${m.precision.toFixed(4)} recall ${m.recall.toFixed(4)} F1 ${m.f1.toFixed(4)} (${m.average === 'binary' ? `of ${String(m.classes[1])}` : 'macro'})`,
  ];
  return [
    `validation ${m.uri}: ${m.rows.toLocaleString('en-US')} rows; ${figures.join(', ')}`,
    `confusion  rows: truth, columns: prediction (${m.classes.map(String).join(', ')}): ${m.confusion.map((r) => `[${r.join(' ')}]`).join(' ')}`,
  ];
}
