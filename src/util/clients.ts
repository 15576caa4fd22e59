/*
 * Timeouts for every network client (AWS SDK and Redis), so that an endpoint which accepts
 * connections but never answers (a paused server, a firewall that black-holes replies) fails a
 * request in seconds instead of hanging the caller. BSPML_REQUEST_TIMEOUT_MS sets the idle limit
 * of one request (default 10 s); connecting gets at most 5 s of it.
 */

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export function requestTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BSPML_REQUEST_TIMEOUT_MS;
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_REQUEST_TIMEOUT_MS;
}

/** Spread into an AWS SDK v3 client's configuration. */
export function awsClientTimeouts(timeoutMs = requestTimeoutMs()) {
  return {
    // throwOnRequestTimeout: without it the SDK only logs a warning and goes on waiting.
    requestHandler: { connectionTimeout: Math.min(5000, timeoutMs), requestTimeout: timeoutMs, throwOnRequestTimeout: true },
    // Three attempts at most: a dead endpoint costs about three request timeouts, not minutes.
    maxAttempts: 3,
  };
}

/** Spread into ioredis options. */
export function redisTimeouts(timeoutMs = requestTimeoutMs()) {
  return {
    connectTimeout: Math.min(5000, timeoutMs),
    // Rejects a command that got no reply in time (ioredis otherwise waits forever on a silent server).
    commandTimeout: timeoutMs,
    // Fail a request after two reconnect attempts instead of queueing it behind a dead server.
    maxRetriesPerRequest: 2,
  };
}

/**
 * Where an AWS SDK client sends its requests, for error messages: the configured endpoint
 * (an emulator, a VPC endpoint), else the service's regional AWS endpoint.
 */
export async function endpointOf(client: unknown): Promise<string> {
  const config = (client as { config?: { endpoint?: unknown; region?: unknown; serviceId?: string } } | undefined)?.config;
  if (!config) return 'its endpoint';
  try {
    const provider = config.endpoint;
    if (typeof provider === 'function') {
      const e = (await provider()) as { protocol?: string; hostname?: string; port?: number; path?: string };
      if (e?.hostname) return `${e.protocol ?? 'https:'}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path && e.path !== '/' ? e.path : ''}`;
    }
    const region = typeof config.region === 'function' ? await (config.region as () => Promise<string>)() : config.region;
    return `${config.serviceId ?? 'AWS'} in ${String(region ?? 'the default region')}`;
  } catch {
    return 'its endpoint';
  }
}

/** `redis://host:port` of an ioredis client, without credentials. */
export function redisEndpointOf(client: { options: { host?: string; port?: number; tls?: unknown } }): string {
  const { host, port, tls } = client.options;
  return `${tls ? 'rediss' : 'redis'}://${host ?? 'localhost'}:${port ?? 6379}`;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** A request that timed out or a connection that failed (after the client's own retries), not an answer. */
export function isNetworkError(error: unknown): boolean {
  const e = error as { name?: string; code?: string } | undefined;
  return e?.name === 'TimeoutError' || (e?.code !== undefined && NETWORK_CODES.has(e.code));
}
