import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BspmlError, SpecError } from '../errors.js';
import { parseModel } from '../protocol/modelFile.js';
import type { ModelResult } from '../domain/results.js';
import { benchPredict, type BenchPredictResult } from '../serve/bench.js';
import { parseShape, syntheticModel } from '../serve/synthetic.js';
import { tunePredict } from '../serve/tune.js';
import { renderTunePage } from '../serve/tunePage.js';
import { writeFileAtomic } from '../util/files.js';
import type { CliIo } from './io.js';
import { positiveInt } from './options.js';

/*
 * `bspml bench predict` and `bspml tune predict` (src/serve/bench.ts, src/serve/tune.ts): the
 * cold start and warm batches of a model, and the memory × batch size that serves it best.
 */

export interface BenchPredictCliOptions {
  model?: string;
  synthetic?: string;
  json?: string;
  coldRuns?: number;
  budgetMs?: number;
}

/** The model to time: a file, or a synthetic one written to a temporary file (the cold probe reads a file). */
async function modelFor(options: { model?: string; synthetic?: string }): Promise<{ model: ModelResult; file: string; label: string; cleanup: () => Promise<void> }> {
  if (options.model !== undefined && options.synthetic === undefined) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(options.model, 'utf8'));
    } catch (error) {
      throw new SpecError(`${options.model}: cannot read the model: ${(error as Error).message.split('\n')[0]}`, 'model', { cause: error });
    }
    return { model: parseModel(json, options.model), file: options.model, label: options.model, cleanup: async () => {} };
  }
  if (options.synthetic === undefined || options.model !== undefined) throw new BspmlError('E_ARGUMENT', 'give --model FILE or --synthetic DIMSxCLASSES (one of them)');
  let shape;
  try {
    shape = parseShape(options.synthetic);
  } catch (error) {
    throw new BspmlError('E_ARGUMENT', (error as Error).message);
  }
  const model = syntheticModel(shape);
  const dir = await mkdtemp(join(tmpdir(), 'bspml-bench-predict-'));
  const file = join(dir, 'model.json');
  await writeFile(file, JSON.stringify(model));
  return { model, file, label: `synthetic ${shape.kind} ${shape.dims}x${shape.classes}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function runBench(options: BenchPredictCliOptions, io: CliIo): Promise<BenchPredictResult> {
  const { model, file, label, cleanup } = await modelFor(options);
  try {
    const result = await benchPredict(model, file, { coldRuns: options.coldRuns, budgetMs: options.budgetMs, log: (line) => io.stderr.write(`${line}\n`) });
    return { ...result, model: label };
  } finally {
    await cleanup();
  }
}

export function addBenchPredictCommand(bench: Command, io: CliIo): void {
  bench
    .command('predict')
    .description('time a model served: cold start in new processes apart from warm batches of 1, 100, 1,000 and 10,000 rows (p50/p99)')
    .option('--model <file>', 'a model file (train --out, or models/NAME/VERSION.json)')
    .option('--synthetic <shape>', 'instead of --model: a seeded model of this shape, DIMSxCLASSES[:kind], e.g. 784x10')
    .option('--json <file>', 'write the result as JSON')
    .option('--cold-runs <n>', 'new processes timed for the cold start', positiveInt, 5)
    .option('--budget-ms <n>', 'time per warm batch size, at least 20 samples', positiveInt, 1500)
    .action(async (options: BenchPredictCliOptions) => {
      const result = await runBench(options, io);
      const p = result.cold.parts;
      const lines = [
        `${result.model}: ${result.kind}, ${result.dims} features, ${result.classes} ${result.kind === 'kmeans' ? 'centres' : 'classes'} on ${result.kernels} (Node ${result.node}, load average ${result.loadAverage.map((l) => l.toFixed(2)).join(' ')})`,
        `cold start ${result.coldStartMs.toFixed(1)} ms (median of ${result.cold.runs} processes; ${Math.min(...result.cold.totalMs).toFixed(1)}–${Math.max(...result.cold.totalMs).toFixed(1)}): node ${p.nodeMs.toFixed(1)}, modules ${p.loadMs.toFixed(1)}, model parsed ${p.parseMs.toFixed(2)}, compiled ${p.compileMs.toFixed(2)}, first answer ${p.firstPredictMs.toFixed(2)} ms`,
        'rows      p50 ms    p99 ms   plain loops p50 ms (ratio)   request p50/p99 ms (JSON body parsed, answer written)',
        ...result.warm.map(
          (w) =>
            `${String(w.batchRows).padStart(6)} ${w.p50Ms.toFixed(3).padStart(9)} ${w.p99Ms.toFixed(3).padStart(9)}   ${w.plainP50Ms!.toFixed(3).padStart(9)} (${(w.plainP50Ms! / w.p50Ms).toFixed(2)}×)   ${w.requestP50Ms !== undefined ? `${w.requestP50Ms.toFixed(3)} / ${w.requestP99Ms!.toFixed(3)} (${(w.requestBytes! / 1e6).toFixed(2)} MB)` : 'body over 6 MB: not a request'}`,
        ),
      ];
      io.stdout.write(`${lines.join('\n')}\n`);
      if (options.json) await writeFileAtomic(options.json, `${JSON.stringify(result, null, 2)}\n`);
    });
}

export interface TunePredictCliOptions {
  model?: string;
  synthetic?: string;
  bench?: string;
  json?: string;
  out?: string;
  maxMemory?: number;
}

/** `bspml tune predict` (dispatched from `bspml tune`, src/cli/simulate.ts). */
export async function tunePredictCli(options: TunePredictCliOptions, io: CliIo): Promise<void> {
  let bench: BenchPredictResult;
  if (options.bench) {
    try {
      bench = JSON.parse(await readFile(options.bench, 'utf8')) as BenchPredictResult;
    } catch (error) {
      throw new SpecError(`--bench ${options.bench}: cannot read a bspml bench predict result: ${(error as Error).message.split('\n')[0]}`, 'bench', { cause: error });
    }
    if (!Array.isArray(bench?.warm) || bench.warm.length === 0 || typeof bench.dims !== 'number') throw new SpecError(`--bench ${options.bench}: not a bspml bench predict --json result (no warm batches)`, 'bench');
  } else {
    io.stderr.write('calibrating: bspml bench predict (use --bench FILE to reuse a result)\n');
    bench = await runBench({ model: options.model, synthetic: options.synthetic, coldRuns: 3, budgetMs: 600 }, io);
  }
  const result = tunePredict(bench, { maxMemoryMb: options.maxMemory });
  const lines = (['cost', 'speed', 'balanced'] as const).map((s) => {
    const r = result.recommendations[s];
    return `${s.padEnd(9)} ${String(r.memoryMb).padStart(6)} MB  ${String(r.batchRows).padStart(6)} rows/request  ${r.p50Ms.toFixed(2).padStart(8)} ms  $${r.usdPerMillionRows.toFixed(4)} per million rows  ${r.secondsPerMillionRows.toFixed(1)} s per million rows at concurrency 10`;
  });
  io.stdout.write(`${result.model} (${result.kind}, ${result.dims} features): a request takes ${result.calibration.fixedMs.toFixed(3)} ms + ${(result.calibration.perRowMs * 1000).toFixed(2)} µs/row on one core here\n${lines.join('\n')}\n`);
  if (options.json) await writeFileAtomic(options.json, `${JSON.stringify(result, null, 2)}\n`);
  if (options.out) {
    await writeFileAtomic(options.out, await renderTunePage(result));
    io.stderr.write(`chart written to ${options.out}\n`);
  }
}
