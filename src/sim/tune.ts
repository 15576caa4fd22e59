import type { Shape } from '../algorithms/index.js';
import type { Profile } from './profile.js';
import { SYNC_DESIGNS, simulate, type SimConfig, type SyncDesign } from './simulate.js';

/**
 * The sync modes `tune` may recommend (ours: the event design, and workers that linger where the
 * build has them), and those it only shows beside them (the WoSC'23 paper's barrier-wait, whose
 * workers are billed for every round's wait and bound by Lambda's 15 minutes).
 */
export const TUNE_CONSIDERED: SyncDesign[] = SYNC_DESIGNS.filter((s) => s !== 'barrier-wait');
export const TUNE_SHOWN: SyncDesign[] = SYNC_DESIGNS.filter((s) => s === 'barrier-wait');

/** AWS Lambda Power Tuning's strategies: cheapest, fastest, or the best of both (equal weights). */
export type Strategy = 'cost' | 'speed' | 'balanced';
export const STRATEGIES: Strategy[] = ['cost', 'speed', 'balanced'];

export interface TuneJob {
  algorithm: 'kmeans' | 'logreg';
  rows: number;
  dims: number;
  k: number;
  rounds: number;
  backend: SimConfig['backend'];
}

export interface Candidate {
  memoryMb: number;
  workers: number;
  threads: number;
  sync: SyncDesign;
  /** False for a mode shown for comparison only (never recommended). */
  considered: boolean;
  /** Why it cannot run, or undefined when it can. */
  unfit?: string;
  wallSeconds?: number;
  costUsd?: number;
  billedGbSeconds?: number;
  throttled?: number;
}

export interface TuneResult {
  job: TuneJob;
  candidates: Candidate[];
  recommended: Record<Strategy, Candidate | undefined>;
  /** Why a strategy has no recommendation (nothing within the budget or deadline). */
  none: Partial<Record<Strategy, string>>;
}

/** Lambda's longest invocation (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
const LAMBDA_TIMEOUT_S = 900;
/** WebAssembly's 32-bit memory: a worker's shard and its threads' scratch live in one 4 GiB memory. */
const WASM_BYTES = 4 * 1024 ** 3;
/** Of a function's memory, what a shard may take (the rest: Node, the SDK, the threads, the pool's copy). */
const SHARD_SHARE = 0.45;

/** One to six vCPUs, and 3,008 MB: the stack's default and the most a limited account allows. */
export const MEMORY_STEPS = [1769, 3008, 3538, 5307, 7076, 8845, 10_240];

/** Workers to try: powers of two up to 1,024 and no more than the rows. */
export function workerSteps(rows: number, most = 1024): number[] {
  const out: number[] = [];
  for (let w = 1; w <= Math.min(most, rows); w *= 2) out.push(w);
  return out;
}

/**
 * Sweeps memory (one to six vCPUs, and 3,008 MB; a thread per vCPU begun) × workers through the
 * simulator and recommends one configuration per strategy under an optional budget or deadline.
 * A configuration whose shard would not fit its memory (about 45 % of it: the rows are held twice
 * while loading) or WebAssembly's 4 GiB, or whose memory is above `maxMemoryMb` (an account's
 * limit, e.g. 3,008 MB), is listed with the reason, not simulated.
 */
export async function tune(
  job: TuneJob,
  profile: Profile,
  msPerRow: (shape: Shape) => number,
  options: { budgetUsd?: number; deadlineSeconds?: number; maxMemoryMb?: number; workers?: number[]; memories?: number[]; syncs?: SyncDesign[]; shown?: SyncDesign[]; log?: (line: string) => void } = {},
): Promise<TuneResult> {
  const rowBytes = 4 * (job.dims + (job.algorithm === 'logreg' ? 1 : 0));
  const candidates: Candidate[] = [];
  for (const memoryMb of options.memories ?? MEMORY_STEPS) {
    // As a deployed worker counts them (src/aws/config.ts): a thread per vCPU begun, so 10,240 MB
    // (5.79 vCPUs) runs 6 threads, as the stack would.
    const threads = Math.max(1, Math.min(profile.lambda.maxVcpus.value, Math.ceil(memoryMb / profile.lambda.mbPerVcpu.value - 1e-9)));
    for (const workers of options.workers ?? workerSteps(job.rows)) {
      for (const [sync, considered] of [...(options.syncs ?? TUNE_CONSIDERED).map((m) => [m, true] as const), ...(options.shown ?? TUNE_SHOWN).map((m) => [m, false] as const)]) {
        const shardBytes = Math.ceil(job.rows / workers) * rowBytes;
        const c: Candidate = { memoryMb, workers, threads, sync, considered };
        if (options.maxMemoryMb !== undefined && memoryMb > options.maxMemoryMb) c.unfit = `memory above --max-memory ${options.maxMemoryMb} MB`;
        else if (shardBytes > WASM_BYTES) c.unfit = `shard of ${(shardBytes / 1024 ** 3).toFixed(1)} GiB is over WebAssembly's 4 GiB`;
        else if (shardBytes > SHARD_SHARE * memoryMb * 1024 ** 2) c.unfit = `shard of ${Math.round(shardBytes / 1024 ** 2)} MB does not fit ${memoryMb} MB`;
        if (!c.unfit) {
          const r = await simulate({ ...job, workers, threads, memoryMb, sync, seed: 1 }, profile, msPerRow);
          if (r.status !== 'SUCCEEDED') c.unfit = `the simulated job ended ${r.status}: ${r.error ?? ''}`;
          else Object.assign(c, { wallSeconds: r.wallSeconds, costUsd: r.costUsd.total, billedGbSeconds: r.billedGbSeconds.total, throttled: r.throttled.total });
          // Barrier-wait holds every worker's invocation for the whole job: past Lambda's 15
          // minutes it cannot run as simulated.
          if (sync === 'barrier-wait' && r.status === 'SUCCEEDED' && r.wallSeconds > LAMBDA_TIMEOUT_S) c.unfit = `barrier-wait workers would run ${Math.round(r.wallSeconds)} s, over Lambda's 900 s limit`;
          options.log?.(`${memoryMb} MB × ${workers} workers, ${sync}: ${c.unfit ?? `${r.wallSeconds.toFixed(2)} s, $${r.costUsd.total.toPrecision(3)}`}`);
        }
        candidates.push(c);
      }
    }
  }
  const runnable = candidates.filter((c) => !c.unfit && c.considered);
  const allowed = runnable.filter((c) => (options.budgetUsd === undefined || c.costUsd! <= options.budgetUsd) && (options.deadlineSeconds === undefined || c.wallSeconds! <= options.deadlineSeconds));
  const recommended = {} as Record<Strategy, Candidate | undefined>;
  const none: Partial<Record<Strategy, string>> = {};
  const minCost = Math.min(...allowed.map((c) => c.costUsd!));
  const minTime = Math.min(...allowed.map((c) => c.wallSeconds!));
  const score: Record<Strategy, (c: Candidate) => number> = {
    cost: (c) => c.costUsd! + 1e-12 * c.wallSeconds!,
    speed: (c) => c.wallSeconds! + 1e-12 * c.costUsd!,
    balanced: (c) => 0.5 * (c.costUsd! / minCost) + 0.5 * (c.wallSeconds! / minTime),
  };
  for (const s of STRATEGIES) {
    recommended[s] = allowed.length ? allowed.reduce((best, c) => (score[s](c) < score[s](best) ? c : best)) : undefined;
    if (!allowed.length) none[s] = runnable.length ? 'no configuration is within the budget and deadline' : 'no configuration fits';
  }
  return { job, candidates, recommended, none };
}
