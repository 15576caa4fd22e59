import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { RedisStore } from '../../src/stores/RedisStore.js';
import { openRedisStore } from '../../src/emulators/redis.js';
import { findRedisServer, startRedisServer, type LocalRedis } from '../../src/emulators/redis-server.js';
import { metered } from '../../src/util/io-meter.js';
import { makeJob, makeMetrics, pattern, stateStoreContract, uniqueJobId } from './contract.js';

const hasRedis = findRedisServer() !== undefined;
if (!hasRedis) {
  console.warn('SKIPPED: the Redis store tests need redis-server on PATH (apt-get install -y redis-server); .ci/run installs it');
}

describe.skipIf(!hasRedis)('RedisStore on a real redis-server', () => {
  let server: LocalRedis;
  const clients: Redis[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    await server?.close();
  });

  function client(): Redis {
    const c = new Redis(server.url, { maxRetriesPerRequest: 1 });
    clients.push(c);
    return c;
  }

  function openStore(options: { ttlSeconds?: number } = {}): RedisStore {
    return new RedisStore({ client: new Redis(server.url), ownsClient: true, ttlSeconds: options.ttlSeconds });
  }

  stateStoreContract('redis', async () => openStore());

  it("scopes every key by the job's hash tag and gives each an expiry of at most ttlSeconds", async () => {
    // Prepare
    const jobId = uniqueJobId();
    const store = openStore({ ttlSeconds: 3600 });
    const inspect = client();
    try {
      // Act
      await store.createJob(makeJob(jobId));
      await store.updateJob(jobId, { round: 0, status: 'RUNNING' }, { fanoutRound: 0 });
      await store.putModel(jobId, 0, pattern(100, 1));
      await store.putPartial(jobId, 0, 0, pattern(600 * 1024, 2));
      await store.arrive(jobId, 0, 0, 1);
      await store.putRoundMetrics(jobId, makeMetrics(0));
      const keys = (await inspect.keys(`bspml:{${jobId}}:*`)).sort();
      const ttls = await Promise.all(keys.map((k) => inspect.ttl(k)));

      // Assess
      expect(keys).toEqual([`bspml:{${jobId}}:barrier:0`, `bspml:{${jobId}}:barrier:0:g:0`, `bspml:{${jobId}}:job`, `bspml:{${jobId}}:model:0`, `bspml:{${jobId}}:part:0:0`, `bspml:{${jobId}}:rounds`]);
      for (const [i, ttl] of ttls.entries()) {
        expect(ttl, keys[i]).toBeGreaterThan(3500);
        expect(ttl, keys[i]).toBeLessThanOrEqual(3600);
      }
    } finally {
      await store.close();
    }
  });

  it('arrives in one round trip: a single EVALSHA on the server per arrival', async () => {
    // Prepare
    const jobId = uniqueJobId();
    const store = openStore();
    const inspect = client();
    try {
      await store.arrive(jobId, 0, 0, 3); // loads the script into the server's cache
      await inspect.config('RESETSTAT');

      // Act
      const { value, io } = await metered(() => Promise.all([store.arrive(jobId, 0, 1, 3), store.arrive(jobId, 0, 1, 3), store.arrive(jobId, 0, 2, 3)]));
      const stats = await inspect.info('commandstats');

      // Assess
      // W = 3: groups {0,2} and {1}, each complete after these arrivals.
      expect(value).toEqual([{ added: true, count: 2, groupFilled: true }, { added: false, count: 2, groupFilled: true }, { added: true, count: 3, groupFilled: true }]);
      expect(io.requests).toBe(3);
      expect(stats).toMatch(/cmdstat_evalsha:calls=3,/);
      // The script was cached: no EVAL resending its source.
      expect(stats).not.toMatch(/cmdstat_eval:/);
    } finally {
      await store.close();
    }
  });

  it('reads all partials of a round with one MGET', async () => {
    // Prepare
    const jobId = uniqueJobId();
    const store = openStore();
    for (let shard = 0; shard < 8; shard++) await store.putPartial(jobId, 3, shard, pattern(64 * 1024, shard));
    try {
      // Act
      const { value, io } = await metered(() => store.getPartials(jobId, 3, 8));

      // Assess
      expect(io.requests).toBe(1);
      expect(io.bytesRead).toBe(8 * 64 * 1024);
      expect(value.map((p) => p.byteLength)).toEqual(Array(8).fill(64 * 1024));
      // Fresh 0-offset copies: the codec views them as Float64Array.
      for (const p of value) expect([p.byteOffset, p.constructor.name]).toEqual([0, 'Uint8Array']);
    } finally {
      await store.close();
    }
  });

  it('keeps numbers exact through the compare-and-set script', async () => {
    // Prepare: 17 significant digits, beyond the 14 that cjson would keep.
    const jobId = uniqueJobId();
    const store = openStore();
    const result = { algorithm: 'logreg' as const, dims: 1, featureNames: ['x'], labelName: 'y', weights: [0.1 + 0.2], bias: -1 / 3, loss: Number.NaN, accuracy: 1, gradNorm: 1e-300, rounds: 2, converged: false };
    try {
      await store.createJob(makeJob(jobId, { round: 2 }));

      // Act
      const applied = await store.updateJob(jobId, { round: 2, status: 'RUNNING' }, { status: 'SUCCEEDED', result });

      // Assess
      expect(applied).toBe(true);
      expect((await store.getJob(jobId))?.result).toEqual(result);
    } finally {
      await store.close();
    }
  });

  it('wraps client errors in StoreError with the client error as cause', async () => {
    // Prepare: a server that is gone, and a client that does not wait for it to come back.
    const gone = await startRedisServer();
    await gone.close();
    const store = new RedisStore({
      client: new Redis(gone.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, lazyConnect: true }),
      ownsClient: true,
    });
    try {
      // Act
      const error = await store.getJob(uniqueJobId()).catch((err: unknown) => err);

      // Assess
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'E_STORE' });
      expect((error as StoreError).message).toMatch(/^state store getJob on redis:\/\/127\.0\.0\.1:\d+ failed: /);
      expect((error as StoreError).cause).toBeInstanceOf(Error);
    } finally {
      await store.close();
    }
  });

  it('opens a store on its own redis-server and stops that server on close', async () => {
    // Prepare
    const job = makeJob(uniqueJobId());
    const store = await openRedisStore();

    // Act
    await store.createJob(job);
    const got = await store.getJob(job.jobId);
    const port = (store as unknown as { client: Redis }).client.options.port;
    await store.close();
    const probe = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    probe.on('error', () => {});
    const after = await probe.ping().catch((err: unknown) => err);
    probe.disconnect();

    // Assess
    expect(store.kind).toBe('redis');
    expect(got).toEqual(job);
    expect(after).toBeInstanceOf(Error);
  });
});
