import { StoreError } from '../errors.js';

/*
 * A state store that stopped answering (issue 20 defect 4: an emulator paused mid-job). Its client
 * has already retried the request (3 attempts of BSPML_REQUEST_TIMEOUT_MS each); retrying the whole
 * invocation twice more, as Lambda does for a crashed function, and then trying to record FAILED in
 * that same store, multiplies the wait (16 request timeouts were measured: 160 s at the default
 * 10 s). The local runtime therefore ends the job's wait at the first such error.
 */

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND']);

/** A StoreError caused by a request that timed out or a connection that failed, after the client's own retries. */
export function storeUnreachable(error: unknown): error is StoreError {
  if (!(error instanceof StoreError)) return false;
  const cause = error.cause as { name?: string; code?: string; message?: string } | undefined;
  if (!cause) return false;
  if (cause.name === 'TimeoutError' || (cause.code !== undefined && NETWORK_CODES.has(cause.code))) return true;
  // ioredis: "Command timed out", "Connection is closed.", "Reached the max retries per request limit".
  return /Command timed out|Connection is closed|max retries per request/i.test(cause.message ?? '');
}
