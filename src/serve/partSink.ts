import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri } from '../util/s3uri.js';
import { writeFileAtomic } from '../util/files.js';
import type { PartSink } from './batch.js';

// The S3 client's package loads when this module first sends a command (~0.1 s of CPU), not when
// the CLI starts: a command that never touches S3 (gen, train on a local file) does not pay for it.
const s3Commands = () => import('@aws-sdk/client-s3');

/** `part-00000.csv`, …: names that sort in shard order. */
export function partName(index: number): string {
  return `part-${String(index).padStart(5, '0')}.csv`;
}

/** Parts into a local directory (created), each written whole or not at all. */
export function directorySink(dir: string): PartSink {
  const write = async (index: number, body: Uint8Array | readonly Uint8Array[]) => {
    await mkdir(dir, { recursive: true });
    const file = join(dir, partName(index));
    await writeFileAtomic(file, body);
    return file;
  };
  return {
    write: (index, _count, body) => write(index, body),
    // A part's blocks written one after another: never joined into one buffer first.
    writeChunks: (index, _count, chunks) => write(index, chunks),
  };
}

/** Parts under an S3 prefix (`s3://bucket/preds/`): one PUT each, which S3 makes visible whole. */
export function s3Sink(client: Pick<S3Client, 'send'>, uri: string): PartSink {
  const { bucket, key } = parseS3Uri(uri.endsWith('/') ? `${uri}x` : `${uri}/x`);
  const prefix = key.slice(0, -1);
  return {
    async write(index, _count, body) {
      const Key = `${prefix}${partName(index)}`;
      const { PutObjectCommand } = await s3Commands();
      await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body, ContentType: 'text/csv' }));
      return `s3://${bucket}/${Key}`;
    },
  };
}
