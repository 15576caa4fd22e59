import { randomBytes } from 'node:crypto';
import { access, constants, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { BspmlError } from '../errors.js';
import { onInterrupt } from './interrupt.js';

/**
 * The temporary names our writers use for `path`: `.NAME.<pid>-<8 hex>.tmp` beside it (the pid of
 * the writing process, so that the next run can tell a dead writer's file from a live one's), a
 * `.crc` suffix for the Parquet CRC pass's; `.NAME.<8 hex>.tmp` from before pids were in the name.
 */
function tempPattern(path: string): RegExp {
  return new RegExp(`^\\.${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(?:(\\d+)-)?[0-9a-f]{8}\\.tmp(?:\\.crc)?$`);
}

/** A fresh temporary name beside `path` for this process (see tempPattern). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Whether process `pid` is alive on this machine (EPERM: alive, someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes a file whole or not at all: to a temporary name beside it, then renamed over it. A run
 * that fails half-way leaves the previous file (say, a model) as it was. The temporary file is
 * removed on an error or an interrupt; one left by a process killed outright (kill -9) between the
 * write and the rename is removed by the next write of the same file (once a minute old, so that
 * a concurrent writer's is left alone).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const temp = tempPathFor(path);
  const forget = onInterrupt(`temporary file ${temp}`, () => rm(temp, { force: true }));
  try {
    await removeStaleTemps(path);
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new BspmlError('E_WRITE', `${path}: cannot write: ${(error as Error).message.replace(/\s+/g, ' ')}`, { cause: error });
  } finally {
    forget();
  }
}

/** A temporary file untouched this long is no other writer's work in progress. */
const STALE_TEMP_MS = 60_000;

/**
 * Removes the temporary files of earlier writes of `path` that can no longer finish: those of a
 * process that is gone (killed outright, kill -9, before its rename), at once; any untouched for a
 * minute (a name without a pid, or a pid reused since), too.
 */
export async function removeStaleTemps(path: string): Promise<void> {
  const pattern = tempPattern(path);
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const match = pattern.exec(name);
      if (!match) return;
      const file = join(dirname(path), name);
      const pid = match[1] === undefined ? undefined : Number(match[1]);
      if (pid !== undefined && pid !== process.pid && !processAlive(pid)) return rm(file, { force: true });
      const info = await stat(file).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > STALE_TEMP_MS && pid !== process.pid) await rm(file, { force: true });
    }),
  );
}

/** Fails early, before hours of training, when `path` could not be written later. */
export async function checkWritable(path: string): Promise<void> {
  const fail = (detail: string, cause?: unknown) => new BspmlError('E_WRITE', `${path}: cannot write: ${detail.replace(/\s+/g, ' ')}`, { cause });
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw fail('is a directory (give a file name)');
  try {
    await access(dirname(path), constants.W_OK);
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  if (existing) {
    try {
      await access(path, constants.W_OK);
    } catch (error) {
      throw fail((error as Error).message, error);
    }
  }
}
