import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { JobExistsError, SpecError } from '../errors.js';
import type { StateStore } from '../ports/StateStore.js';
import { newJobId } from '../protocol/startJob.js';
import type { JobSpec } from '../domain/spec.js';
import { isPredictSpec, type PredictSpec } from '../domain/predictSpec.js';
import { newJobFields, type JobRecord } from '../domain/job.js';
import { formatS3Uri, type S3Location } from '../util/s3uri.js';

// The S3 client's package loads when this module first sends a command (~0.1 s of CPU), not when
// the CLI starts: a command that never touches S3 (gen, train on a local file) does not pay for it.
const s3Commands = () => import('@aws-sdk/client-s3');

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

/** An S3 event key is URL-encoded with '+' for spaces; a key that does not decode throws URIError. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** The data formats the CLI reads, by file name ending (matched in any case); longest first. */
export const DATA_EXTENSIONS = ['.csv.gz', '.parquet', '.csv', '.bin', '.f32'] as const;
/** The spec beside a data set: `datasets/NAME.job.json`. */
export const SPEC_SUFFIX = '.job.json';
/** Marks a data set in parts under `datasets/NAME/` as complete (as Spark and Hadoop write it). */
export const SUCCESS_MARKER = '_SUCCESS';

/**
 * What an upload under the data prefix is:
 * - `file`: a data file directly under the prefix (`datasets/NAME.csv`, any accepted format and case);
 * - `prefix`: the `_SUCCESS` marker of a data set in parts (`datasets/NAME/_SUCCESS`);
 * - `spec`: a `NAME.job.json`, which starts the data set in parts under `datasets/NAME/` if there is one;
 * - `ignored`: anything else (a part of a data set in parts, another file), with the reason.
 */
export type Upload =
  | { kind: 'file' | 'prefix' | 'spec'; name: string }
  | { kind: 'ignored'; reason: string };

export function classifyUpload(key: string, dataPrefix: string): Upload {
  if (!key.startsWith(dataPrefix)) return { kind: 'ignored', reason: `not under ${dataPrefix}` };
  const relative = key.slice(dataPrefix.length);
  const lower = relative.toLowerCase();
  if (relative.endsWith(`/${SUCCESS_MARKER}`)) {
    const name = relative.slice(0, -SUCCESS_MARKER.length - 1);
    return name ? { kind: 'prefix', name } : { kind: 'ignored', reason: 'a _SUCCESS marker without a data set folder' };
  }
  if (lower.endsWith(SPEC_SUFFIX)) {
    const name = relative.slice(0, -SPEC_SUFFIX.length);
    return name ? { kind: 'spec', name } : { kind: 'ignored', reason: 'a spec without a data set name' };
  }
  if (relative.includes('/')) {
    const folder = relative.slice(0, relative.lastIndexOf('/'));
    return { kind: 'ignored', reason: `part of the data set ${dataPrefix}${folder}/, which starts when ${dataPrefix}${folder}/${SUCCESS_MARKER} or ${dataPrefix}${folder}${SPEC_SUFFIX} is uploaded` };
  }
  const extension = DATA_EXTENSIONS.find((e) => lower.endsWith(e));
  if (!extension || relative.length === extension.length) {
    return { kind: 'ignored', reason: `not a data file (${DATA_EXTENSIONS.join(', ')}, in any case) nor a ${SPEC_SUFFIX}` };
  }
  return { kind: 'file', name: relative.slice(0, -extension.length) };
}

/** The data set's name: its key below the data prefix, without the format's extension or `/_SUCCESS`. */
export function datasetName(key: string, dataPrefix: string): string {
  const upload = classifyUpload(key, dataPrefix);
  if (upload.kind !== 'ignored') return upload.name;
  const relative = key.startsWith(dataPrefix) ? key.slice(dataPrefix.length) : key;
  return relative.replace(/\/+$/, '').replace(/\.[^./]*$/, '');
}

/** A data set name as it appears in job ids: safe for every place the id goes (DynamoDB keys, SQS group ids, S3 keys). */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, MAX_NAME_CHARS) || 'job';
}

