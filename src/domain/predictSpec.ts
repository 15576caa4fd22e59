import { z } from 'zod';
import { SpecError } from '../errors.js';
import { MAX_WORKERS } from './spec.js';

/*
 * The spec of a `predict` job (issue 24): a model by name and version, a data set, and an S3 prefix
 * the predictions go under, one part per shard (`part-00000.csv`, … in shard order). What a stack's
 * predict job runs; the CLI's `bspml predict --data … --out s3://…/` runs the same shards in one
 * process (src/serve/batch.ts, src/serve/predictTask.ts).
 */

/** Model names as the stack keeps them (models/NAME/VERSION.json): no path out of models/. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}$/;
const MODEL_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const predictSpecSchema = z
  .object({
    kind: z.literal('predict'),
    model: z
      .object({
        name: z.string().regex(MODEL_NAME, 'not a model name (letters, digits, . _ - and /)').refine((n) => !n.split('/').some((p) => p === '.' || p === '..'), 'not a model name (no . or .. parts)'),
        /** A job id; absent: the model's latest version, resolved once when the job starts. */
        version: z.string().regex(MODEL_VERSION, 'not a model version (a job id such as iris-20261206T010000Z-0b9e8d, or latest)').optional(),
      })
      .strict(),
    data: z.object({ uri: z.string().min(1, 'must name a data set') }).strict(),
    /** Where the parts go: an S3 prefix, `s3://BUCKET/PREFIX/`. */
    out: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(.+\/)?$/, 'must be an S3 prefix ending in /, s3://BUCKET/PREFIX/'),
    /** Shards, one worker task and one output part each; absent: one per data part. */
    workers: z.number().int().min(1).max(MAX_WORKERS).optional(),
  })
  .strict();

export type PredictSpec = z.infer<typeof predictSpecSchema>;

/** Whether a spec asks for predictions rather than training (its `kind`); the rest is parsePredictSpec's to check. */
export function isPredictSpec(input: unknown): boolean {
  return input !== null && typeof input === 'object' && (input as { kind?: unknown }).kind === 'predict';
}

/** The fields each object of a predict spec takes, to name them when another is given. */
const FIELDS: Record<string, string> = { '': 'kind, model, data, out, workers', model: 'name, version', data: 'uri' };

/** Validates a predict spec; throws SpecError naming the first bad field. */
export function parsePredictSpec(input: unknown): PredictSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new SpecError('invalid predict spec: spec: must be a JSON object', 'spec');
  const result = predictSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    // Named by the field, not the object holding it: `modle` is the mistake, not the spec.
    const field = [at, issue.keys[0]].filter((p) => p).join('.');
    throw new SpecError(`invalid predict spec: ${field}: not a field of ${at === '' ? 'a predict spec' : at} (${FIELDS[at] ?? 'see docs/serving.md'})`, field, { cause: result.error });
  }
  const field = at || 'spec';
  // Zod's "expected object, received undefined" says less than that the field is missing.
  const message = issue.code === 'invalid_type' && /received undefined$/.test(issue.message) ? `is required (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})` : issue.message;
  throw new SpecError(`invalid predict spec: ${field}: ${message}`, field, { cause: result.error });
}
