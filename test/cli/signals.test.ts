import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedisServer } from '../../src/stores/redis-server.js';
import { runBspml } from '../helpers/cli.js';

/*
 * SIGTERM (SIGINT) to `bspml train` as a separate process, on each backend: it exits 143 (130) with one line
 * saying what it stopped, no process it started is left (redis-server, tsx's helpers) and its temp
 * directory is empty (s3rver's objects). The CLI runs from source through tsx (no build needed);
 * TMPDIR points it at a directory of its own.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dataDir: string;
let data: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bspml-signals-data-'));
  data = join(dataDir, 'classes.csv');
  const gen = await runBspml(['gen', 'classification', '--rows', '2000', '--dims', '4', '--out', data]);
  expect(gen.code, gen.stderr).toBe(0);
});

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

function alive(pid: number): boolean {
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
        const args = ['--import', 'tsx', 'src/cli/main.ts', 'train', 'logreg', '--data', data, '--tol', '0', '--max-rounds', '40000', '--solver', 'gd', '--lr', '0.01', '--workers', '2', '--threads', '1', '--backend', backend];
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
