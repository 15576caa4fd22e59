/*
 * Local peak memory against the number of workers (issue 20 defect 14): the same CSV (420,000 rows ×
 * 16 columns, 68 MB, generated with `bspml gen`) trained by the built CLI with `--workers 32` and
 * `--workers 256` on 32 containers of one thread (`--concurrency 32 --threads 1`), each run in its
 * own process, alternately, BENCH_MEMORY_REPEATS times (default 3). The peak RSS is the child's
 * own (process.resourceUsage().maxRSS: the main thread and every inner thread). The data goes to
 * a temporary directory, removed however the run ends.
 *
 *   BENCH_MEMORY_ROWS (default 420,000), BENCH_MEMORY_REPEATS (default 3),
 *   BENCH_MEMORY_ROUNDS (default 1: the preparation round, where the peak is, and one round)
 *   Needs the build (npm run build). Run: node --import tsx bench/memory-workers.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const self = fileURLToPath(import.meta.url);
const cli = join(root, 'dist/cli/main.js');
const WORKERS = [32, 256] as const;

interface Run {
  workers: number;
  maxRssMb: number;
  wallMs: number;
}

/** In the child: runs the built CLI in this process and prints its peak RSS as the last line. */
async function child(argv: string[]): Promise<void> {
  const { runCli } = await import(pathToFileURL(cli).href);
  const started = performance.now();
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  const code = await runCli(argv, { stdout: sink, stderr: process.stderr });
  process.stdout.write(`${JSON.stringify({ code, wallMs: performance.now() - started, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
}

function run(data: string, workers: number, rounds: number): Run {
  const args = ['train', 'kmeans', '--data', data, '--k', '8', '--workers', String(workers), '--threads', '1', '--concurrency', '32', '--max-rounds', String(rounds), '--no-progress', '--quiet'];
  const out = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  const last = out.stdout.trim().split('\n').pop() ?? '';
  if (out.status !== 0 || !last.startsWith('{')) throw new Error(`bspml ${args.join(' ')} failed: ${out.stderr}`);
  const r = JSON.parse(last) as { code: number; wallMs: number; maxRssMb: number };
  if (r.code !== 0) throw new Error(`bspml ${args.join(' ')} exited ${r.code}: ${out.stderr}`);
  return { workers, maxRssMb: r.maxRssMb, wallMs: r.wallMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  if (!existsSync(cli)) throw new Error('dist/ is missing: run npm run build first');
  const rows = Number(process.env.BENCH_MEMORY_ROWS ?? 420_000);
  const repeats = Number(process.env.BENCH_MEMORY_REPEATS ?? 3);
  const rounds = Number(process.env.BENCH_MEMORY_ROUNDS ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'bspml-bench-memory-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanup);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const data = join(dir, 'blobs.csv');
    const gen = spawnSync(process.execPath, [join(root, 'bin/bspml.js'), 'gen', 'blobs', '--rows', String(rows), '--dims', '16', '--centers', '8', '--seed', '1', '--out', data], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`bspml gen failed: ${gen.stderr}`);
    const loadBefore = loadavg()[0]!;
    const runs: Run[] = [];
    for (let i = 0; i < repeats; i++) {
      for (const w of WORKERS) {
        runs.push(run(data, w, rounds));
        log(`memory: run ${i + 1} of ${repeats}, W = ${w}: ${runs.at(-1)!.maxRssMb.toFixed(0)} MB`);
      }
    }
    const of = (w: number) => runs.filter((r) => r.workers === w).map((r) => r.maxRssMb);
    const lines = [
      `Local peak RSS against workers: ${rows.toLocaleString('en-US')} rows × 16 CSV (${(statSync(data).size / 1e6).toFixed(0)} MB), k-means, --concurrency 32 --threads 1 --max-rounds ${rounds}; ${repeats} runs each, alternating; ${availableParallelism()} cores, load ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
      '',
      '| workers | peak RSS (MB), median | runs (MB) |',
      '|---:|---:|---|',
      ...WORKERS.map((w) => `| ${w} | ${median(of(w)).toFixed(0)} | ${of(w).map((x) => x.toFixed(0)).join(', ')} |`),
      '',
      `W = 256 / W = 32: ${(median(of(256)) / median(of(32))).toFixed(2)}× (target ≤ 1.2×)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    cleanup();
  }
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
