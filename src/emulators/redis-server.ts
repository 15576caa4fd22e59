import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Socket } from 'node:net';

export interface LocalRedis {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The redis-server binary on PATH (or REDIS_SERVER), or undefined when there is none. */
export function findRedisServer(): string | undefined {
  const binary = process.env.REDIS_SERVER ?? 'redis-server';
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? binary : undefined;
}

/**
 * Starts a throwaway redis-server on a free loopback port: no persistence (nothing written to
 * disk), killed by close(). Resolves once it answers PING, so callers never race its startup.
 */
export async function startRedisServer(options: { timeoutMs?: number } = {}): Promise<LocalRedis> {
  const binary = findRedisServer();
  if (!binary) throw new Error('redis-server is not installed: install it for --backend redis (Debian: apt-get install -y redis-server), set REDIS_SERVER to its path, or give --redis-url');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  // A port freed by the OS can be taken by someone else before redis binds it: retry a few ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3 && Date.now() < deadline; attempt++) {
    const port = await freePort();
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.once('error', () => {});
    try {
      await waitForPing(port, child, deadline);
      const dog = watchdog(child.pid!);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        close: once(async () => {
          await stop(child, exited);
          dog.release();
        }),
      };
    } catch (err) {
      lastError = new Error(`redis-server on port ${port} did not start: ${(err as Error).message}\n${output.trim()}`);
      await stop(child, exited);
    }
  }
  throw lastError ?? new Error(`redis-server did not answer PING within ${timeoutMs} ms`);
}

/**
 * Ends process `pid` when this process ends, however it ends (kill -9 included, which no handler of
 * ours sees; issue 20 defect 13): a shell blocked reading a pipe from us gets end-of-file the moment
 * our end closes, and then kills it. `release` (after a normal stop) lets the shell go.
 */
export function watchdog(pid: number): { release(): void } {
  const dog = spawn('sh', ['-c', 'read _; kill -TERM "$1" 2>/dev/null; exit 0', 'bspml-watchdog', String(pid)], { stdio: ['pipe', 'ignore', 'ignore'] });
  dog.once('error', () => {});
  dog.stdin?.on('error', () => {});
  // Neither the shell nor its pipe keeps this process alive.
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return { release: () => dog.stdin?.end() };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPing(port: number, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no PONG before the deadline');
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
