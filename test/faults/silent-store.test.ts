import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver } from '../../src/emulators/s3rver.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { StoreError } from '../../src/errors.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { startDynalite } from '../../src/emulators/dynalite.js';
import { openStore, type Backend } from '../../src/emulators/open.js';
import { findRedisServer, startRedisServer } from '../../src/emulators/redis-server.js';
import { enforceConditionalWrites } from '../../src/emulators/s3-local.js';
import { blobs } from '../helpers/data.js';
import { startStallProxy, type StallProxy } from '../helpers/stall-proxy.js';
import { LONG } from '../helpers/fault-mode.js';

/*
 * The fault-injection suite, a store that stops answering mid-job (issue 20 defect 4): a TCP proxy
 * in front of the real emulator (dynalite, redis-server, s3rver) stops forwarding at a chosen store
 * call of the job (in the preparation round, in a training round, in the aggregator). The local run
 * must end within a few request timeouts (BSPML_REQUEST_TIMEOUT_MS, 1 s here: shorter, s3rver on a loaded machine misses it unprovoked), with the store's
 * one-line error naming the endpoint: before the fix it waited through every Lambda-like retry and
 * a FAILED write to the same silent store (about 16 request timeouts; 160 s at the default 10 s).
 * Fast: two stall points per store; BSPML_FAULTS=long: every store call kind in rounds 0–2.
 */

const TIMEOUT_MS = 1000;
/** At most this many request timeouts from the stall to the error (3 attempts of one request, their back-off, slack for a loaded machine). */
const BOUND_TIMEOUTS = 10;

const DATA = blobs([[0, 0], [8, 8], [-8, 8]], 40, 1.5, 4);
const SPEC = { algorithm: 'kmeans', k: 3, workers: 3, threads: 1, maxRounds: 1000, tol: 0, seed: 3, data: { uri: 'silent' } } as const;

const STALLS: { method: string; round: number }[] = LONG
  ? ['getJob', 'putPartial', 'arrive', 'getPartials', 'putModel', 'updateJob', 'putRoundMetrics'].flatMap((method) => [0, 1, 2].map((round) => ({ method, round })))
  : [
      { method: 'putPartial', round: 0 }, // a worker of the preparation round
      { method: 'putRoundMetrics', round: 2 }, // the aggregator of a training round
    ];

interface Server {
  host: string;
  port: number;
  close(): Promise<void>;
  open(address: string): Promise<StateStore>;
}

async function startServer(backend: Exclude<Backend, 'memory'>): Promise<Server> {
  if (backend === 'redis') {
    const redis = await startRedisServer();
    return { host: '127.0.0.1', port: redis.port, close: redis.close, open: (a) => openStore('redis', { redisUrl: `redis://${a}` }) };
  }
  let local: { endpoint: string; close(): Promise<void> };
  if (backend === 'dynamodb') local = await startDynalite();
  else {
    const s3 = await startS3rver(['bspml-state']);
    enforceConditionalWrites(s3.server);
    local = s3;
  }
  const url = new URL(local.endpoint);
  return { host: url.hostname, port: Number(url.port), close: local.close, open: (a) => openStore(backend, { endpoint: `http://${a}` }) };
}

/** `store`, stalling the proxy just before the first call of `method` for `round`. */
function stallingAt(store: StateStore, proxy: StallProxy, at: { method: string; round: number }): { store: StateStore; stalledAt: () => number | undefined } {
  let stalledAt: number | undefined;
  // The round a call belongs to: getJob names none (the round of the last call that did),
  // updateJob's condition names it, the aggregator of round r writes the model of round r + 1.
  let lastRound = 0;
  const roundOf = (name: string | symbol, args: unknown[]): unknown => {
    if (name === 'getJob') return lastRound;
    if (name === 'updateJob' || name === 'putRoundMetrics') return (args[1] as { round: number }).round;
    if (name === 'putModel') return (args[1] as number) - 1;
    return args[1];
  };
  const wrapped = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const round = roundOf(name, args);
        if (typeof round === 'number' && name !== 'getJob') lastRound = Math.max(lastRound, round);
        if (stalledAt === undefined && name === at.method && round === at.round) {
          stalledAt = performance.now();
          proxy.stall();
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, stalledAt: () => stalledAt };
}

const saved = process.env.BSPML_REQUEST_TIMEOUT_MS;
beforeAll(() => {
  process.env.BSPML_REQUEST_TIMEOUT_MS = String(TIMEOUT_MS);
});
afterAll(() => {
  if (saved === undefined) delete process.env.BSPML_REQUEST_TIMEOUT_MS;
  else process.env.BSPML_REQUEST_TIMEOUT_MS = saved;
});

const backends = (['dynamodb', 'redis', 's3'] as const).filter((b) => b !== 'redis' || findRedisServer() !== undefined);

// Concurrently (vitest's maxConcurrency, 5 at a time): each test spends most of its time waiting out
// the request timeouts after its stall (about 3 s each on the AWS clients), not computing.
describe.concurrent.each(backends)('a %s store that stops answering mid-job', (backend) => {
  it.each(STALLS)('stalled at $method of round $round: one-line store error naming the endpoint, within a few request timeouts', { timeout: 60_000 }, async (at) => {
    // Prepare
    const server = await startServer(backend);
    const proxy = await startStallProxy(server);
    const inner = await server.open(proxy.address);
    const { store, stalledAt } = stallingAt(inner, proxy, at);
    const runtime = new LocalRuntime({ store, datasets: new MemoryDatasetSource().add('silent', DATA), defaultThreads: 1 });
    try {
      // Act
      const error = await runtime.train(SPEC).then(
        () => undefined,
        (e: unknown) => e,
      );
      const ended = performance.now();

      // Assess
      expect(stalledAt(), `the stall point was reached (${String(error)})`).toBeDefined();
      expect(error).toBeInstanceOf(StoreError);
      expect((error as Error).message).toContain(proxy.address);
      expect((error as Error).message).not.toContain('\n');
      expect(ended - stalledAt()!).toBeLessThan(BOUND_TIMEOUTS * TIMEOUT_MS);
    } finally {
      await runtime.close();
      await inner.close().catch(() => undefined);
      await proxy.close();
      await server.close();
    }
  });
});
