import { randomBytes } from 'node:crypto';
import { access, constants, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { BspmlError } from '../errors.js';
import { onInterrupt } from './interrupt.js';

/** The temporary names writeFileAtomic uses for `path`: `.NAME.<8 hex>.tmp` beside it. */
function tempPattern(path: string): RegExp {
  return new RegExp(`^\\.${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.[0-9a-f]{8}\\.tmp$`);
}

/**
 * Writes a file whole or not at all: to a temporary name beside it, then renamed over it. A run
 * that fails half-way leaves the previous file (say, a model) as it was. The temporary file is
 * removed on an error or an interrupt; one left by a process killed outright (kill -9) between the
 * write and the rename is removed by the next write of the same file (once a minute old, so that
 * a concurrent writer's is left alone).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
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

async function removeStaleTemps(path: string): Promise<void> {
  const pattern = tempPattern(path);
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((name) => pattern.test(name))
      .map(async (name) => {
        const file = join(dirname(path), name);
        const info = await stat(file).catch(() => undefined);
        if (info && Date.now() - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
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
