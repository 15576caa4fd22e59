import type { ModelResult } from '../domain/results.js';

/*
 * The checks of src/protocol/modelFile.ts (parseModel) that serving needs, without zod: zod's
 * schemas are most of a predict bundle's size (≈ 470 KB of 1.1 MB minified), and the cold start is
 * the bundle's size. test/serve/model-check.test.ts holds the two to the same verdicts.
 */

/** A stored model that is not one (its JSON, a field): the same on every read. */
export class ModelFileError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: not a bspml model: ${detail}`);
    this.name = 'ModelFileError';
  }
}

const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isLabel = (v: unknown): v is string | number => typeof v === 'string' || isFinite(v);

/** A model file's JSON as the endpoint serves it; throws one line naming the bad field. */
export function checkModel(value: unknown, file: string): ModelResult {
  const fail = (field: string, why: string): never => {
    throw new ModelFileError(file, `${field}: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('model', 'not an object');
  const m = value as Record<string, unknown>;
  const algorithm = m.algorithm;
  if (algorithm !== 'kmeans' && algorithm !== 'logreg' && algorithm !== 'svm') fail('algorithm', 'must be kmeans, logreg or svm');
  const dims = m.dims;
  if (!Number.isInteger(dims) || (dims as number) < 1) fail('dims', 'must be an integer ≥ 1');
  const names = m.featureNames;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) fail('featureNames', 'must be an array of strings');
  const vector = (field: string, v: unknown): number[] => {
    if (!Array.isArray(v) || !v.every(isFinite)) fail(field, 'must be an array of finite numbers');
    return v as number[];
  };
  const matrix = (field: string, v: unknown): number[][] => {
    if (!Array.isArray(v)) fail(field, 'must be an array of rows');
    (v as unknown[]).forEach((row, i) => vector(`${field}.${i}`, row));
    return v as number[][];
  };
  let widths: number[];
  if (algorithm === 'kmeans') {
    if (!Number.isInteger(m.k) || (m.k as number) < 1) fail('k', 'must be an integer ≥ 1');
    const centroids = matrix('centroids', m.centroids);
    if (centroids.length !== m.k) fail('k', `k = ${m.k} but ${centroids.length} centroids`);
    widths = centroids.map((c) => c.length);
  } else {
    if (typeof m.labelName !== 'string') fail('labelName', 'must be a string');
    const classes = m.classes;
    if (classes !== undefined && (!Array.isArray(classes) || !classes.every(isLabel))) fail('classes', 'must be an array of labels (strings or numbers)');
    if (Array.isArray(classes) && new Set(classes.map(String)).size !== classes.length) fail('classes', 'a class is named twice');
    if (Array.isArray(m.bias)) {
      // Multinomial or a one-vs-rest SVM: a row of weights and a bias per class.
      if (!Array.isArray(classes) || classes.length < 3) fail('classes', `a ${algorithm === 'svm' ? 'one-vs-rest SVM' : 'multinomial model'} needs at least 3 classes`);
      if (algorithm === 'svm' && m.multiClass !== undefined && m.multiClass !== 'ovr') fail('multiClass', 'must be "ovr"');
      const weights = matrix('weights', m.weights);
      const bias = vector('bias', m.bias);
      const C = (classes as unknown[]).length;
      if (weights.length !== C || bias.length !== C) fail('classes', `${C} classes but ${weights.length} rows of weights and ${bias.length} biases`);
      widths = weights.map((w) => w.length);
    } else {
      if (classes !== undefined && (classes as unknown[]).length !== 2) fail('classes', 'a binary model has 2 classes');
      widths = [vector('weights', m.weights).length];
      if (!isFinite(m.bias)) fail('bias', 'must be a finite number');
    }
  }
  if (widths.some((w) => w !== dims) || (names as string[]).length !== dims) fail('dims', `dims = ${dims} does not match its weights or centroids`);
  if (new Set(names as string[]).size !== (names as string[]).length) fail('featureNames', 'a feature is named twice');
  if (algorithm !== 'kmeans' && (names as string[]).includes(m.labelName as string)) fail('labelName', `the label "${m.labelName}" is also a feature`);
  return value as ModelResult;
}
