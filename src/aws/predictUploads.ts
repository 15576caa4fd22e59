import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SpecError } from '../errors.js';
import { jobIdFor, SPEC_SUFFIX, type UploadStart } from './uploads.js';

/*
 * Predict jobs started by an upload (docs/serving.md): a spec uploaded as
 * `predictions/NAME.job.json` starts a predict job named NAME, whose parts go under
 * `s3://BUCKET/predictions/NAME/JOBID/` unless the spec names another `out` under predictions/.
 * The bucket's notification passes only keys under the prefix ending in `.job.json`, so the parts
 * written below it start nothing.
 */

/** The predict job a key under the predictions prefix names, or why it names none. */
export function classifyPredictUpload(key: string, predictionsPrefix: string): { kind: 'predict'; name: string } | { kind: 'ignored'; reason: string } {
  if (!key.startsWith(predictionsPrefix)) return { kind: 'ignored', reason: `not under ${predictionsPrefix}` };
  const relative = key.slice(predictionsPrefix.length);
  if (!relative.toLowerCase().endsWith(SPEC_SUFFIX) || relative.length === SPEC_SUFFIX.length) {
    return { kind: 'ignored', reason: `not a predict spec (${predictionsPrefix}NAME${SPEC_SUFFIX})` };
  }
  return { kind: 'predict', name: relative.slice(0, -SPEC_SUFFIX.length) };
}

/**
 * The predict job an uploaded spec starts: the spec as uploaded, `kind: 'predict'` by its place and
 * its `out` by default `s3://BUCKET/predictions/NAME/`. A spec that is not JSON throws SpecError
 * naming the file; the rest is parsePredictSpec's to check.
 */
export async function predictUploadStart(
  s3: Pick<S3Client, 'send'>,
  location: { bucket: string; key: string },
  name: string,
  options: { predictionsPrefix: string; date?: Date; seed?: string },
): Promise<UploadStart> {
  const specSource = `s3://${location.bucket}/${location.key}`;
  const out = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  const text = out.Body ? await out.Body.transformToString('utf-8') : '';
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`${specSource}: not valid JSON: ${(error as Error).message}`, 'spec', { cause: error });
  }
  // A spec under the predictions prefix is a predict spec: one that says otherwise is refused, not trained on.
  const kind = spec !== null && typeof spec === 'object' ? (spec as { kind?: unknown }).kind : undefined;
  if (kind !== undefined && kind !== 'predict') {
    throw new SpecError(`${specSource}: invalid predict spec: kind: a spec under ${options.predictionsPrefix} is a predict spec (kind predict, or left out), not ${JSON.stringify(kind)?.slice(0, 64)}`, 'kind');
  }
  const defaults = { kind: 'predict', out: `s3://${location.bucket}/${options.predictionsPrefix}${name}/` };
  const withDefaults = spec !== null && typeof spec === 'object' && !Array.isArray(spec) ? { ...defaults, ...spec } : spec;
  return { jobId: jobIdFor(name, options.date, options.seed), name, spec: withDefaults, specSource };
}
