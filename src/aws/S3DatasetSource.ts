import type { GetObjectCommand, GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { PartsDatasetSource } from '../data/sources/PartsDatasetSource.js';
import { S3Objects, type S3Read, type S3ReadOptions, type S3Sender } from '../data/sources/s3.js';

/** What code that only GETs objects (uploads.ts) needs of an S3 client. */
export interface S3Like {
  send(command: GetObjectCommand): Promise<Pick<GetObjectCommandOutput, 'Body' | 'ContentRange'>>;
}

/** Bytes and requests this source fetched, for a worker's log line. */
export interface S3ReadCounts {
  requests: number;
  bytes: number;
}

/**
 * Data sets in S3: `s3://bucket/key`, or every object under `s3://bucket/prefix/`. Every read is
 * a ranged GET of what a step needs (heads and footers for describe, a shard's pieces for a worker).
 */
export class S3DatasetSource extends PartsDatasetSource {
  private readonly objects: S3Objects;

  constructor(s3: S3Sender, options: S3ReadOptions = {}) {
    const objects = new S3Objects(s3, options);
    super(objects);
    this.objects = objects;
  }

  /** Every GET so far. */
  get log(): readonly S3Read[] {
    return this.objects.reads;
  }

  get reads(): S3ReadCounts {
    return { requests: this.objects.reads.length, bytes: this.objects.reads.reduce((s, r) => s + r.bytes, 0) };
  }
}
