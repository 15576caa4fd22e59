import { Command, InvalidArgumentError } from 'commander';
import type { CliIo } from '../cli/io.js';
import { positiveInt } from '../cli/options.js';
import { benchOutputDir } from './output.js';
import { BENCH_BACKENDS, DEFAULT_BENCH, benchBackends, formatTable, type BenchBackend } from './backends.js';

export interface BenchBackendsOptions {
  out?: string;
  updateDocs?: boolean;
  backends: BenchBackend[];
  workers: number[];
  sizes: number[];
  rounds: number;
  cellBudgetMs: number;
}

/** `bspml bench backends`, registered on the `bench` command by main.ts. */
export function addBenchBackendsCommand(bench: Command, io: CliIo): void {
  bench
    .command('backends')
    .description('time a round\'s synchronisation (W partial writes, W arrivals, one read of all partials) on each state store, on local servers')
    .option('--out <dir>', 'where to write backends.json and backends.svg (default: <OS temp dir>/bspml-bench/backends)')
    .option('--update-docs', 'refresh the committed figures in this checkout\'s docs/backends/ (on purpose only)')
    .option('--backends <list>', `comma-separated, of ${BENCH_BACKENDS.join(', ')}`, listOf((v) => oneOfBackend(v)), DEFAULT_BENCH.backends)
    .option('--workers <list>', 'concurrent workers W, comma-separated', listOf(positiveInt), DEFAULT_BENCH.workers)
    .option('--sizes <list>', 'partial sizes in KB, comma-separated', listOf((v) => positiveInt(v) * 1024), DEFAULT_BENCH.sizes)
    .option('--rounds <n>', 'measured rounds per cell at most', positiveInt, DEFAULT_BENCH.rounds)
    .option('--cell-budget-ms <n>', `stop a cell after this long once it has ${DEFAULT_BENCH.minRounds} rounds`, positiveInt, DEFAULT_BENCH.cellBudgetMs)
    .action(async (options: BenchBackendsOptions) => {
      const out = benchOutputDir('backends', options);
      const result = await benchBackends({ ...options, out, minRounds: DEFAULT_BENCH.minRounds, log: (line) => io.stderr.write(`${line}\n`) });
      const short = result.cells.filter((c) => c.rounds < options.rounds);
      io.stdout.write(`${formatTable(result.cells)}\n\n`);
      if (short.length) {
        io.stdout.write(
          `${short.length} of ${result.cells.length} cells ran fewer than ${options.rounds} rounds (at least ${DEFAULT_BENCH.minRounds}, within a ${options.cellBudgetMs} ms budget per cell): their p95 rests on few samples.\n`,
        );
      }
      for (const s of result.skipped) io.stdout.write(`skipped ${s}\n`);
      io.stdout.write('Loopback figures (local emulators and servers on this machine) rank protocol costs; they are not AWS latencies. AWS columns are projections from the dated prices and the latency assumptions in src/costs/prices.ts.\n');
      io.stdout.write(`wrote ${result.file} and ${result.chart}\n`);
    });
}

function listOf<T>(parse: (value: string) => T) {
  return (value: string): T[] => {
    const items = value.split(',').map((v) => v.trim()).filter(Boolean);
    if (!items.length) throw new InvalidArgumentError('must be a comma-separated list.');
    return items.map(parse);
  };
}

function oneOfBackend(value: string): BenchBackend {
  if (!(BENCH_BACKENDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must list only: ${BENCH_BACKENDS.join(', ')}.`);
  return value as BenchBackend;
}
