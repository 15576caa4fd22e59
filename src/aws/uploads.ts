import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { JobExistsError, SpecError } from '../errors.js';
import type { StateStore } from '../ports/StateStore.js';
import { newJobId } from '../protocol/startJob.js';
import type { JobSpec } from '../protocol/spec.js';
import type { JobRecord } from '../protocol/types.js';
import type { S3Like } from './S3DatasetSource.js';
import { formatS3Uri, type S3Location } from './s3uri.js';

/** SQS limits message group and deduplication ids to 128 characters; the rest of a job id is 23. */
const MAX_NAME_CHARS = 64;

/** What an upload starts: a job id derived from the data set's name, and the spec to validate. */
export interface UploadStart {
  jobId: string;
  name: string;
  spec: unknown;
  /** Where the spec came from, for logs and failure reasons. */
  specSource: string;
}

/** An S3 event key is URL-encoded with '+' for spaces. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** The data set's name: its key below the data prefix, without the extension. */
export function datasetName(key: string, dataPrefix: string): string {
  const relative = key.startsWith(dataPrefix) ? key.slice(dataPrefix.length) : key;
  return relative.replace(/\.[^./]*$/, '');
}

/**
 * A job id for a data set: its name made safe for every place the id goes (DynamoDB keys, SQS
 * group ids, S3 keys), then a sortable time stamp and random suffix. `NAME-20261122T210713Z-a1b2c3`.
 */
export function jobIdFor(name: string, date = new Date(), seed?: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, MAX_NAME_CHARS) || 'job';
  const id = newJobId(date);
  // With a seed (an event's identity) the suffix is derived, not drawn: a redelivery gets the same id.
  return seed === undefined ? `${safe}-${id}` : `${safe}-${id.replace(/[0-9a-f]+$/, createHash('sha256').update(seed).digest('hex').slice(0, 6))}`;
}

/**
 * The job an upload of `location` starts. The spec is `NAME.job.json` beside the data when it
 * exists, else `defaults`; either way its data URI is the uploaded object (pinned to its version
 * when the bucket is versioned). A spec file that is not JSON throws SpecError naming the file.
 */
export async function uploadStart(s3: S3Like, location: S3Location, options: { dataPrefix: string; defaults?: unknown; date?: Date; seed?: string }): Promise<UploadStart> {
  const name = datasetName(location.key, options.dataPrefix);
  const jobId = jobIdFor(name, options.date, options.seed);
  const specKey = `${location.key.replace(/\.[^./]*$/, '')}.job.json`;
  const specSource = `s3://${location.bucket}/${specKey}`;
  let text: string | undefined;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: specKey }));
    text = out.Body ? await out.Body.transformToString('utf-8') : '';
  } catch (error) {
    if (!(error instanceof Error) || (error.name !== 'NoSuchKey' && error.name !== 'NotFound')) throw error;
  }
  const dataUri = formatS3Uri(location);
  if (text === undefined) {
    if (options.defaults === undefined) throw new SpecError(`no ${specSource} and no default spec configured (BSPML_DEFAULT_SPEC)`, 'spec');
    return { jobId, name, spec: withData(options.defaults, dataUri), specSource: 'the default spec (BSPML_DEFAULT_SPEC)' };
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`${specSource}: not valid JSON: ${(error as Error).message}`, 'spec', { cause: error });
  }
  return { jobId, name, spec: withData(spec, dataUri), specSource };
}

/** The spec with its data URI set to the upload; anything that is not an object is left for zod to name. */
function withData(spec: unknown, uri: string): unknown {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return spec;
  const given = (spec as { data?: unknown }).data;
  const data = given !== null && typeof given === 'object' && !Array.isArray(given) ? given : {};
  return { ...spec, data: { ...data, uri } };
}

/**
 * Records a job that was refused before it could exist: startJob validates the spec before it
 * creates the job record, so without this a bad spec would leave nothing to look up. The record
 * holds the spec as it was given (it did not parse, so it is not a JobSpec; readers of FAILED
 * jobs must not rely on its fields). Returns false when the id was already taken.
 */
export async function recordRejectedJob(store: StateStore, jobId: string, spec: unknown, reason: string, now = Date.now()): Promise<boolean> {
  const job: JobRecord = {
    jobId,
    spec: spec as JobSpec,
    status: 'FAILED',
    round: 0,
    shards: 0,
    fanoutRound: -1,
    recoveries: 0,
    roundStartedAt: now,
    createdAt: now,
    updatedAt: now,
    error: reason,
  };
  try {
    await store.createJob(job);
    return true;
  } catch (error) {
    if (error instanceof JobExistsError) return false;
    throw error;
  }
}
