import { BspmlError, JobExistsError, SpecError } from '../src/errors.js';
import { failJob } from '../src/protocol/failJob.js';
import { startJob } from '../src/protocol/startJob.js';
import type { JobStatus } from '../src/domain/job.js';
import { errorText, log } from '../src/aws/messages.js';
import { issueText, nestingDepth, recordsEventSchema, s3RecordSchema, startInvocationSchema, type S3Record } from '../src/aws/events.js';
import { classifyUpload, decodeS3Key, datasetName, jobIdFor, recordRejectedJob, uploadStart } from '../src/aws/uploads.js';
import { parseS3Uri, formatS3Uri, type S3Location } from '../src/util/s3uri.js';
import { unreadableReason } from '../src/aws/dataSources.js';
import { countFailedJob, instrument } from '../src/aws/telemetry.js';
import { wiringFromEnv, type AwsWiring } from '../src/aws/wiring.js';
import { classifyPredictUpload, predictUploadStart } from '../src/aws/predictUploads.js';
import { isPredictSpec, parsePredictSpec, type PredictSpec } from '../src/domain/predictSpec.js';
import { jobKindOf, type JobKind } from '../src/domain/jobSpecs.js';
import { startPredict } from '../src/serve/predictJob.js';
import { predictJobDeps } from '../src/serve/predictWiring.js';

/** A direct invocation (`bspml submit`): a job spec, and optionally the job id to use. */
export interface StartInvocation {
  spec: unknown;
  jobId?: string;
}

export interface StartResult {
  jobId: string;
  status: JobStatus;
  error?: string;
}

/** No job spec nests deeper than this; a deeper one is refused before anything walks it recursively. */
export const MAX_SPEC_DEPTH = 32;

/**
 * Starts training on an upload under the data prefix (an S3 ObjectCreated event; see
 * classifyUpload for which uploads start a job), a predict job on a spec uploaded under the
 * predictions prefix (src/aws/predictUploads.ts), or either on a direct invocation. Bad input ends the job
 * FAILED with its reason and returns normally, so Lambda does not retry what cannot succeed; a
 * malformed event is logged and dropped; only infrastructure errors are thrown, to be retried.
 */
