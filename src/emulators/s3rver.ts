import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { processAlive } from '../util/files.js';
import { onInterrupt } from '../util/interrupt.js';

export interface LocalS3 {
  endpoint: string;
  /** The s3rver instance, for its in-process `event` notifications (ObjectCreated). */
  server: S3rver;
  close(): Promise<void>;
}

/**
 * Starts s3rver in this process on a free loopback port, storing objects in a fresh temporary
 * directory that close() removes. `buckets` are created up front.
 */
export async function startS3rver(buckets: string[] = []): Promise<LocalS3> {
  // Named with our pid: a run killed outright leaves its directory, which the next run removes.
  await removeDeadDirectories();
  const directory = await mkdtemp(join(tmpdir(), `bspml-s3rver-${process.pid}-`));
  // From now until close: an interrupt before the command registers its own cleanup (while the
  // store is still opening, in the preparation round) must not leave the directory behind.
  const forget = onInterrupt(`the s3rver directory ${directory}`, () => rm(directory, { recursive: true, force: true }));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  confineKeys(server);
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    server,
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
      forget();
    },
  };
}

/** s3rver directories of processes that are gone (issue 20 defect 13). */
async function removeDeadDirectories(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const pid = /^bspml-s3rver-(\d+)-/.exec(name)?.[1];
      if (pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid))) await rm(join(tmpdir(), name), { recursive: true, force: true });
    }),
  );
}

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;
interface KoaContext {
  path: string;
  query: Record<string, string | string[] | undefined>;
}

/**
 * s3rver 3.7.1 keeps each object in a file named after its key, joined to its directory with
 * path.join: a key such as `../../x` (valid on S3, where keys are opaque) would be written outside
 * the directory, and `a/./b` would alias `a/b`. Such keys (and list prefixes) are refused with
 * 400 InvalidArgument, as no test or local run needs them.
 */
function confineKeys(server: S3rver): void {
  const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error.js') as S3ErrorClass;
  const app = server as unknown as { middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[] };
  app.middleware.unshift(async (ctx, next) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(ctx.path);
    } catch {
      throw new S3Error('InvalidURI', 'Couldn\'t parse the specified URI.', { URI: ctx.path });
    }
    const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
    for (const name of [decoded.split('/').slice(2).join('/'), prefix]) {
      if (name.split('/').some((segment) => segment === '..' || segment === '.')) {
        throw new S3Error('InvalidArgument', `the in-process s3rver refuses keys with "." or ".." segments: ${name}`, { ArgumentName: 'key', ArgumentValue: name });
      }
    }
    await next();
  });
}
