import type { S3Event } from 'aws-lambda';
import { BspmlError, JobExistsError } from '../src/errors.js';
import { failJob } from '../src/protocol/failJob.js';
import { startJob } from '../src/protocol/startJob.js';
import type { JobStatus } from '../src/protocol/types.js';
import { errorText, log } from '../src/aws/messages.js';
import { decodeS3Key, datasetName, jobIdFor, recordRejectedJob, uploadStart } from '../src/aws/uploads.js';
import { parseS3Uri, formatS3Uri, type S3Location } from '../src/aws/s3uri.js';
import { wiringFromEnv, type AwsWiring } from '../src/aws/wiring.js';

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

/**
 * Starts training on an upload under the data prefix (an S3 ObjectCreated event) or on a direct
 * invocation. Bad input ends the job FAILED with its reason and returns normally, so Lambda does
 * not retry what cannot succeed; only infrastructure errors are thrown, to be retried.
 */
export function createStartHandler(wiring: () => AwsWiring) {
  return async (event: S3Event | StartInvocation): Promise<StartResult[]> => {
    const w = wiring();
    if (!('Records' in event)) {
      const jobId = event.jobId ?? jobIdFor(nameOf(event.spec, w.config.dataPrefix));
      return [await start(w, jobId, event.spec, 'the invocation')];
    }
    const results: StartResult[] = [];
    for (const record of event.Records) {
      if (!record.eventName.startsWith('ObjectCreated')) continue;
      const location: S3Location = {
        bucket: record.s3.bucket.name,
        key: decodeS3Key(record.s3.object.key),
        ...(record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
      };
      // The id derives from the event, so Lambda's retry of this event finds the job it started.
      const seed = `${location.bucket}/${location.key}/${location.versionId ?? ''}/${record.s3.object.sequencer ?? ''}`;
      const date = new Date(record.eventTime);
      let request;
      try {
        request = await uploadStart(w.s3, location, { dataPrefix: w.config.dataPrefix, defaults: w.config.defaultSpec, date, seed });
      } catch (error) {
        if (!(error instanceof BspmlError)) throw error;
        const jobId = jobIdFor(datasetName(location.key, w.config.dataPrefix), date, seed);
        results.push(await rejected(w, jobId, { data: { uri: formatS3Uri(location) } }, error.message));
        continue;
      }
      results.push(await start(w, request.jobId, request.spec, request.specSource));
    }
    return results;
  };
}

async function start(w: AwsWiring, jobId: string, spec: unknown, specSource: string): Promise<StartResult> {
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

/** startJob records a FAILED job for bad data; a spec that does not parse fails before the job exists. */
async function rejected(w: AwsWiring, jobId: string, spec: unknown, reason: string): Promise<StartResult> {
  await recordRejectedJob(w.store, jobId, spec, reason);
  const job = await w.store.getJob(jobId);
  log('error', 'job-failed', { jobId, reason: job?.error ?? reason });
  return { jobId, status: 'FAILED', error: job?.error ?? reason };
}

/**
 * The event was delivered before. A job still STARTING is one whose first attempt died mid-start;
 * it is failed with a reason rather than left waiting for rounds that will never be published.
 */
async function duplicate(w: AwsWiring, jobId: string): Promise<StartResult> {
  let job = await w.store.getJob(jobId);
  if (job?.status === 'STARTING') {
    await failJob(w.store, jobId, 'the start was interrupted before round 0 was published; upload the data set again');
    job = await w.store.getJob(jobId);
  }
  log('warn', 'duplicate-start', { jobId, status: job?.status });
  return { jobId, status: job?.status ?? 'FAILED', ...(job?.error ? { error: job.error } : {}) };
}

/** The data set's name for the job id; a spec without a usable URI still gets an id, to record its failure under. */
function nameOf(spec: unknown, dataPrefix: string): string {
  const uri = (spec as { data?: { uri?: unknown } } | null)?.data?.uri;
  if (typeof uri !== 'string') return 'job';
  try {
    return datasetName(parseS3Uri(uri).key, dataPrefix);
  } catch {
    return 'job';
  }
}

export const handler = createStartHandler(wiringFromEnv);
