import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { link, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedisServer } from '../../src/emulators/redis-server.js';
import { cliArgs, runBspml } from '../helpers/cli.js';

/*
 * SIGTERM (SIGINT) to `bspml train` as a separate process, on each backend: it exits 143 (130) with one line
 * saying what it stopped, no process it started is left (redis-server) and its temp directory is
 * empty (s3rver's objects). The CLI runs as test/helpers/cli.ts's cliArgs start it (bundled once per
 * run, no build needed); TMPDIR points it at a directory of its own.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dataDir: string;
let data: string;
/**
 * 400,000 rows: a preparation round and a conversion that take a while. Made once, for the three
 * tests that need it: 2,000 generated rows repeated 200 times (generating them all took ~2 s of CPU;
 * what the tests time is reading and converting them, for which repeats do as well).
 */
let big: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bspml-signals-data-'));
  data = join(dataDir, 'classes.csv');
  big = join(dataDir, 'big.csv');
  const wide = join(dataDir, 'wide.csv');
  const gens = [await runBspml(['gen', 'classification', '--rows', '2000', '--dims', '4', '--out', data]), await runBspml(['gen', 'classification', '--rows', '2000', '--dims', '8', '--out', wide])];
  for (const gen of gens) expect(gen.code, gen.stderr).toBe(0);
  const text = await readFile(wide, 'utf8');
  const header = text.slice(0, text.indexOf('\n') + 1);
  await writeFile(big, header + text.slice(header.length).repeat(200));
}, 60_000);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function childrenOf(pid: number): { pid: number; command: string }[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id, ...command] = line.trim().split(/\s+/);
        return { pid: Number(id), command: command.join(' ') };
      });
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/**
 * Whether process `pid` still runs. A zombie does not: it has ended and only waits to be reaped,
 * which for an orphan (a child of the CLI that outlived it) is up to init, here a second or more
 * later; signal 0 would still find it.
 */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may hold any character.
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    // No /proc (not Linux), or no such process: signal 0 tells.
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Entries the CLI left in its temp dir; tsx keeps its own cache there (tsx-UID), not ours. */
async function leftIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => !name.startsWith('tsx-'));
}

const cases = [
  { backend: 'memory', server: undefined, signal: 'SIGINT', code: 130 },
  { backend: 'dynamodb', server: undefined, signal: 'SIGTERM', code: 143 },
  { backend: 'redis', server: 'redis-server', signal: 'SIGTERM', code: 143 },
  { backend: 's3', server: undefined, signal: 'SIGTERM', code: 143 },
] as const;

