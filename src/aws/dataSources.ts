import { parseS3Uri } from '../util/s3uri.js';

/*
 * Where a deployed stack may read training data: its own bucket's datasets/ and the buckets (or
 * prefixes) given at deploy time with `--param dataBuckets=…` (serverless.yml grants the start and
 * worker roles read there and nowhere else). Both the start function (BSPML_DATA_SOURCES) and
 * `bspml submit` (the stack's DataSources output) refuse other data before any AWS call, with the
 * parameter to deploy with, instead of a job failing on AccessDenied mid-start.
 */

/** The comma-separated s3:// prefixes as the stack records them; empty entries dropped. */
export function parseDataSources(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('s3://'));
}

/** Whether `uri` (s3://bucket/key or a folder) lies under one of `sources`. */
export function isReadable(uri: string, sources: readonly string[]): boolean {
  const { bucket, key } = parseS3Uri(uri);
  return sources.some((source) => {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(source);
    return match !== null && match[1] === bucket && key.startsWith(match[2] ?? '');
  });
}

/** Why the stack cannot read `uri`, naming what it reads and the deploy parameter; undefined when it can. */
export function unreadableReason(uri: string, sources: readonly string[]): string | undefined {
  if (sources.length === 0 || isReadable(uri, sources)) return undefined;
  const { bucket } = parseS3Uri(uri);
  return `${uri}: this stack may read data only under ${sources.join(', ')}; deploy it with --param dataBuckets=${bucket} (or ${bucket}/PREFIX/, comma-separated with any others) to let it read there (docs/deploy.md)`;
}
