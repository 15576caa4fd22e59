import { PRICES } from '../costs/prices.js';

/*
 * How long a lingering worker waits for the next round by default: as long as waiting costs the job
 * less than this worker's leaving costs it. This is the break-even rule of ski rental (Karlin,
 * Manasse, McGeoch and Owicki, "Competitive randomized algorithms for non-uniform problems", SODA
 * 1990): waiting up to the price of the alternative never pays more than twice the best choice made
 * with hindsight.
 *
 *   waiting, per second:  w = m·p_GBs + f·p_poll
 *   leaving, once:        p_invoke + p_publish + miss·t_load·m·p_GBs  +  (W − 1)·w·miss·t_load
 *   budget:               1000 · leaving / w   (ms)
 *
 * m: the worker's memory (GB); p_GBs: Lambda's price per GB-s; f: polls per second at the longest
 * pause (1000 / the wait's longest pause, LINGER_POLL_MAX_MS or less for short rounds); p_poll: one poll of the store (a strongly consistent DynamoDB
 * read, an S3 GET; nothing on Redis or in memory); p_invoke, p_publish: a Lambda request and an SNS
 * publish; t_load: the time to load the shard; miss = 1 − 1/W: the chance that the next round's invocation
 * lands on an environment without the shard (Lambda documents no affinity, so with W environments
 * each holding one shard a task finds its own with probability 1/W), when it is loaded again and
 * billed. Prices from src/costs/prices.ts.
 *
 * The last term is what a leaver costs the others (issue 18: the rule without it let every k-means
 * claim lapse). The job pays every worker's wait, not this one's alone: a shard that is re-invoked
 * instead of handed over reaches the barrier a reload later than the rest (they compute at once,
 * it loads first), and the W − 1 lingering workers wait that much longer at the next barrier, billed.
 * Without it, a transient gap (the preparation round's cold starts, a slow round) made every worker
 * leave, the next round came through the fan-out with its spread of deliveries, its gap outlasted
 * the budget again, and the job fell into the event-driven mode for good. The re-invocation's own
 * delivery delay (SNS, an Invoke) would add to the others' wait too; the worker cannot measure it,
 * so it is left out (the budget errs short). Whether lingering pays at all for a job, against the
 * event-driven mode, is `bspml tune`'s question (it simulates both).
 */

/** Longest pause between two polls of a lingering worker (ms). */
export const LINGER_POLL_MAX_MS = 50;
/** The longest pause is at most the last round's time over this (and at least LINGER_POLL_FIRST_MS): a hand-over is noticed within a quarter of a round. */
export const LINGER_POLLS_PER_ROUND = 4;
/**
 * Once a worker has seen three hand-overs, it polls only in the last quarter of the shorter recent
 * interval between them (and after), not from its arrival on: a round's time varies little from one
 * round to the next (in the simulator's k-means on DynamoDB, p99 1.4× p50), and a round shorter than
 * 3/4 of the last ones costs its lingering workers at most that difference in detection.
 */
export const LINGER_POLL_LEAD = 0.25;
/** First pause (ms), doubled after each poll up to LINGER_POLL_MAX_MS. */
export const LINGER_POLL_FIRST_MS = 2;
/** A default budget is never longer than this (ms): the price rule alone could ask for more than a round ever takes. */
export const MAX_DEFAULT_LINGER_MS = 300_000;

export interface BudgetInputs {
  /** The worker function's memory (MB). */
  memoryMb: number;
  /** Time to load the shard (ms), as this container measured it. */
  loadMs: number;
  /** W: shards of the job. */
  shards: number;
  /** Where the claims are polled: dynamodb, s3, redis or memory. */
  backend: string;
  /** The longest pause between polls (ms) this wait backs off to; default LINGER_POLL_MAX_MS. */
  pollMaxMs?: number;
}

/** Price of one poll of a claim group on `backend` (USD). */
export function pollPriceUsd(backend: string): number {
  if (backend.startsWith('dynamodb')) return PRICES.dynamoReadUnit.usd;
  if (backend.startsWith('s3')) return PRICES.s3Get.usd;
  return 0;
}

export interface Budget {
  ms: number;
  waitUsdPerSecond: number;
  leaveUsd: number;
}

/** The default linger budget and the two prices it balances. */
export function lingerBudget(inputs: BudgetInputs): Budget {
  const gb = inputs.memoryMb / 1024;
  const pollsPerSecond = 1000 / (inputs.pollMaxMs ?? LINGER_POLL_MAX_MS);
  const waitUsdPerSecond = gb * PRICES.lambdaGbSecond.usd + pollsPerSecond * pollPriceUsd(inputs.backend);
  const miss = inputs.shards > 1 ? 1 - 1 / inputs.shards : 0;
  const reloadS = miss * (inputs.loadMs / 1000);
  const others = Math.max(0, inputs.shards - 1);
  const leaveUsd = PRICES.lambdaRequest.usd + PRICES.snsPublish.usd + reloadS * gb * PRICES.lambdaGbSecond.usd + others * reloadS * waitUsdPerSecond;
  const ms = Math.min(MAX_DEFAULT_LINGER_MS, Math.round((1000 * leaveUsd) / waitUsdPerSecond));
  return { ms, waitUsdPerSecond, leaveUsd };
}

/**
 * The longest pause between polls that the poll's price warrants (ms). Near the hand-over a worker
 * polls every p ms: each poll costs p_poll, and the hand-over is seen up to p ms late, which the whole
 * round waits for when this worker is the last to compute (with environments of close speeds, any
 * may be), billed at m·p_GBs per ms. Over a window of w ms of polling, the worker's share
 * w·p_poll/p + p·m·p_GBs is least at p = √(w·p_poll / (m·p_GBs)): about 12 ms for a 1,769 MB
 * worker on DynamoDB over a 40 ms window, 5 ms at 10,240 MB, and LINGER_POLL_FIRST_MS where a poll
 * is not billed by the request (Redis, memory).
 */
export function pollPauseMs(inputs: { memoryMb: number; backend: string; windowMs: number }): number {
  const perMs = ((inputs.memoryMb / 1024) * PRICES.lambdaGbSecond.usd) / 1000;
  const pause = Math.sqrt((Math.max(0, inputs.windowMs) * pollPriceUsd(inputs.backend)) / perMs);
  return Math.min(LINGER_POLL_MAX_MS, Math.max(LINGER_POLL_FIRST_MS, Math.round(pause)));
}

export function defaultLingerMs(inputs: BudgetInputs): number {
  return lingerBudget(inputs).ms;
}
