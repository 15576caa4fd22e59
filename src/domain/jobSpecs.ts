import { z } from 'zod';
import { SpecError } from '../errors.js';
import { isPredictSpec, parsePredictSpec, predictSpecSchema, type PredictSpec } from './predictSpec.js';
import { jobSpecSchema, parseJobSpec, type JobSpec } from './spec.js';

/*
 * The specs a job can have, told apart by `kind`: absent or `train`, a training spec (src/domain/
 * spec.ts, itself told apart by `algorithm`); `predict`, a predict job's (src/domain/predictSpec.ts).
 * As the records that hold them (JobRecord in src/domain/job.ts: TrainJobRecord | PredictJobRecord).
 */

export const JOB_KINDS = ['train', 'predict'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Either spec, discriminated on `kind` (a training spec may leave it out). */
export const anyJobSpecSchema = z.discriminatedUnion('kind', [jobSpecSchema, predictSpecSchema]);
export type AnyJobSpec = JobSpec | PredictSpec;

/** The kind a spec asks for; SpecError naming `kind` when it names neither. */
export function jobKindOf(input: unknown): JobKind {
  const kind = input !== null && typeof input === 'object' ? (input as { kind?: unknown }).kind : undefined;
  if (kind === undefined || kind === 'train') return 'train';
  if (isPredictSpec(input)) return 'predict';
  throw new SpecError(`invalid job spec: kind: must be train (or left out) or predict, not ${JSON.stringify(kind)?.slice(0, 64)}`, 'kind');
}

/** Validates a spec of either kind, with that kind's checks; throws SpecError naming the first bad field. */
export function parseAnyJobSpec(input: unknown): AnyJobSpec {
  return jobKindOf(input) === 'predict' ? parsePredictSpec(input) : parseJobSpec(input);
}
