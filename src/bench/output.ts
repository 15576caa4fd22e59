import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BspmlError } from '../errors.js';

/*
 * Where a benchmark writes its figures. Never over the committed ones by default: those are
 * refreshed on purpose, with --update-docs, and only in a checkout of this repository (they are
 * the package's docs/, whatever the current directory).
 */

/** The package root: src/bench/ and dist/bench/ are both two levels below it. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchOutputOptions {
  /** An explicit output directory. */
  out?: string;
  /** Write into the committed docs/<name>/ of this checkout. */
  updateDocs?: boolean;
}

/**
 * The directory a bench named `name` writes to: --out DIR; with --update-docs the checkout's
 * docs/<name>/; else `<OS temp dir>/bspml-bench/<name>`.
 */
export function benchOutputDir(name: string, options: BenchOutputOptions): string {
  if (options.out !== undefined && options.updateDocs) throw new BspmlError('E_USAGE', '--out and --update-docs: give one of them');
  if (options.updateDocs) {
    const docs = join(PACKAGE_ROOT, 'docs');
    if (!existsSync(join(PACKAGE_ROOT, '.git')) || !existsSync(docs)) {
      throw new BspmlError('E_USAGE', `--update-docs refreshes the committed figures of a git checkout; ${PACKAGE_ROOT} is not one (use --out DIR)`);
    }
    return join(docs, name);
  }
  return resolve(options.out ?? join(tmpdir(), 'bspml-bench', name));
}