describe('bspml train interrupted by a signal', () => {
  for (const { backend, server, signal, code: expected } of cases) {
    it.skipIf(backend === 'redis' && !findRedisServer())(`--backend ${backend}, ${signal}: exits ${expected}, stops what it started, leaves no temp files`, async () => {
      // Prepare: a run that would go on for ever (tol 0), in the middle of its rounds.
      const temp = await mkdtemp(join(tmpdir(), 'bspml-signals-'));
      try {
        const args = cliArgs(['train', 'logreg', '--data', data, '--tol', '0', '--max-rounds', '40000', '--solver', 'gd', '--lr', '0.01', '--workers', '2', '--threads', '1', '--backend', backend]);
        const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, TMPDIR: temp, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        // The progress line (printed every 2 s without a terminal) says the rounds are running.
        await until(() => /round \d+\//.test(stderr) || child.exitCode !== null, 'the first progress line');
        expect(child.exitCode, stderr).toBeNull();
        const started = childrenOf(child.pid!);
        if (server) expect(started.map((c) => c.command), stderr).toContain(server);
        if (backend === 's3') expect((await leftIn(temp)).some((name) => name.startsWith('bspml-s3rver-'))).toBe(true);

        // Act
        child.kill(signal);
        const code = await exited;

        // Assess
        expect(code, stderr).toBe(expected);
        const lines = stderr.trimEnd().split('\n');
        expect(lines.at(-1), stderr).toMatch(new RegExp(`^bspml: interrupted by ${signal}: stopped worker threads`));
        if (server) expect(lines.at(-1), stderr).toContain(server);
        await until(() => started.every((c) => !alive(c.pid)), `the children ${started.map((c) => `${c.command} (${c.pid})`).join(', ')} to end`, 15_000);
        expect(await leftIn(temp)).toEqual([]);
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    });
  }
});

/*
 * Issue 20 defect 13: kill -9 (no handler of ours runs) left the throwaway redis-server running
 * (its parent now pid 1) and s3rver's directory under the temp dir. The redis-server has a
 * watchdog that ends it with the CLI whatever the signal; the next run removes a dead run's s3rver
 * directory. Signals during the preparation round and during `convert` leave nothing either.
 */
describe('kill -9, and signals during the preparation round and convert', () => {
  function start(args: string[], temp: string) {
    const child = spawn(process.execPath, cliArgs(args), { cwd: ROOT, env: { ...process.env, TMPDIR: temp, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, exited, stderr: () => stderr };
  }
  const longTrain = (backend: string) => ['train', 'logreg', '--data', data, '--tol', '0', '--max-rounds', '40000', '--solver', 'gd', '--lr', '0.01', '--workers', '2', '--threads', '1', '--backend', backend];

  it.skipIf(!findRedisServer())('kill -9 of bspml train --backend redis: its redis-server ends too', async () => {
    // Prepare
    const temp = await mkdtemp(join(tmpdir(), 'bspml-kill9-'));
    const run = start(longTrain('redis'), temp);
    try {
      await until(() => /round \d+\//.test(run.stderr()) || run.child.exitCode !== null, 'the first progress line');
      const redis = childrenOf(run.child.pid!).filter((c) => c.command === 'redis-server');
      expect(redis, run.stderr()).toHaveLength(1);

      // Act
      run.child.kill('SIGKILL');
      await run.exited;

      // Assess
      await until(() => !alive(redis[0]!.pid), `redis-server (${redis[0]!.pid}) to end`, 10_000);
    } finally {
      run.child.kill('SIGKILL');
      await rm(temp, { recursive: true, force: true });
    }
  });

  it('kill -9 of bspml train --backend s3: the next run removes the dead run\'s s3rver directory', async () => {
    // Prepare: a run killed outright, its directory left.
    const temp = await mkdtemp(join(tmpdir(), 'bspml-kill9-'));
    const run = start(longTrain('s3'), temp);
    try {
      await until(() => /round \d+\//.test(run.stderr()) || run.child.exitCode !== null, 'the first progress line');
      run.child.kill('SIGKILL');
      await run.exited;
      const left = (await leftIn(temp)).filter((name) => name.startsWith('bspml-s3rver-'));
      expect(left).toHaveLength(1);

      // Act: the next run on the s3 backend.
      const next = start(['train', 'kmeans', '--k', '2', '--data', data, '--max-rounds', '2', '--backend', 's3', '--no-progress'], temp);
      const ended = await next.exited;

      // Assess
      expect(ended.code, next.stderr()).toBe(0);
      expect(await leftIn(temp)).toEqual([]);
    } finally {
      run.child.kill('SIGKILL');
      await rm(temp, { recursive: true, force: true });
    }
  });

  it('SIGTERM during the preparation round: exit 143, nothing left in the temp dir', async () => {
    // Prepare: a data set large enough that its preparation round takes a while (made once, above).
    const temp = await mkdtemp(join(tmpdir(), 'bspml-prep-'));
    const run = start(['train', 'logreg', '--data', big, '--workers', '2', '--threads', '1', '--backend', 's3'], temp);
    try {
      // The job's record stored (a few objects in the bucket): the preparation round is under way.
      const objects = async () => (await readdir(temp, { recursive: true })).filter((name) => name.includes('bspml-state') && name.endsWith('._S3rver_object')).length;
      await until(async () => (await objects()) >= 2 || run.child.exitCode !== null, 'the job in the store');
      expect(/round \d+\//.test(run.stderr()), 'still in the preparation round').toBe(false);

      // Act
      run.child.kill('SIGTERM');
      const ended = await run.exited;

      // Assess
      expect(ended.code, run.stderr()).toBe(143);
      expect(run.stderr().trimEnd().split('\n').at(-1)).toMatch(/^bspml: interrupted by SIGTERM: stopped /);
      expect(await leftIn(temp)).toEqual([]);
    } finally {
      run.child.kill('SIGKILL');
      await rm(temp, { recursive: true, force: true });
    }
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s during convert: its temp file is removed', async (signal) => {
    // Prepare: a conversion that takes a while (CSV to Parquet of 400,000 rows).
    const temp = await mkdtemp(join(tmpdir(), 'bspml-convert-'));
    const input = join(temp, 'in.csv');
    await link(big, input);
    const run = start(['convert', input, join(temp, 'out.parquet')], temp);
    try {
      await until(async () => (await readdir(temp)).some((name) => name.startsWith('.out.parquet.')) || run.child.exitCode !== null, 'the temp file');

      // Act
      run.child.kill(signal);
      const ended = await run.exited;

      // Assess
      expect(ended.code, run.stderr()).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(run.stderr()).toMatch(new RegExp(`bspml: interrupted by ${signal}: stopped the temp file of .*out\\.parquet\\n$`));
      expect((await leftIn(temp)).sort(), run.stderr()).toEqual(['in.csv']);
    } finally {
      run.child.kill('SIGKILL');
      await rm(temp, { recursive: true, force: true });
    }
  });
});
