import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach } from 'vitest';
import { runCli } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A writable stream that keeps everything written to it, as a string. Not a TTY. */
class Collector extends Writable {
  private readonly chunks: Buffer[] = [];
  readonly isTTY = false;

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    callback();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Runs `bspml <argv>` in this process, with standard output and error captured. */
export async function runBspml(argv: string[]): Promise<CliResult> {
  const stdout = new Collector();
  const stderr = new Collector();
  const code = await runCli(argv, { stdout, stderr });
  // Writes to a Writable complete on a later tick; let them land before reading.
  await new Promise<void>((resolve) => setImmediate(resolve));
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/**
 * A fresh temporary directory per call, under the OS temp dir; all of them are removed after
 * each test. Call it from a test (or a beforeEach), not at module level.
 */
export function useTempDirs(prefix = 'bspml-cli-'): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
