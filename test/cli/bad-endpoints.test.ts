import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { findRedisServer, startRedisServer } from '../../src/emulators/redis-server.js';
import { runBspml } from '../helpers/cli.js';

/*
 * Issue 12 defects 14 (a Redis restarted empty mid-job) and 17 (option values that are not URLs):
 * one line naming the problem, exit 1, no stack trace.
 */

describe('defect 17: store options that are not URLs', () => {
  it.each([
    ['--redis-url', 'notaurl', 'redis', /^error: option '--redis-url <url>' argument 'notaurl' is invalid\. must be a URL starting redis:\/\/ or rediss:\/\/host\.\n/],
    ['--endpoint', 'notaurl', 'dynamodb', /^error: option '--endpoint <url>' argument 'notaurl' is invalid\. must be a URL starting http:\/\/ or https:\/\/host\.\n/],
    ['--endpoint', 'ftp://example.com', 's3', /^error: option '--endpoint <url>' argument 'ftp:\/\/example\.com' is invalid\. must be a URL starting http:\/\/ or https:\/\/host, not ftp:\/\/\.\n/],
    ['--redis-url', 'http://localhost:6379', 'redis', /must be a URL starting redis:\/\/ or rediss:\/\/host, not http:\/\/\./],
  ])('%s %s: exit 1, one line naming the option', async (option, value, backend, message) => {
    // Act
    const result = await runBspml(['train', 'kmeans', '--data', 'data/blobs.csv', '--k', '2', '--backend', backend, option, value, '--no-progress']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('the deployed-stack commands check --endpoint too', async () => {
    const result = await runBspml(['status', 'some-job', '--endpoint', 'notaurl']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: option '--endpoint <url>' argument 'notaurl' is invalid/);
  });
});

describe.skipIf(findRedisServer() === undefined)('defect 14: Redis restarted empty mid-job', () => {
  it('exit 1 with one line saying the job left the store, no stack trace', async () => {
    // Prepare: a job of many rounds (separable data runs to --max-rounds), and a watcher that
    // empties Redis once the job's first round is recorded.
    const server = await startRedisServer();
    const watcher = new Redis(server.url);
    let flushed = false;
    const watching = (async () => {
      for (let i = 0; i < 4000 && !flushed; i++) {
        const [key] = await watcher.keys('bspml:*:rounds');
        if (key && (await watcher.hlen(key)) >= 1) {
          await watcher.flushall();
          flushed = true;
        } else await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    try {
      // Act
      const result = await runBspml([
        'train', 'logreg', '--data', 'data/classification.csv', '--workers', '2', '--threads', '1',
        '--max-rounds', '400', '--tol', '0', '--backend', 'redis', '--redis-url', server.url, '--no-progress',
      ]);
      await watching;

      // Assess
      expect(flushed).toBe(true);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^bspml: error: job \S+ is no longer in the redis state store: was it restarted, flushed or cleared while the job ran\?\n$/);
    } finally {
      flushed = true;
      await watcher.quit();
      await server.close();
    }
  });
});

describe('issue 20 defect 10: an S3 data source that refuses or does not answer', () => {
  it.each(['refused', 'silent'] as const)('%s --s3-endpoint: exit 1, one line naming the object and the endpoint', async (kind) => {
    // Prepare: a port nobody listens on, or a server that accepts and never answers.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    if (kind === 'refused') await new Promise<void>((resolve) => silent.close(() => resolve()));
    const saved = process.env.BSPML_REQUEST_TIMEOUT_MS;
    process.env.BSPML_REQUEST_TIMEOUT_MS = '300';
    try {
      // Act
      const result = await runBspml(['train', 'kmeans', '--k', '2', '--data', 's3://b/d.csv', '--s3-endpoint', `http://127.0.0.1:${port}`, '--no-progress']);

      // Assess
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^bspml: error: data source s3://b/d\\.csv at http://127\\.0\\.0\\.1:${port} did not answer: \\w+: [^\\n]*\\n$`));
    } finally {
      if (saved === undefined) delete process.env.BSPML_REQUEST_TIMEOUT_MS;
      else process.env.BSPML_REQUEST_TIMEOUT_MS = saved;
      for (const socket of sockets) socket.destroy();
      if (kind === 'silent') await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
