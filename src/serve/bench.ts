import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { softmaxKernels } from '../algorithms/logreg/predict.js';
import type { ModelResult } from '../domain/results.js';
import { compilePredictor, present, type Predictor } from './predictor.js';
import { parseRows } from './request.js';

/*
 * `bspml bench predict`: the cold start apart from warm batches (issue 24). Cold: new processes,
 * each timing Node's start, loading the serving modules, parsing the model, compiling it and the
 * first answer (src/serve/coldProbe.ts). Warm: in this process, batches of 1, 100, 1,000 and
 * 10,000 rows through the compiled model (the predict loops and the answer's arrays), and, where
 * the body fits a function URL's 6 MB, through the whole request (JSON body parsed, answer written).
 */

export const WARM_BATCHES = [1, 100, 1_000, 10_000] as const;
/** A function URL's request limit (docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html). */
export const FUNCTION_URL_MAX_BYTES = 6 * 1024 * 1024;

export interface WarmResult {
  batchRows: number;
  p50Ms: number;
  p99Ms: number;
  samples: number;
  /** The same batch through the plain loops (no WebAssembly), timed in the same run: the reference (absent in results from before it was timed). */
  plainP50Ms?: number;
  plainP99Ms?: number;
  /** The same batch as a request: JSON body parsed, predicted, the answer serialised (absent when the body would exceed 6 MB). */
  requestP50Ms?: number;
  requestP99Ms?: number;
  requestBytes?: number;
}

export interface ColdResult {
  runs: number;
  /** Per run: ms from the process's start to its first answer, and its parts. */
  totalMs: number[];
  parts: { nodeMs: number; loadMs: number; parseMs: number; compileMs: number; firstPredictMs: number };
}

export interface BenchPredictResult {
  model: string;
  kind: Predictor['kind'];
  dims: number;
  classes: number;
  /** Median of the cold runs, process start to first answer. */
  coldStartMs: number;
  cold: ColdResult;
  warm: WarmResult[];
  /** Which loops answered: the WebAssembly kernels (which build) or the plain ones (and why). */
  kernels?: string;
  node: string;
  loadAverage: number[];
}

export interface BenchPredictOptions {
  coldRuns?: number;
  /** Time spent on each warm batch size at most, once it has minSamples. */
  budgetMs?: number;
  minSamples?: number;
  batches?: readonly number[];
  log?: (line: string) => void;
}

export async function benchPredict(model: ModelResult, modelFile: string, options: BenchPredictOptions = {}): Promise<BenchPredictResult> {
  const log = options.log ?? (() => {});
  const predictor = compilePredictor(model);
  const plain = compilePredictor(model, { plain: true });
  const cold = await coldStarts(modelFile, options.coldRuns ?? 5);
  log(`cold start ${median(cold.totalMs).toFixed(1)} ms (median of ${cold.runs} processes)`);
  const warm: WarmResult[] = [];
  for (const batchRows of options.batches ?? WARM_BATCHES) {
    const result = warmBatch(predictor, plain, batchRows, options.budgetMs ?? 1500, options.minSamples ?? 20);
    log(`warm ${batchRows} rows: p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms (${result.samples} samples); plain loops p50 ${result.plainP50Ms!.toFixed(3)} ms`);
    warm.push(result);
  }
  return {
    model: modelFile,
    kind: predictor.kind,
    dims: predictor.dims,
    classes: predictor.classes?.length ?? (model.algorithm === 'kmeans' ? model.k : 0),
    coldStartMs: median(cold.totalMs),
    cold,
    warm,
    kernels: kernelsOf(predictor),
    node: process.versions.node,
    loadAverage: loadavg(),
  };
}

