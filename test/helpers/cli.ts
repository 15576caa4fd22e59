import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

/**
 * The arguments to `node` that run `bspml <argv>` as a process: the CLI bundled once per run
 * (test/setup/cli-bundle.ts, BSPML_TEST_CLI), or its sources through tsx when the variable is unset.
 */
export function cliArgs(argv: string[]): string[] {
  const bundle = process.env.BSPML_TEST_CLI;
  return bundle ? [bundle, ...argv] : ['--import', 'tsx', 'src/cli/main.ts', ...argv];
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

/**
 * `bspml train <argv> --data D --out M --no-progress` in `dir`, where D is a 4-row labelled CSV and M
 * an existing model file: the result, and whether M is still the model it was (a refused run must
 * not touch it).
 */
export async function trainOverModel(dir: string, argv: string[]): Promise<CliResult & { modelKept: boolean }> {
  const previous = '{"previous":"model"}\n';
  const data = join(dir, 'd.csv');
  const out = join(dir, 'model.json');
  await writeFile(data, 'a,b,label\n1,2,0\n3,4,1\n5,1,0\n2,2,1\n');
  await writeFile(out, previous);
  const result = await runBspml(['train', ...argv, '--data', data, '--out', out, '--no-progress']);
  return { ...result, modelKept: (await readFile(out, 'utf8')) === previous };
}
