import { randomBytes } from 'node:crypto';
import { access, constants, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { BspmlError } from '../errors.js';

/**
 * Writes a file whole or not at all: to a temporary name beside it, then renamed over it. A run
 * that fails half-way leaves the previous file (say, a model) as it was.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new BspmlError('E_WRITE', `${path}: cannot write: ${(error as Error).message.replace(/\s+/g, ' ')}`, { cause: error });
  }
}

/** Fails early, before hours of training, when `path` could not be written later. */
export async function checkWritable(path: string): Promise<void> {
  try {
    await access(dirname(path), constants.W_OK);
  } catch (error) {
    throw new BspmlError('E_WRITE', `${path}: cannot write: ${(error as Error).message.replace(/\s+/g, ' ')}`, { cause: error });
  }
}