/**
 * A job id for a data set: its safe name, then a sortable time stamp and random suffix.
 * `NAME-20261122T210713Z-a1b2c3`.
 */
export function jobIdFor(name: string, date = new Date(), seed?: string): string {
  const safe = safeName(name);
  const id = newJobId(date);
  // With a seed (an event's identity) the suffix is derived, not drawn: a redelivery gets the same id.
  return seed === undefined ? `${safe}-${id}` : `${safe}-${id.replace(/[0-9a-f]+$/, createHash('sha256').update(seed).digest('hex').slice(0, 6))}`;
}

/** Whether `jobId` is one that jobIdFor made for the data set `name` (what `bspml jobs --data NAME` lists). */
export function isJobOf(jobId: string, name: string): boolean {
  const rest = jobId.startsWith(`${safeName(name)}-`) ? jobId.slice(safeName(name).length + 1) : undefined;
  return rest !== undefined && /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(rest);
}

/**
 * The job an upload starts, or undefined when it starts none (a spec uploaded before its data set
 * in parts exists). A data file is its own data (pinned to the uploaded version when the bucket is
 * versioned); a data set in parts is its folder, `s3://BUCKET/datasets/NAME/`. The spec is
 * `datasets/NAME.job.json` when it exists, else `defaults`. A spec file that is not JSON throws
 * SpecError naming the file.
 */
export async function uploadStart(
  s3: Pick<S3Client, 'send'>,
  location: S3Location,
  upload: { kind: 'file' | 'prefix' | 'spec'; name: string },
  options: { dataPrefix: string; defaults?: unknown; date?: Date; seed?: string },
): Promise<UploadStart | undefined> {
  const { name } = upload;
  const folder = `${options.dataPrefix}${name}/`;
  if (upload.kind === 'spec' && !(await hasParts(s3, location.bucket, folder))) return undefined;
  const jobId = jobIdFor(name, options.date, options.seed);
  const specKey = `${options.dataPrefix}${name}${SPEC_SUFFIX}`;
  const specSource = `s3://${location.bucket}/${specKey}`;
  const dataUri = upload.kind === 'file' ? formatS3Uri(location) : formatS3Uri({ bucket: location.bucket, key: folder });
  let text: string | undefined;
  // Listed before it is read: the start role may list datasets/ only under an s3:prefix condition,
  // and whether S3 then answers a GET of a missing key with NoSuchKey or AccessDenied is not
  // something to rest a default spec on.
  if (await hasObject(s3, location.bucket, specKey)) {
    try {
      const { GetObjectCommand } = await s3Commands();
      const out = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: specKey }));
      text = out.Body ? await out.Body.transformToString('utf-8') : '';
    } catch (error) {
      if (!(error instanceof Error) || (error.name !== 'NoSuchKey' && error.name !== 'NotFound')) throw error;
    }
  }
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

/** Whether `key` exists, by a listing of exactly that prefix. */
async function hasObject(s3: Pick<S3Client, 'send'>, bucket: string, key: string): Promise<boolean> {
  const { ListObjectsV2Command } = await s3Commands();
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return (out.Contents ?? []).some((o) => o.Key === key);
}

/** Whether a data set in parts has any object under `folder` besides its _SUCCESS marker. */
async function hasParts(s3: Pick<S3Client, 'send'>, bucket: string, folder: string): Promise<boolean> {
  const { ListObjectsV2Command } = await s3Commands();
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder, MaxKeys: 2 }));
  return (out.Contents ?? []).some((o) => o.Key !== `${folder}${SUCCESS_MARKER}`);
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
  const fields = { ...newJobFields(jobId, now), status: 'FAILED' as const, round: 0, shards: 0, error: reason };
  // A predict spec refused is still a predict job to `bspml status`. Either spec is kept as given.
  const job: JobRecord = isPredictSpec(spec) ? { ...fields, kind: 'predict', spec: spec as PredictSpec } : { ...fields, spec: spec as JobSpec };
  try {
    await store.createJob(job);
    return true;
  } catch (error) {
    if (error instanceof JobExistsError) return false;
    throw error;
  }
}
