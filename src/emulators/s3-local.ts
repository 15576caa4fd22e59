import { createRequire } from 'node:module';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type S3rver from 's3rver';
import { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../aws/s3.js';
import { startS3rver } from './s3rver.js';
import { awsClientTimeouts } from '../util/clients.js';
import { S3Store } from '../stores/S3Store.js';

export const DEFAULT_BUCKET = 'bspml-state';

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  body: unknown;
  get(header: string): string;
}
interface FilesystemStore {
  getMetadata(bucket: string, key: string): Promise<{ etag?: string; 'content-length'?: string }>;
  getResourcePath(bucket: string, key: string, resource: string): string;
}

/**
 * Makes an s3rver 3.7.1 instance behave as S3 does where the S3 store depends on it:
 *
 * - **Conditional writes.** s3rver ignores If-None-Match and If-Match on PutObject (it only reads
 *   them on GET). Here a PUT carrying either is checked against the stored object first and refused
 *   with 412 PreconditionFailed (or 404 NoSuchKey for If-Match on a missing key), as S3 does.
 * - **Atomic objects.** s3rver rewrites an object's file in place and answers the PUT before the
 *   file is flushed, so a GET can read a torn or short object. Here requests on one key take turns,
 *   a PUT holds its turn until the file has its full length, and a GET reads the whole body within
 *   its turn.
 *
 * Both live in a middleware put in front of s3rver's own. Koa composes its middleware when the
 * server starts listening, so on a running server the request handler is swapped for a fresh one.
 */
export function enforceConditionalWrites(server: S3rver): void {
  const require = createRequire(import.meta.url);
  const S3Error = require('s3rver/lib/models/error.js') as S3ErrorClass;
  const app = server as unknown as {
    middleware: Middleware[];
    store: FilesystemStore;
    httpServer?: Server;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    __bspmlConditional?: boolean;
  };
  if (app.__bspmlConditional) return;
  app.__bspmlConditional = true;
  const store = app.store;
  const turns = new Map<string, Promise<void>>();

  const middleware: Middleware = async (ctx, next) => {
    const target = objectTarget(ctx);
    if (!target) return next();
    const id = `${target.bucket}/${target.key}`;
    const previous = turns.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    turns.set(id, chained);
    await previous;
    try {
      if (ctx.method === 'PUT') {
        const noneMatch = ctx.get('if-none-match');
        const match = ctx.get('if-match');
        if (noneMatch || match) {
          const metadata = await store.getMetadata(target.bucket, target.key).catch(() => undefined);
          if (noneMatch === '*' && metadata) {
            throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
          }
          if (match && !metadata) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: target.key });
          if (match && metadata && unquote(metadata.etag) !== unquote(match)) {
            throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
          }
        }
        await next();
        await untilLength(store.getResourcePath(target.bucket, target.key, 'object'), Number(ctx.get('content-length')));
      } else {
        await next();
        if (isReadable(ctx.body)) ctx.body = await readAll(ctx.body);
      }
    } finally {
      release();
      if (turns.get(id) === chained) turns.delete(id);
    }
  };
  app.middleware.unshift(middleware);
  if (app.httpServer) {
    app.httpServer.removeAllListeners('request');
    app.httpServer.on('request', app.callback());
  }
}

/**
 * Opens the S3 state store. Without an endpoint it starts s3rver in this process (with
 * `enforceConditionalWrites`) and the store's close() stops it; with one it connects there and
 * first checks that the endpoint honours conditional writes, refusing one that does not.
 */
export async function openS3Store(opts: { endpoint?: string; bucket?: string; prefix?: string; region?: string } = {}): Promise<S3Store> {
  const bucket = opts.bucket ?? DEFAULT_BUCKET;
  const local = opts.endpoint === undefined ? await startS3rver([bucket]) : undefined;
  if (local) enforceConditionalWrites(local.server);
  const endpoint = local?.endpoint ?? opts.endpoint!;
  // A loopback endpoint is an emulator (path-style, dummy credentials, no streaming checksums);
  // any other, such as https://s3.eu-west-1.amazonaws.com, is S3 with the usual credential chain.
  const client = isLoopback(endpoint) ? createS3Client({ endpoint, region: opts.region }) : new S3Client({ ...awsClientTimeouts(), endpoint, region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1' });
  const store = new S3Store({ client, bucket, prefix: opts.prefix, ownsClient: true, onClose: local?.close });
  try {
    await store.verifyConditionalWrites();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function isLoopback(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/** Bucket and key of a request on one object (path-style), or undefined for bucket and sub-resource requests. */
function objectTarget(ctx: KoaContext): { bucket: string; key: string } | undefined {
  if (!['GET', 'HEAD', 'PUT', 'DELETE'].includes(ctx.method)) return undefined;
  if (/(^|&)(uploadId|partNumber|uploads|acl|tagging|cors|website)(=|&|$)/.test(ctx.querystring)) return undefined;
  const slash = ctx.path.indexOf('/', 1);
  if (slash < 0 || slash === ctx.path.length - 1) return undefined;
  try {
    return { bucket: decodeURIComponent(ctx.path.slice(1, slash)), key: decodeURIComponent(ctx.path.slice(slash + 1)) };
  } catch {
    return undefined;
  }
}

async function untilLength(path: string, length: number): Promise<void> {
  if (!Number.isFinite(length)) return;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size === length) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function isReadable(body: unknown): body is Readable {
  return body !== null && typeof body === 'object' && typeof (body as Readable).pipe === 'function';
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^(W\/)?"|"$/g, '');
}
