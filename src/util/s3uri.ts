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
 * Keys are opaque on S3 and may hold `#` and `?`: everything after the bucket is the key, but for
 * a trailing `?versionId=ID`.
 */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/?#]+)\/(.+?)(?:\?versionId=([^&#?/]+))?$/s.exec(uri);
  if (!match) throw new DataError(uri, 'not an s3://bucket/key URI');
  const [, bucket, key, versionId] = match;
  let version: string | undefined;
  try {
    version = versionId === undefined ? undefined : decodeURIComponent(versionId);
  } catch {
    throw new DataError(uri, `versionId "${versionId}" is not valid percent-encoding`);
  }
  return { bucket: bucket!, key: key!, ...(version ? { versionId: version } : {}) };
}

export function formatS3Uri(location: S3Location): string {
  const version = location.versionId ? `?versionId=${encodeURIComponent(location.versionId)}` : '';
  return `s3://${location.bucket}/${location.key}${version}`;
}
