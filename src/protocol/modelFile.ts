import { z } from 'zod';
import { SpecError } from '../errors.js';
import type { ModelResult } from './types.js';

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

const logregModel = z.object({
  algorithm: z.literal('logreg'),
  dims: z.number().int().min(1),
  featureNames: z.array(z.string()),
  labelName: z.string(),
  weights: z.array(finite),
  bias: finite,
  loss: z.number(),
  accuracy: z.number(),
  gradNorm: z.number(),
  rounds: z.number().int(),
  converged: z.boolean(),
});

const svmModel = logregModel.omit({ algorithm: true }).extend({ algorithm: z.literal('svm') });

const modelSchema = z.discriminatedUnion('algorithm', [kmeansModel, logregModel, svmModel]);

/** Validates a model file's JSON (as `--out` writes it); throws SpecError naming the bad field. */
export function parseModel(value: unknown, file: string): ModelResult {
  const parsed = modelSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'model';
    throw new SpecError(`${file}: not a bspml model: ${field}: ${issue.message}`, field, { cause: parsed.error });
  }
  const model = parsed.data;
  const widths = model.algorithm === 'kmeans' ? model.centroids.map((c) => c.length) : [model.weights.length];
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
