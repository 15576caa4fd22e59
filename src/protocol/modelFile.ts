import { z } from 'zod';
import { SpecError } from '../errors.js';
import { isMultinomial, type ModelResult } from '../domain/results.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const kmeansModel = z.object({
  algorithm: z.literal('kmeans'),
  k: z.number().int().min(1),
  dims: z.number().int().min(1),
  featureNames: z.array(z.string()),
  centroids: z.array(z.array(finite)),
  counts: z.array(z.number()),
  inertia: z.number(),
  rounds: z.number().int(),
  converged: z.boolean(),
});

/** A class as the data held it: a string (a boolean's text too) or a number. */
const classLabel = z.union([z.string(), finite]);

const logregModel = z.object({
  algorithm: z.literal('logreg'),
  dims: z.number().int().min(1),
  featureNames: z.array(z.string()),
  labelName: z.string(),
  /** The labels of class 0 and class 1 (absent in older files: 0 and 1). */
  classes: z.array(classLabel).length(2).optional(),
  weights: z.array(finite),
  bias: finite,
  loss: z.number(),
  penalty: z.number().optional(),
  accuracy: z.number(),
  gradNorm: z.number(),
  rounds: z.number().int(),
  converged: z.boolean(),
});

const svmModel = logregModel.omit({ algorithm: true }).extend({ algorithm: z.literal('svm') });

/** Logistic regression on C > 2 classes: a row of weights and a bias per class. */
const multinomialModel = logregModel.extend({
  classes: z.array(classLabel).min(3),
  weights: z.array(z.array(finite)),
  bias: z.array(finite),
});

const modelSchema = z.discriminatedUnion('algorithm', [kmeansModel, logregModel, svmModel]);

/** A logistic-regression file with a bias per class is multinomial. */
function schemaOf(value: unknown) {
  const record = value as { algorithm?: unknown; bias?: unknown } | null;
  return typeof record === 'object' && record !== null && record.algorithm === 'logreg' && Array.isArray(record.bias) ? multinomialModel : modelSchema;
}

/** Validates a model file's JSON (as `--out` writes it); throws SpecError naming the bad field. */
export function parseModel(value: unknown, file: string): ModelResult {
  const parsed = schemaOf(value).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'model';
    throw new SpecError(`${file}: not a bspml model: ${field}: ${issue.message}`, field, { cause: parsed.error });
  }
  const model = parsed.data as ModelResult;
  if (model.algorithm !== 'kmeans' && model.classes && new Set(model.classes.map(String)).size !== model.classes.length) {
    throw new SpecError(`${file}: not a bspml model: classes: a class is named twice`, 'classes');
  }
  if (isMultinomial(model) && (model.weights.length !== model.classes.length || model.bias.length !== model.classes.length)) {
    throw new SpecError(`${file}: not a bspml model: ${model.classes.length} classes but ${model.weights.length} rows of weights and ${model.bias.length} biases`, 'classes');
  }
  const widths = model.algorithm === 'kmeans' ? model.centroids.map((c) => c.length) : isMultinomial(model) ? model.weights.map((w) => w.length) : [model.weights.length];
  if (widths.some((w) => w !== model.dims) || model.featureNames.length !== model.dims) {
    throw new SpecError(`${file}: not a bspml model: dims = ${model.dims} does not match its weights or centroids`, 'dims');
  }
  const seen = new Set<string>();
  for (const name of model.featureNames) {
    if (seen.has(name)) throw new SpecError(`${file}: not a bspml model: feature "${name}" is named twice in featureNames`, 'featureNames');
    seen.add(name);
  }
  if (model.algorithm !== 'kmeans' && seen.has(model.labelName)) {
    throw new SpecError(`${file}: not a bspml model: the label "${model.labelName}" is also a feature`, 'labelName');
  }
  if (model.algorithm === 'kmeans' && model.centroids.length !== model.k) {
    throw new SpecError(`${file}: not a bspml model: k = ${model.k} but ${model.centroids.length} centroids`, 'k');
  }
  return model;
}
