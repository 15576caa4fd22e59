import { PRICES } from '../costs/prices.js';
import type { BenchPredictResult } from './bench.js';
import { FUNCTION_URL_MAX_BYTES } from './bench.js';
import { MAX_ROWS_PER_REQUEST } from './request.js';

/*
 * `bspml tune predict`: memory × batch size for the predict function, as AWS Lambda Power Tuning
 * does for any function and as R. Timmer (2024) did for inference, from a model calibrated by
 * `bspml bench predict` on this machine:
 *
 *   duration(M, B) = t(B) / share(M)      t(B) = a + b·B, fitted to the warm requests measured here
 *   share(M)       = min(M, 1,769) / 1,769 of one vCPU (Lambda allocates CPU in proportion to
 *                    memory, one vCPU at 1,769 MB: docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html);
 *                    predicting is one thread, so more memory than one vCPU's buys nothing
 *   $/M rows       = (10⁶ / B) · (request price + M/1024 GB · ⌈duration⌉ ms / 1000 · GB-s price)
 *
 * Assumptions, marked as such: a Lambda vCPU is as fast as a core of the machine that ran the
 * bench (as the simulator assumes, docs/simulator.md); a request's body is as large per row as the
 * bench's JSON (three significant digits per feature).
 */

export const MEMORIES_MB = [128, 256, 512, 1024, 1536, 1769, 2048, 3008, 4096, 6144, 8192, 10240] as const;
export const BATCH_ROWS = [1, 10, 100, 1_000, 10_000] as const;
/** Memory Lambda gives one full vCPU. */
export const ONE_VCPU_MB = 1769;
/**
 * assumption: a function URL request's round trip outside the function (TLS, routing, Lambda's
 * invoke), for the speed strategy's wall time only; not billed.
 */
export const INVOKE_OVERHEAD_MS = 10;
/** The thesis's concurrency: the speed strategy's wall time for 10⁶ rows assumes this many requests in flight. */
export const CONCURRENCY = 10;
/** assumption: what Node, the bundle and one request's buffers take besides the body (MB), and the body's multiple in memory (text, parsed, arrays). */
const BASE_MEMORY_MB = 80;
const BODY_MEMORY_FACTOR = 12;

export type Strategy = 'cost' | 'speed' | 'balanced';

export interface TuneConfig {
  memoryMb: number;
  batchRows: number;
  /** In-function duration of one request (ms), as modelled. */
  p50Ms: number;
  billedMs: number;
  usdPerMillionRows: number;
  /** Wall time for 10⁶ rows at CONCURRENCY requests in flight (s). */
  secondsPerMillionRows: number;
}

export interface TunePredictResult {
  model: string;
  kind: string;
  dims: number;
  calibration: { fixedMs: number; perRowMs: number; from: { batchRows: number; ms: number }[]; loadAverage: number[] };
  prices: { requestUsd: number; gbSecondUsd: number; asOf: string; architecture: 'arm64' };
  assumptions: string[];
  configurations: TuneConfig[];
  recommendations: Record<Strategy, TuneConfig>;
}

/** The request time of the warm batches measured (the whole request where the bench timed it). */
function calibrate(bench: BenchPredictResult): TunePredictResult['calibration'] {
  // Whole requests where the bench could time them (bodies up to 6 MB); the loops alone otherwise.
  const requests = bench.warm.filter((w) => w.requestP50Ms !== undefined);
  const from = requests.length >= 2 ? requests.map((w) => ({ batchRows: w.batchRows, ms: w.requestP50Ms! })) : bench.warm.map((w) => ({ batchRows: w.batchRows, ms: w.p50Ms }));
  // Least squares of ms on rows, weighted equally per batch size.
  const n = from.length;
  const mx = from.reduce((s, p) => s + p.batchRows, 0) / n;
  const my = from.reduce((s, p) => s + p.ms, 0) / n;
  const sxx = from.reduce((s, p) => s + (p.batchRows - mx) ** 2, 0);
  const sxy = from.reduce((s, p) => s + (p.batchRows - mx) * (p.ms - my), 0);
  const perRowMs = n > 1 && sxx > 0 ? Math.max(sxy / sxx, 0) : my / Math.max(mx, 1);
  // The fixed part: the smallest batch's time less its rows, never below zero.
  const smallest = from.reduce((a, b) => (b.batchRows < a.batchRows ? b : a));
  const fixedMs = Math.max(smallest.ms - perRowMs * smallest.batchRows, 0);
  return { fixedMs, perRowMs, from, loadAverage: bench.loadAverage };
}

