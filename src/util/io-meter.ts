import { AsyncLocalStorage } from 'node:async_hooks';

/** Requests and bytes one invocation (a worker or an aggregator call) sent to the state store. */
export interface IoCounts {
  requests: number;
  bytesWritten: number;
  bytesRead: number;
}

const current = new AsyncLocalStorage<IoCounts>();

/**
 * Runs `fn` with a fresh meter that store adapters add to through `recordIo`. AsyncLocalStorage
 * keeps concurrent invocations in one process (the local runtime) from counting each other's I/O.
 */
export async function metered<T>(fn: () => Promise<T>): Promise<{ value: T; io: IoCounts }> {
  const io: IoCounts = { requests: 0, bytesWritten: 0, bytesRead: 0 };
  const value = await current.run(io, fn);
  return { value, io };
}

/** Called by store adapters once per request they make. A no-op outside `metered`. */
export function recordIo(requests: number, bytesWritten: number, bytesRead: number): void {
  const io = current.getStore();
  if (!io) return;
  io.requests += requests;
  io.bytesWritten += bytesWritten;
  io.bytesRead += bytesRead;
}

export function addIo(into: IoCounts, more: IoCounts): void {
  into.requests += more.requests;
  into.bytesWritten += more.bytesWritten;
  into.bytesRead += more.bytesRead;
}
