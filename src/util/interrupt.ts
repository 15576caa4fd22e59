/*
 * Ctrl-C and `kill`: a run stops cleanly. What a command starts that would outlive it (a
 * redis-server child, an s3rver directory under the temp dir, dynalite, worker threads) is
 * registered here while it exists; on SIGINT or SIGTERM every registered cleanup runs, one line
 * says what happened, and the process exits 128 + the signal's number (130, 143), as shells do.
 *
 * Only the real process installs the handlers (bin/bspml.js, src/cli/main.ts as a script): a test
 * that runs the CLI in-process keeps its own signal handling.
 */

interface Cleanup {
  what: string;
  run: () => Promise<void>;
}

const cleanups = new Set<Cleanup>();
/** Most time the cleanups get before the process exits anyway. */
const CLEANUP_TIMEOUT_MS = 5000;
const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

/** Registers `run` to be awaited if the process is interrupted; call the result once it is done with. */
export function onInterrupt(what: string, run: () => Promise<void>): () => void {
  const cleanup = { what, run };
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Installs the SIGINT/SIGTERM handlers; `write` takes the one line said on the way out. */
export function installSignalHandlers(write: (line: string) => void): void {
  for (const signal of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) {
    const handler = () => void interrupted(signal, write);
    installed.set(signal, handler);
    process.once(signal, handler);
  }
}

const installed = new Map<keyof typeof SIGNALS, () => void>();

/**
 * Gives SIGINT and SIGTERM back their default action (the process ends at once), for a command
 * that starts nothing to clean up and may compute for long without yielding to the event loop,
 * where a handler would never run (`simulate`, `tune`). Only our own handlers are removed.
 */
export function releaseSignals(): void {
  for (const [signal, handler] of installed) process.off(signal, handler);
  installed.clear();
}

async function interrupted(signal: keyof typeof SIGNALS, write: (line: string) => void): Promise<void> {
  const code = 128 + SIGNALS[signal];
  // A second signal while cleaning up: leave now.
  for (const again of Object.keys(SIGNALS)) process.once(again, () => process.exit(code));
  // Latest first: the runtime before the store it writes to.
  const pending = [...cleanups].reverse();
  cleanups.clear();
  const failed: string[] = [];
  for (const cleanup of pending) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CLEANUP_TIMEOUT_MS)));
    try {
      await Promise.race([cleanup.run(), timeout]);
    } catch {
      failed.push(cleanup.what);
    } finally {
      clearTimeout(timer);
    }
  }
  const stopped = pending.map((c) => c.what).filter((what) => !failed.includes(what));
  write(
    `bspml: interrupted by ${signal}${stopped.length ? `: stopped ${stopped.join(', ')}` : ''}${failed.length ? `; could not stop ${failed.join(', ')}` : ''}\n`,
  );
  process.exit(code);
}
