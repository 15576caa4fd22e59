import { PutObjectCommand, type PutObjectCommandOutput } from '@aws-sdk/client-s3';
import type { TrainJobRecord } from '../domain/job.js';
import { parseS3Uri } from '../util/s3uri.js';

export interface S3PutLike {
  send(command: PutObjectCommand): Promise<Pick<PutObjectCommandOutput, 'ETag'>>;
}

/**
 * The model's name: its data set's key without the data prefix and extension, so an upload of
 * `datasets/churn.csv` trains `models/churn/…`, and `datasets/churn/` (in parts) too. Data outside the
 * prefix is named by its file name.
 */
export function modelName(dataUri: string, dataPrefix = 'datasets/'): string {
  // A data set in parts is its folder (`datasets/NAME/`): named without the trailing slash.
  const key = parseS3Uri(dataUri).key.replace(/\/+$/, '');
  const relative = key.startsWith(dataPrefix) ? key.slice(dataPrefix.length) : (key.split('/').pop() ?? key);
  return relative.replace(/\.[^./]*$/, '') || 'model';
}

/** The model file as `bspml train --out` writes it, so `bspml predict` reads either. */
export function modelDocument(job: TrainJobRecord): string {
  if (job.status !== 'SUCCEEDED' || !job.result) throw new Error(`job ${job.jobId} is ${job.status}: it has no model`);
  return `${JSON.stringify({ ...job.result, jobId: job.jobId, data: job.spec.data.uri }, null, 2)}\n`;
}

/**
 * Writes a finished job's model to `PREFIX/NAME/JOBID.json`, then `PREFIX/NAME/latest.json`. The
 * job's own object goes first, so `latest.json` never names a model that cannot be found. Both
 * writes are safe to repeat (a redelivered completion of the last round writes the same bytes).
 */
export async function publishModel(s3: S3PutLike, bucket: string, job: TrainJobRecord, options: { dataPrefix?: string; modelPrefix?: string } = {}): Promise<{ key: string; latest: string }> {
  const body = modelDocument(job);
  const base = `${options.modelPrefix ?? 'models/'}${modelName(job.spec.data.uri, options.dataPrefix)}`;
  const key = `${base}/${job.jobId}.json`;
  const latest = `${base}/latest.json`;
  for (const Key of [key, latest]) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body, ContentType: 'application/json' }));
  }
  return { key, latest };
}
