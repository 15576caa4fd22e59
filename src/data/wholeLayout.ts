import type { DatasetLayout } from './layout.js';
import type { DatasetRef, TrainingData } from './types.js';

/*
 * The layout of a data set that a source reads whole (one file or object, parsed and validated in
 * `describe`): one part whose rows are known. A stand-in for sources that do not yet read metadata
 * alone; their bad values are reported by `describe`, before any round.
 */

export function wholeLayout(ref: DatasetRef, data: TrainingData): DatasetLayout {
  return {
    uri: ref.uri,
    parts: [{ name: ref.uri, uri: ref.uri, format: 'csv', bytes: 0, rows: data.rows, dataOffset: 0, firstLine: 1 }],
    columns: data.labelName !== undefined ? [...data.featureNames, data.labelName] : [...data.featureNames],
    featureNames: [...data.featureNames],
    ...(data.labelName !== undefined ? { labelName: data.labelName } : {}),
    bytes: 0,
  };
}

/** The reference a whole-read layout came from (the label by its resolved name). */
export function refOfLayout(layout: DatasetLayout): DatasetRef {
  return { uri: layout.uri, ...(layout.labelName !== undefined ? { labelColumn: layout.labelName } : {}) };
}