export function tunePredict(bench: BenchPredictResult, options: { maxMemoryMb?: number } = {}): TunePredictResult {
  const calibration = calibrate(bench);
  const requestUsd = PRICES.lambdaRequest.usd;
  const gbSecondUsd = PRICES.lambdaGbSecondArm.usd;
  // Bytes of one row in a JSON body: the bench's measured bodies, else ~7 characters per feature.
  const measured = bench.warm.filter((w) => w.requestBytes !== undefined).sort((a, b) => b.batchRows - a.batchRows)[0];
  const bytesPerRow = measured ? measured.requestBytes! / measured.batchRows : 7 * bench.dims + 4;
  const configurations: TuneConfig[] = [];
  for (const memoryMb of MEMORIES_MB) {
    if (options.maxMemoryMb !== undefined && memoryMb > options.maxMemoryMb) continue;
    const share = Math.min(memoryMb, ONE_VCPU_MB) / ONE_VCPU_MB;
    for (const batchRows of BATCH_ROWS) {
      const bodyBytes = bytesPerRow * batchRows;
      // A batch that cannot be sent, or would not fit the function's memory, is no configuration.
      if (batchRows > MAX_ROWS_PER_REQUEST || bodyBytes > FUNCTION_URL_MAX_BYTES) continue;
      if (BASE_MEMORY_MB + (BODY_MEMORY_FACTOR * bodyBytes) / 2 ** 20 > memoryMb) continue;
      const p50Ms = (calibration.fixedMs + calibration.perRowMs * batchRows) / share;
      const billedMs = Math.max(1, Math.ceil(p50Ms));
      const perRequest = requestUsd + (memoryMb / 1024) * (billedMs / 1000) * gbSecondUsd;
      const requests = 1e6 / batchRows;
      configurations.push({
        memoryMb,
        batchRows,
        p50Ms,
        billedMs,
        usdPerMillionRows: requests * perRequest,
        secondsPerMillionRows: (Math.ceil(requests / CONCURRENCY) * (p50Ms + INVOKE_OVERHEAD_MS)) / 1000,
      });
    }
  }
  if (configurations.length === 0) throw new Error('tune predict: no memory × batch size fits (rows too wide for a 6 MB request?)');
  const minCost = Math.min(...configurations.map((c) => c.usdPerMillionRows));
  const minTime = Math.min(...configurations.map((c) => c.secondsPerMillionRows));
  const best = (score: (c: TuneConfig) => number) =>
    configurations.reduce((a, b) => {
      const d = score(b) - score(a);
      // Ties (within 0.1 %) go to less memory, then the smaller batch: the cheaper to run and to retry.
      return d < -1e-3 * Math.abs(score(a)) ? b : a;
    });
  return {
    model: bench.model,
    kind: bench.kind,
    dims: bench.dims,
    calibration,
    prices: { requestUsd, gbSecondUsd, asOf: PRICES.lambdaGbSecondArm.asOf, architecture: 'arm64' },
    assumptions: [
      'a Lambda vCPU is as fast as one core of the machine that ran the bench',
      `CPU in proportion to memory, one vCPU at ${ONE_VCPU_MB} MB; one thread, so no gain above it`,
      `${INVOKE_OVERHEAD_MS} ms per request outside the function (speed strategy's wall time only, not billed)`,
      `the function's memory holds ${BASE_MEMORY_MB} MB plus ${BODY_MEMORY_FACTOR}× the request body`,
      `request bodies of ${Math.round(bytesPerRow)} bytes per row (JSON, as the bench wrote them)`,
    ],
    configurations,
    recommendations: {
      cost: best((c) => c.usdPerMillionRows),
      speed: best((c) => c.secondsPerMillionRows),
      // As Power Tuning's balanced: cost and speed each normalised to their best, weighted equally.
      balanced: best((c) => c.usdPerMillionRows / minCost + c.secondsPerMillionRows / minTime),
    },
  };
}
