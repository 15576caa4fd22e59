import { Redis } from 'ioredis';
import { StoreError } from '../errors.js';
import { redisTimeouts } from '../util/clients.js';
import { RedisStore } from '../stores/RedisStore.js';
import { startRedisServer } from './redis-server.js';

/**
 * Opens the Redis state store. Without a URL it starts a throwaway redis-server on a loopback port
 * and the store's close() stops it; with one it connects there (redis://[user:pass@]host:port[/db],
 * rediss:// for TLS as ElastiCache in-transit encryption needs).
 */
export async function openRedisStore(opts: { url?: string; ttlSeconds?: number } = {}): Promise<RedisStore> {
  // A missing or failing redis-server is a setup problem the CLI reports in one line, not a crash.
  const server = opts.url === undefined ? await startRedisServer().catch((err: unknown) => Promise.reject(new StoreError('starting a local redis-server', { cause: err }))) : undefined;
  const client = new Redis(server?.url ?? opts.url!, redisTimeouts());
  // Errors reach callers through their rejected requests; this only keeps ioredis from logging each one.
  client.on('error', () => {});
  return new RedisStore({ client, ttlSeconds: opts.ttlSeconds, ownsClient: true, onClose: server?.close });
}