/** Runs the cold-start probe in `runs` new processes, one after another. */
async function coldStarts(modelFile: string, runs: number): Promise<ColdResult> {
  const probe = new URL('./coldProbe.js', import.meta.url);
  let script = fileURLToPath(probe);
  const args: string[] = [];
  // From the sources (tests, tsx), the probe is TypeScript: Node needs tsx to load it.
  if (import.meta.url.endsWith('.ts')) {
    script = script.replace(/\.js$/, '.ts');
    args.push('--import', 'tsx');
  }
  const totals: number[] = [];
  const parts: ColdResult['parts'][] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await promisify(execFile)(process.execPath, [...args, script, modelFile], { timeout: 60_000 });
    const run = JSON.parse(stdout.trim().split('\n').at(-1)!) as ColdResult['parts'] & { totalMs: number };
    totals.push(run.totalMs);
    parts.push(run);
  }
  const mid = (key: keyof ColdResult['parts']) => median(parts.map((p) => p[key]));
  return { runs, totalMs: totals, parts: { nodeMs: mid('nodeMs'), loadMs: mid('loadMs'), parseMs: mid('parseMs'), compileMs: mid('compileMs'), firstPredictMs: mid('firstPredictMs') } };
}

/** The multinomial runs on the WebAssembly kernel where it can; every other model on the plain loops. */
function kernelsOf(predictor: Predictor): string {
  return predictor.kind === 'multinomial' ? softmaxKernels() : 'plain loops (only the multinomial has a kernel)';
}

function warmBatch(predictor: Predictor, plain: Predictor, rows: number, budgetMs: number, minSamples: number): WarmResult {
  const x = syntheticRows(rows, predictor.dims);
  // Served and plain alternate in slices of the budget, so that a change in the machine's load falls on both.
  const times: number[] = [];
  const plainTimes: number[] = [];
  for (let slice = 0; slice < 4; slice++) {
    times.push(...sample(() => present(predictor, predictor.run(x, rows), rows), budgetMs / 8, Math.ceil(minSamples / 4)));
    plainTimes.push(...sample(() => present(plain, plain.run(x, rows), rows), budgetMs / 8, Math.ceil(minSamples / 4)));
  }
  const result: WarmResult = {
    batchRows: rows,
    p50Ms: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
    samples: times.length,
    plainP50Ms: quantile(plainTimes, 0.5),
    plainP99Ms: quantile(plainTimes, 0.99),
  };
  // Each value as it was written (three decimals), not as float32 widened to 17 digits.
  const written = (v: number) => Math.round(v * 1000) / 1000;
  const body = JSON.stringify({ rows: Array.from({ length: rows }, (_, i) => Array.from(x.subarray(i * predictor.dims, (i + 1) * predictor.dims), written)) });
  if (body.length <= FUNCTION_URL_MAX_BYTES) {
    const request = sample(
      () => {
        const parsed = parseRows(body, 'application/json', predictor);
        return JSON.stringify(present(predictor, predictor.run(parsed.features, parsed.rows), parsed.rows));
      },
      budgetMs,
      minSamples,
    );
    Object.assign(result, { requestP50Ms: quantile(request, 0.5), requestP99Ms: quantile(request, 0.99), requestBytes: body.length });
  }
  return result;
}

/** Times `work` (after a few unmeasured runs) until the budget is spent and at least `min` samples are in. */
function sample(work: () => unknown, budgetMs: number, min: number): number[] {
  for (let i = 0; i < 3; i++) work();
  const times: number[] = [];
  const start = performance.now();
  let sink = 0;
  while (times.length < min || (performance.now() - start < budgetMs && times.length < 10_000)) {
    const t = performance.now();
    const out = work();
    times.push(performance.now() - t);
    sink += typeof out === 'string' ? out.length : 1;
  }
  if (sink < 0) throw new Error('unreachable');
  return times;
}

/** Rows in [-2, 2) from a fixed seed: every run predicts the same numbers. */
export function syntheticRows(rows: number, dims: number, seed = 1): Float32Array {
  let s = seed;
  const x = new Float32Array(rows * dims);
  for (let i = 0; i < x.length; i++) {
    s = (s * 16807) % 2147483647;
    // Three significant digits, as real features are written: JSON bodies of a realistic size.
    x[i] = Math.round((s / 2147483647 - 0.5) * 4000) / 1000;
  }
  return x;
}

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  return quantile(values, 0.5);
}
