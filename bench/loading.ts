/*
 * The loading case of `npm run bench` (issue 9): a CSV of 4,000,000 rows × 16 columns (≈ 650 MB)
 * loaded, validated and trained one k-means round by our CLI (`bspml train kmeans --workers 1
 * --max-rounds 1`), against `pandas.read_csv` reading the same file (Debian's python3-pandas
 * under /usr/bin/python3; its column is skipped, with a message, when absent). Each side runs in
 * its own process, alternately, BENCH_LOADING_REPEATS times (default 3); wall time, CPU time
 * (user + system) and peak RSS of each run are measured by the process itself. The data is
 * generated with `bspml gen` into a temporary directory, removed however the run ends.
 *
 *   BENCH_LOADING_ROWS (default 4,000,000), BENCH_LOADING_REPEATS (default 3)
 *   Standalone: node --import tsx bench/loading.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PYTHON = '/usr/bin/python3';
const root = fileURLToPath(new URL('..', import.meta.url));
const self = fileURLToPath(import.meta.url);

interface Run {
  wallMs: number;
  cpuMs: number;
  maxRssMb: number;
}

export interface LoadingResult {
  rows: number;
  bytes: number;
  ours: Run[];
  pandas?: Run[];
  pandasSkipped?: string;
  loadBefore: number;
  loadAfter: number;
}

/** In the child: runs the CLI in this process and prints what it cost as the last line. */
async function child(argv: string[]): Promise<void> {
  const { runCli } = await import(pathToFileURL(join(root, 'src/cli/main.ts')).href);
  const started = performance.now();
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  const code = await runCli(argv, { stdout: sink, stderr: process.stderr });
  const wallMs = performance.now() - started;
  const usage = process.resourceUsage();
  process.stdout.write(`${JSON.stringify({ code, wallMs, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssMb: usage.maxRSS / 1024 })}\n`);
}

function lastJson(text: string): Record<string, number> {
  const line = text.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, number>;
}

function runOurs(data: string): Run {
  const out = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', 'train', 'kmeans', '--data', data, '--k', '8', '--workers', '1', '--max-rounds', '1', '--no-progress'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (out.status !== 0) throw new Error(`our CLI failed: ${out.stderr}`);
  const r = lastJson(out.stdout);
  if (r.code !== 0) throw new Error(`our CLI exited ${r.code}: ${out.stderr}`);
  return { wallMs: r.wallMs!, cpuMs: r.cpuMs!, maxRssMb: r.maxRssMb! };
}

const PANDAS = `
import json, resource, sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1])
wall = (time.perf_counter() - t) * 1000
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": len(df), "wallMs": wall, "cpuMs": (u.ru_utime + u.ru_stime) * 1000, "maxRssMb": u.ru_maxrss / 1024}))
`;

function pandasAvailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import pandas'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not found`;
  if (probe.status !== 0) return `pandas not importable by ${PYTHON} (apt-get install -y python3-pandas)`;
  return undefined;
}

function runPandas(data: string): Run {
  const out = spawnSync(PYTHON, ['-c', PANDAS, data], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (out.status !== 0) throw new Error(`pandas failed: ${out.stderr}`);
  const r = lastJson(out.stdout);
  return { wallMs: r.wallMs!, cpuMs: r.cpuMs!, maxRssMb: r.maxRssMb! };
}

export function runLoadingBench(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): LoadingResult {
  const rows = Number(process.env.BENCH_LOADING_ROWS ?? 4_000_000);
  const repeats = Number(process.env.BENCH_LOADING_REPEATS ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'bspml-bench-loading-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanup);
  try {
    const data = join(dir, 'loading.csv');
    log(`loading: generating ${rows.toLocaleString('en-US')} rows × 16 columns with bspml gen…`);
    const gen = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'gen', 'blobs', '--rows', String(rows), '--dims', '16', '--centers', '8', '--out', data], {
      cwd: root,
      encoding: 'utf8',
    });
    if (gen.status !== 0) throw new Error(`bspml gen failed: ${gen.stderr}`);
    const bytes = statSync(data).size;
    const skipped = pandasAvailable();
    if (skipped) log(`loading: pandas column skipped: ${skipped}`);
    const loadBefore = loadavg()[0]!;
    const ours: Run[] = [];
    const pandas: Run[] = [];
    for (let i = 0; i < repeats; i++) {
      log(`loading: run ${i + 1} of ${repeats}…`);
      ours.push(runOurs(data));
      if (!skipped) pandas.push(runPandas(data));
    }
    return { rows, bytes, ours, ...(skipped ? { pandasSkipped: skipped } : { pandas }), loadBefore, loadAfter: loadavg()[0]! };
  } finally {
    cleanup();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

/** Markdown lines for the bench report. */
export function formatLoading(r: LoadingResult): string[] {
  const lines = [
    '',
    `Loading: ${r.rows.toLocaleString('en-US')} rows × 16 columns CSV (${(r.bytes / 1e6).toFixed(0)} MB), ${r.ours.length} runs each, alternating; ${availableParallelism()} cores, load ${r.loadBefore.toFixed(1)} before, ${r.loadAfter.toFixed(1)} after`,
    '',
    '| | wall (ms), median [min–max] | CPU user+sys (ms), median | peak RSS (MB), median |',
    '|---|---:|---:|---:|',
  ];
  const row = (name: string, runs: Run[]) =>
    `| ${name} | ${median(runs.map((x) => x.wallMs)).toFixed(0)} [${spread(runs.map((x) => x.wallMs))}] | ${median(runs.map((x) => x.cpuMs)).toFixed(0)} | ${median(runs.map((x) => x.maxRssMb)).toFixed(0)} |`;
  lines.push(row('bspml train kmeans (load, validate, init, 1 round)', r.ours));
  if (r.pandas) {
    lines.push(row('pandas.read_csv (read only)', r.pandas));
    const wall = median(r.ours.map((x) => x.wallMs)) / median(r.pandas.map((x) => x.wallMs));
    const cpu = median(r.ours.map((x) => x.cpuMs)) / median(r.pandas.map((x) => x.cpuMs));
    lines.push('', `ours / pandas: wall ${wall.toFixed(2)}×, CPU ${cpu.toFixed(2)}× (target ≤ 1.0× wall)`);
  } else {
    lines.push(`| pandas.read_csv | skipped: ${r.pandasSkipped} | | |`);
  }
  return lines;
}

if (process.argv[2] === '--child') {
  await child(process.argv.slice(3));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = runLoadingBench();
  process.stdout.write(`${formatLoading(result).join('\n')}\n`);
}
