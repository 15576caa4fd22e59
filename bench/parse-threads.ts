/*
 * The parse-scaling case of `npm run bench` (issue 9): how much faster does one worker load its
 * shard with I inner threads parsing CSV blocks than with one? A CSV of BENCH_PARSE_ROWS rows × 16
 * columns is loaded as one shard (describe, then loadShard through a WorkerContainer of I threads,
 * exactly as the preparation round does, then the shard's summary by the same threads), in a fresh process per run,
 * thread counts alternating, BENCH_PARSE_REPEATS runs each. Reported: load time, throughput (MB of
 * CSV per second), the summary's time, and throughput relative to 1 thread. Meaningful only with at
 * least max(I) + 1 idle cores (the reader is the worker's main thread): the load is printed.
 *
 *   BENCH_PARSE_ROWS (default 1,000,000), BENCH_PARSE_THREADS (default 1,2), BENCH_PARSE_REPEATS (default 3)
 *   Standalone: node --import tsx bench/parse-threads.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const self = fileURLToPath(import.meta.url);

interface ParseRun {
  threads: number;
  loadMs: number;
  summaryMs: number;
  rows: number;
  cpuMs: number;
}

export interface ParseResult {
  rows: number;
  bytes: number;
  runs: ParseRun[];
  loadBefore: number;
  loadAfter: number;
}

/** In the child: loads the file as one shard with `threads` inner threads; prints the timings. */
async function child(data: string, threads: number): Promise<void> {
  const { FileDatasetSource } = await import(pathToFileURL(join(root, 'src/data/sources/FileDatasetSource.ts')).href);
  const { WorkerContainer } = await import(pathToFileURL(join(root, 'src/inner/WorkerContainer.ts')).href);
  const container = new WorkerContainer(threads);
  await container.pool.ready;
  const source = new FileDatasetSource();
  const layout = await source.describe({ uri: data });
  const before = process.cpuUsage();
  const started = performance.now();
  const { key, data: shard } = await container.shard('bench', 0, (via: object) => source.loadShard(layout, 0, 1, via));
  const loadMs = performance.now() - started;
  const cpu = process.cpuUsage(before);
  // The preparation round's summary, by the same threads (2,978 sample rows: 16 features' budget).
  const summaryStarted = performance.now();
  await container.summarize(key, shard, { shard: 0, seed: 1, sampleSize: 2978 });
  const summaryMs = performance.now() - summaryStarted;
  await container.close();
  // CPU of the whole process, threads included: the reader's and the parsers'.
  process.stdout.write(`${JSON.stringify({ threads, loadMs, summaryMs, rows: shard.rows, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
}

function runChild(data: string, threads: number): ParseRun {
  const out = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', data, String(threads)], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (out.status !== 0) throw new Error(`parse bench child failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as ParseRun;
}

export function runParseBench(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): ParseResult {
  const rows = Number(process.env.BENCH_PARSE_ROWS ?? 1_000_000);
  const counts = (process.env.BENCH_PARSE_THREADS ?? '1,2').split(',').map(Number);
  const repeats = Number(process.env.BENCH_PARSE_REPEATS ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'bspml-bench-parse-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanup);
  try {
    const data = join(dir, 'parse.csv');
    log(`parse: generating ${rows.toLocaleString('en-US')} rows × 16 columns with bspml gen…`);
    const gen = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'gen', 'blobs', '--rows', String(rows), '--dims', '16', '--centers', '8', '--out', data], { cwd: root, encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`bspml gen failed: ${gen.stderr}`);
    const loadBefore = loadavg()[0]!;
    const runs: ParseRun[] = [];
    for (let i = 0; i < repeats; i++) {
      // Alternate the order, so a change in the machine's load falls on every count alike.
      const order = i % 2 === 0 ? counts : [...counts].reverse();
      for (const threads of order) {
        log(`parse: run ${i + 1} of ${repeats}, ${threads} thread(s)…`);
        runs.push(runChild(data, threads));
      }
    }
    return { rows, bytes: statSync(data).size, runs, loadBefore, loadAfter: loadavg()[0]! };
  } finally {
    cleanup();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Markdown lines for the bench report. */
export function formatParse(r: ParseResult): string[] {
  const counts = [...new Set(r.runs.map((x) => x.threads))].sort((a, b) => a - b);
  const mbps = (x: ParseRun) => r.bytes / 1e6 / (x.loadMs / 1000);
  const base = median(r.runs.filter((x) => x.threads === counts[0]).map(mbps));
  const lines = [
    '',
    `Parsing in the inner threads: ${r.rows.toLocaleString('en-US')} rows × 16 columns CSV (${(r.bytes / 1e6).toFixed(0)} MB) loaded as one shard; ${availableParallelism()} cores, load ${r.loadBefore.toFixed(1)} before, ${r.loadAfter.toFixed(1)} after`,
    '',
    `| threads | load (ms), median [min–max] | MB/s, median | CPU (ms), median | summary (ms), median | throughput vs ${counts[0]} |`,
    '|--:|--:|--:|--:|--:|--:|',
  ];
  for (const t of counts) {
    const runs = r.runs.filter((x) => x.threads === t);
    const load = runs.map((x) => x.loadMs);
    lines.push(
      `| ${t} | ${median(load).toFixed(0)} [${Math.min(...load).toFixed(0)}–${Math.max(...load).toFixed(0)}] | ${median(runs.map(mbps)).toFixed(0)} | ${median(runs.map((x) => x.cpuMs)).toFixed(0)} | ${median(runs.map((x) => x.summaryMs)).toFixed(0)} | ${(median(runs.map(mbps)) / base).toFixed(2)}× |`,
    );
  }
  return lines;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, Number(process.argv[4]));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = runParseBench();
  process.stdout.write(`${formatParse(result).join('\n')}\n`);
}