export function createStartHandler(wiring: () => AwsWiring) {
  return async (event: unknown): Promise<StartResult[]> => {
    const w = wiring();
    const records = recordsEventSchema.safeParse(event);
    if (!records.success) return invocation(w, event);
    const results: StartResult[] = [];
    for (const raw of records.data.Records) {
      const parsed = s3RecordSchema.safeParse(raw);
      if (!parsed.success) {
        log('error', 'malformed-event', { source: 's3', error: issueText(parsed.error) });
        continue;
      }
      const record = parsed.data;
      if (!record.eventName.startsWith('ObjectCreated')) continue;
      let key: string;
      try {
        key = decodeS3Key(record.s3.object.key);
      } catch (error) {
        log('error', 'malformed-event', { source: 's3', key: record.s3.object.key, error: `s3.object.key: ${errorText(error)}` });
        continue;
      }
      if (key.startsWith(w.config.predictionsPrefix)) {
        const result = await predictUpload(w, record, key);
        if (result) results.push(result);
        continue;
      }
      const upload = classifyUpload(key, w.config.dataPrefix);
      if (upload.kind === 'ignored') {
        log('info', 'upload-ignored', { key, reason: upload.reason });
        continue;
      }
      const location: S3Location = {
        bucket: record.s3.bucket.name,
        key,
        // A data file is pinned to the uploaded version; a data set in parts is read as a folder.
        ...(upload.kind === 'file' && record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
      };
      // The id derives from the event, so Lambda's retry of this event finds the job it started.
      const seed = `${location.bucket}/${location.key}/${record.s3.object.versionId ?? ''}/${record.s3.object.sequencer ?? ''}`;
      const date = new Date(record.eventTime);
      let request;
      try {
        request = await uploadStart(w.s3, location, upload, { dataPrefix: w.config.dataPrefix, defaults: w.config.defaultSpec, date, seed });
      } catch (error) {
        if (!(error instanceof BspmlError)) throw error;
        const jobId = jobIdFor(upload.name, date, seed);
        results.push(await rejected(w, jobId, { data: { uri: formatS3Uri(location) } }, error.message));
        continue;
      }
      if (!request) {
        log('info', 'upload-ignored', { key, reason: `no data set in parts under ${w.config.dataPrefix}${upload.name}/ yet: it starts when its _SUCCESS is uploaded` });
        continue;
      }
      results.push(await start(w, request.jobId, request.spec, request.specSource));
    }
    return results;
  };
}

/** A predict spec uploaded under the predictions prefix: the predict job it names, started. */
async function predictUpload(w: AwsWiring, record: S3Record, key: string): Promise<StartResult | undefined> {
  const upload = classifyPredictUpload(key, w.config.predictionsPrefix);
  if (upload.kind === 'ignored') {
    log('info', 'upload-ignored', { key, reason: upload.reason });
    return undefined;
  }
  const location = { bucket: record.s3.bucket.name, key };
  const seed = `${location.bucket}/${key}/${record.s3.object.versionId ?? ''}/${record.s3.object.sequencer ?? ''}`;
  const date = new Date(record.eventTime);
  let request;
  try {
    request = await predictUploadStart(w.s3, location, upload.name, { predictionsPrefix: w.config.predictionsPrefix, date, seed });
  } catch (error) {
    if (!(error instanceof BspmlError)) throw error;
    return rejected(w, jobIdFor(upload.name, date, seed), { kind: 'predict' }, error.message);
  }
  return start(w, request.jobId, request.spec, request.specSource);
}

async function invocation(w: AwsWiring, event: unknown): Promise<StartResult[]> {
  const parsed = startInvocationSchema.safeParse(event);
  if (!parsed.success) {
    log('error', 'malformed-event', { source: 'invocation', error: issueText(parsed.error) });
    return [];
  }
  const { spec, jobId } = parsed.data;
  return [await start(w, jobId ?? jobIdFor(nameOf(spec, w.config.dataPrefix)), spec, 'the invocation')];
}

async function start(w: AwsWiring, jobId: string, spec: unknown, specSource: string): Promise<StartResult> {
  if (nestingDepth(spec, MAX_SPEC_DEPTH) > MAX_SPEC_DEPTH) {
    return rejected(w, jobId, { data: { uri: uriOf(spec) } }, `invalid job spec: nested more than ${MAX_SPEC_DEPTH} levels deep (${specSource})`);
  }
  // Data outside what the stack's roles may read fails here, with the parameter that grants it, not on AccessDenied.
  const uri = uriOf(spec);
  const unreadable = uri?.startsWith('s3://') ? safely(() => unreadableReason(uri, w.config.dataSources)) : undefined;
  if (unreadable) return rejected(w, jobId, spec, unreadable);
  let kind: JobKind;
  try {
    kind = jobKindOf(spec);
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    return rejected(w, jobId, spec, error.message);
  }
  if (kind === 'predict') return startPredictFrom(w, jobId, spec, specSource);
  try {
    const job = await startJob(w.deps, { jobId, spec });
    log('info', 'job-started', { jobId, specSource, shards: job.shards, parts: job.layout?.parts.length, algorithm: job.spec.algorithm });
    return { jobId, status: job.status };
  } catch (error) {
    if (error instanceof JobExistsError) return duplicate(w, jobId);
    if (!(error instanceof BspmlError)) throw error;
    return rejected(w, jobId, spec, error.message);
  }
}

/** A predict job (docs/serving.md): the model resolved once, the data described, its one round published. */
async function startPredictFrom(w: AwsWiring, jobId: string, given: unknown, specSource: string): Promise<StartResult> {
  let spec: PredictSpec;
  try {
    spec = parsePredictSpec(given);
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    // An uploaded spec is named: the line says which file to fix.
    return rejected(w, jobId, given, specSource.startsWith('s3://') ? `${specSource}: ${error.message}` : error.message);
  }
  try {
    const job = await startPredict(predictJobDeps(w, { fresh: true }), { jobId, spec });
    log('info', 'job-started', { jobId, specSource, kind: 'predict', shards: job.shards, parts: job.layout?.parts.length, model: job.predict?.model });
    return { jobId, status: job.status };
  } catch (error) {
    if (error instanceof JobExistsError) return duplicate(w, jobId);
    if (!(error instanceof BspmlError)) throw error;
    return rejected(w, jobId, given, error.message);
  }
}

/** startJob records a FAILED job for bad data; a spec that does not parse fails before the job exists. */
async function rejected(w: AwsWiring, jobId: string, spec: unknown, reason: string): Promise<StartResult> {
  await recordRejectedJob(w.store, jobId, spec, reason);
  const job = await w.store.getJob(jobId);
  countFailedJob();
  log('error', 'job-failed', { jobId, reason: job?.error ?? reason });
  return { jobId, status: 'FAILED', error: job?.error ?? reason };
}

/**
 * The event was delivered before. A job still STARTING may be the first delivery's start, still
 * running (S3 can deliver an event twice at once): it is left alone. Only one STARTING for longer
 * than the start function may run is one whose first attempt died mid-start; it is failed with a
 * reason rather than left waiting for rounds that will never be published.
 */
async function duplicate(w: AwsWiring, jobId: string): Promise<StartResult> {
  let job = await w.store.getJob(jobId);
  if (job?.status === 'STARTING' && Date.now() - job.updatedAt > w.config.startTimeoutMs) {
    if (await failJob(w.store, jobId, 'the start was interrupted before round 0 was published; upload the data set again')) countFailedJob();
    job = await w.store.getJob(jobId);
  }
  log('warn', 'duplicate-start', { jobId, status: job?.status });
  return { jobId, status: job?.status ?? 'FAILED', ...(job?.error ? { error: job.error } : {}) };
}

/** `read()`, or undefined when it throws (a malformed URI is startJob's to name). */
function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The spec's data URI, when it has a string one (read without walking the rest of the spec). */
function uriOf(spec: unknown): string | undefined {
  const data = spec !== null && typeof spec === 'object' ? (spec as { data?: unknown }).data : undefined;
  const uri = data !== null && typeof data === 'object' ? (data as { uri?: unknown }).uri : undefined;
  return typeof uri === 'string' ? uri : undefined;
}

/** The data set's name for the job id; a spec without a usable URI still gets an id, to record its failure under. */
function nameOf(spec: unknown, dataPrefix: string): string {
  // A predict job is named after its model.
  const model = isPredictSpec(spec) ? (spec as { model?: { name?: unknown } }).model?.name : undefined;
  if (typeof model === 'string') return `${model}-predict`;
  const uri = uriOf(spec);
  if (uri === undefined) return 'job';
  try {
    return datasetName(parseS3Uri(uri).key, dataPrefix);
  } catch {
    return 'job';
  }
}

export const handler = instrument(createStartHandler(wiringFromEnv));
