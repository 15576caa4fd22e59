import type { S3Client } from '@aws-sdk/client-s3';
import { DataError, SourceError } from '../../errors.js';
import { endpointOf, isNetworkError } from '../../util/clients.js';
import { parseS3Uri, formatS3Uri } from '../../util/s3uri.js';
import { dataParts, type ByteSource, type PartEntry } from '../byteSource.js';

// The S3 client's package loads when this module first sends a command (~0.1 s of CPU), not when
// the CLI starts: a command that never touches S3 (gen, train on a local file) does not pay for it.
const s3Commands = () => import('@aws-sdk/client-s3');

export type S3Sender = Pick<S3Client, 'send'>;

/** One GET as this source made it: for logs and for tests that count what a step read. */
export interface S3Read {
  uri: string;
  start: number;
  end: number;
  bytes: number;
}

/**
 * S3 objects: `s3://bucket/key` is one part; `s3://bucket/prefix/` (a trailing slash) is every
 * object under the prefix, in key order. Every read is a ranged GET of exactly the bytes asked for.
 */
/** How a range larger than one request is fetched. */
export interface S3ReadOptions {
  /** Bytes per ranged GET of a long range (default 8 MiB: AWS's advice for byte-range fetches). */
  requestBytes?: number;
  /** GETs of one range in flight at once (default 4). */
  parallel?: number;
}

export class S3Objects implements ByteSource {
  /** Every GET this source made, in order. */
  readonly reads: S3Read[] = [];
  private readonly requestBytes: number;
  private readonly parallel: number;

  constructor(
    private readonly s3: S3Sender,
    options: S3ReadOptions = {},
  ) {
    this.requestBytes = options.requestBytes ?? 8 << 20;
    this.parallel = options.parallel ?? 4;
  }

  async list(uri: string): Promise<PartEntry[]> {
    if (uri.endsWith('/')) return this.listPrefix(uri);
    const location = parseS3Uri(uri);
    const { HeadObjectCommand } = await s3Commands();
    const head = await this.call(uri, () =>
      this.s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key, ...(location.versionId ? { VersionId: location.versionId } : {}) })),
    );
    const versionId = location.versionId ?? head.VersionId;
    return [{ name: uri, uri: formatS3Uri({ bucket: location.bucket, key: location.key }), bytes: head.ContentLength ?? 0, ...(versionId ? { versionId } : {}) }];
  }

  private async listPrefix(uri: string): Promise<PartEntry[]> {
    const match = /^s3:\/\/([^/?#]+)\/(.*)$/.exec(uri);
    if (!match) throw new DataError(uri, 'not an s3://bucket/prefix/ URI');
    const [, bucket, prefix] = match as unknown as [string, string, string];
    const entries: (PartEntry & { relative: string })[] = [];
    const { ListObjectsV2Command } = await s3Commands();
    let token: string | undefined;
    do {
      const page = await this.call(uri, () =>
        this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) })),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key!;
        const partUri = formatS3Uri({ bucket, key });
        entries.push({ name: partUri, uri: partUri, relative: key.slice(prefix.length), bytes: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return dataParts(entries).map(({ name, uri: u, bytes }) => ({ name, uri: u, bytes }));
  }

  async read(part: PartEntry, start: number, end: number): Promise<Uint8Array> {
    const stop = Math.min(end, part.bytes);
    if (stop <= start) return new Uint8Array(0);
    const body = await this.get(part, start, stop);
    const bytes = await body.transformToByteArray();
    this.reads.push({ uri: part.uri, start, end: stop, bytes: bytes.byteLength });
    return bytes;
  }

  /**
   * A range of one request streams; a longer one is fetched as consecutive ranged GETs of
   * `requestBytes`, `parallel` at a time (one connection is slower than the parsers behind it),
   * yielded in order. The requests cover the range exactly, so no byte is read twice; those still
   * in flight when the reader stops early are aborted.
   */
  async *stream(part: PartEntry, start: number, end: number): AsyncIterable<Uint8Array> {
    const stop = Math.min(end, part.bytes);
    if (stop <= start) return;
    if (stop - start <= this.requestBytes || this.parallel <= 1) {
      yield* this.streamOne(part, start, stop);
      return;
    }
    const pending: { controller: AbortController; bytes: Promise<Uint8Array> }[] = [];
    let next = start;
    const launch = () => {
      const from = next;
      const to = Math.min(stop, from + this.requestBytes);
      next = to;
      const controller = new AbortController();
      const bytes = this.get(part, from, to, controller.signal).then(async (body) => {
        const got = await body.transformToByteArray();
        this.reads.push({ uri: part.uri, start: from, end: to, bytes: got.byteLength });
        return got;
      });
      // Awaited in order below; a request aborted after an early stop must not go unhandled.
      bytes.catch(() => undefined);
      pending.push({ controller, bytes });
    };
    try {
      while (next < stop && pending.length < this.parallel) launch();
      while (pending.length > 0) {
        const bytes = await pending.shift()!.bytes;
        if (next < stop) launch();
        yield bytes;
      }
    } finally {
      for (const p of pending) p.controller.abort();
    }
  }

  private async *streamOne(part: PartEntry, start: number, stop: number): AsyncIterable<Uint8Array> {
    const body = await this.get(part, start, stop);
    const read: S3Read = { uri: part.uri, start, end: stop, bytes: 0 };
    this.reads.push(read);
    // In Node the body is a Readable: chunks as they arrive, never the whole range at once.
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      read.bytes += chunk.byteLength;
      yield chunk;
    }
  }

  private async get(part: PartEntry, start: number, end: number, abortSignal?: AbortSignal) {
    const location = parseS3Uri(part.uri);
    const { GetObjectCommand } = await s3Commands();
    const command = new GetObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      ...(part.versionId ? { VersionId: part.versionId } : {}),
      // An explicit first-last range: s3rver answers suffix ranges (bytes=-n) wrongly.
      Range: `bytes=${start}-${end - 1}`,
    });
    const out = await this.call(part.name, () => (abortSignal ? this.s3.send(command, { abortSignal }) : this.s3.send(command)));
    if (!out.Body) throw new DataError(part.name, `empty response for bytes ${start}-${end - 1}`);
    return out.Body;
  }

  /**
   * Objects that are missing or forbidden are data errors (the job fails naming the object);
   * anything else (throttling, network) is thrown as is, for the invocation to be retried.
   */
  private async call<T>(uri: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket') throw new DataError(uri, 'no such object', {}, { cause: error });
      if (name === 'AccessDenied' || name === 'Forbidden') throw new DataError(uri, 'access denied (is it outside the data prefix?)', {}, { cause: error });
      if (isNetworkError(error)) {
        const message = error instanceof Error ? error.message : String(error);
        throw new SourceError(`data source ${uri} at ${await endpointOf(this.s3)} did not answer: ${name}: ${message}`, { cause: error });
      }
      throw error;
    }
  }
}
