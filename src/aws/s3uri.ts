import { DataError } from '../errors.js';

export interface S3Location {
  bucket: string;
  key: string;
  /** Pins one version of the object: set by the start handler when the bucket is versioned. */
  versionId?: string;
}

/**
 * Parses `s3://bucket/key` (optionally `?versionId=...`). A job pins the version it started on,
 * so that an upload replacing the object mid-job cannot hand later rounds different rows.
 */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/?#]+)\/([^?#]+)(?:\?versionId=([^&#]+))?$/.exec(uri);
  if (!match) throw new DataError(uri, 'not an s3://bucket/key URI');
  const [, bucket, key, versionId] = match;
  return { bucket: bucket!, key: key!, ...(versionId ? { versionId: decodeURIComponent(versionId) } : {}) };
}

export function formatS3Uri(location: S3Location): string {
  const version = location.versionId ? `?versionId=${encodeURIComponent(location.versionId)}` : '';
  return `s3://${location.bucket}/${location.key}${version}`;
}
