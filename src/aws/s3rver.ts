import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

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
  const directory = await mkdtemp(join(tmpdir(), 'bspml-s3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    server,
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
