import type { WorkerContainer } from '../inner/WorkerContainer.js';
import { sleep as timerSleep } from '../util/async.js';
import { clock, type ProtocolDeps } from './deps.js';
import { defaultLingerMs, LINGER_POLL_FIRST_MS, LINGER_POLL_MAX_MS } from './lingerBudget.js';
import { publishRound } from './publish.js';
import { runWorker, type WorkerOutcome } from './runWorker.js';
import type { JobRecord, RoundTask } from './types.js';

/*
 * Lingering workers (`sync: 'linger'`, docs/protocol.md "Lingering workers"). After arriving at a
 * round's barrier, a worker claims its shard of the next round and polls its claim group until the
 * aggregator hands the round over (then it computes it in the same invocation, over the shard it
 * holds), or until its budget ends (then it releases the claim, and the aggregator publishes the
 * shard as in the event-driven design). The aggregator publishes tasks only for shards without a
 * live claim. Every path is safe to repeat: a shard computed twice writes its partial once.
 */

/**
 * A lingering worker stops waiting this long before its function's time runs out (at least; twice
 * its slowest round in this invocation when that is longer), so that a round it is handed still
 * ends before Lambda's timeout.
 */
export const LINGER_MARGIN_MS = 30_000;
/**
 * A claim counts as lapsed this long after its deadline: a live worker has by then made its last
 * poll and its release (two requests), so a claim still held is a worker that died. Publishing the
 * shard sooner would only duplicate a worker that is about to compute it, and the duplicate takes
 * an environment another shard's task may need.
 */
export const LINGER_LAPSE_GRACE_MS = 250;

export interface LingerOptions {
  /** The worker function's memory (MB), which prices waiting. */
  memoryMb: number;
  /** Function time left (ms): Lambda's context.getRemainingTimeInMillis. Absent: no limit (local runs). */
  remainingMs?: () => number;
  /** Called after every round this invocation ran, the first and each it lingered into. */
  onRound?: (task: RoundTask, outcome: WorkerOutcome) => void;
  /** Called with each stretch of waiting (ms), to bill it as waiting. */
  onWait?: (ms: number) => void;
  /** Wraps each round's work (its run and the wait after it): the local runtime meters store I/O per round with it. */
  around?: <T>(round: number, fn: () => Promise<T>) => Promise<T>;
}

export interface LingerRun {
  /** Rounds computed in this invocation (1 + those lingered into). */
  rounds: number;
  /** Claims that held, and how they ended. */
  claims: number;
  handed: number;
  released: number;
  waitedMs: number;
  last: WorkerOutcome;
}

/** Load times this container measured, per shard: a cache hit reports none, and the budget needs it. */
const loadTimes = new WeakMap<object, Map<string, number>>();
/**
 * Per container and job: whether its last wait after a training round outlasted the default budget
 * (the preparation round's wait is left out: it includes the other shards' loads).
 */
const outlasted = new WeakMap<object, Map<string, boolean>>();

/**
 * One worker invocation of a lingering job: `runWorker` for the task, then, while the job says
 * `sync: 'linger'`, claim the next round, wait for it and compute it here. Jobs in the event-driven
 * mode run exactly `runWorker`.
 */
export async function runLingering(
  deps: Pick<ProtocolDeps, 'store' | 'datasets' | 'completion' | 'now' | 'sleep'>,
  container: WorkerContainer,
  task: RoundTask,
  options: LingerOptions,
): Promise<LingerRun> {
  const { store } = deps;
  const run: LingerRun = { rounds: 0, claims: 0, handed: 0, released: 0, waitedMs: 0, last: undefined! };
  let current: RoundTask | undefined = task;
  const slowest = { ms: 0 };
  const around = options.around ?? (<T>(_round: number, fn: () => Promise<T>) => fn());
  while (current) {
    const task: RoundTask = current;
    current = await around<RoundTask | undefined>(task.round, () => roundAndWait(deps, container, task, options, run, slowest));
  }
  return run;
}

/** Runs one round's task, then lingers for the next: the next task to compute here, or undefined. */
async function roundAndWait(
  deps: Pick<ProtocolDeps, 'store' | 'datasets' | 'completion' | 'now' | 'sleep'>,
  container: WorkerContainer,
  current: RoundTask,
  options: LingerOptions,
  run: LingerRun,
  slowest: { ms: number },
): Promise<RoundTask | undefined> {
  const { store } = deps;
  const began = clock(deps);
  const outcome = await runWorker(deps, container, current);
  const elapsed = clock(deps) - began;
  slowest.ms = Math.max(slowest.ms, elapsed);
  run.rounds++;
  run.last = outcome;
  options.onRound?.(current, outcome);
  // Only a first run of the task lingers: a duplicate or stale task (nothing written, nothing
  // newly arrived) may belong to a round the job has left.
  if (outcome.status !== 'done' || !(outcome.written || outcome.arrived)) return undefined;
  const job = await container.job(current.jobId, () => store.getJob(current.jobId));
  if (job?.spec.sync !== 'linger') return undefined;
  // What a reload would cost: the round that loaded the shard, less its compute (on the runtime's
  // clock, which is the simulator's virtual one there).
  rememberLoad(container, current, outcome.report.cacheHit ? undefined : Math.max(0, elapsed - outcome.report.computeMs));

  const start = clock(deps);
  const priced = job.spec.lingerMs === undefined;
  // Rounds that outlast the priced budget make waiting a loss on top of the re-invocation (ski
  // rental's worst case): after one such wait here, this environment stops lingering for the job.
  if (priced && outlasted.get(container)?.get(current.jobId)) return undefined;
  const budget = job.spec.lingerMs ?? defaultLingerMs({ memoryMb: options.memoryMb, loadMs: loadOf(container, current), shards: job.shards, backend: job.spec.backend ?? store.kind });
  let until = start + budget;
  if (options.remainingMs) until = Math.min(until, start + options.remainingMs() - Math.max(LINGER_MARGIN_MS, 2 * slowest.ms));
  if (until <= start) return undefined;

  const next: RoundTask = { jobId: current.jobId, round: current.round + 1, shard: current.shard, shards: current.shards };
  let answer: 'claimed' | 'handed' | 'ended' | 'released' = await store.claim(next.jobId, next.round, next.shard, next.shards, until);
  if (answer === 'claimed') {
    run.claims++;
    answer = await waitFor(deps, next, until, options, run);
    if (priced && current.round > 0) remember(outlasted, container, current.jobId, answer === 'released');
  }
  if (answer !== 'handed') return undefined;
  run.handed++;
  return next;
}

/** Polls the claim group with backoff until the round is handed over, the job ends, or `until`; then releases. */
async function waitFor(
  deps: Pick<ProtocolDeps, 'store' | 'now' | 'sleep'>,
  task: RoundTask,
  until: number,
  options: LingerOptions,
  run: LingerRun,
): Promise<'handed' | 'ended' | 'released'> {
  const { store } = deps;
  const pause = deps.sleep ?? timerSleep;
  const began = clock(deps);
  let wait = LINGER_POLL_FIRST_MS;
  try {
    for (;;) {
      const signal = await store.handedOver(task.jobId, task.round, task.shard, task.shards);
      if (signal === 'handed') return 'handed';
      // Gone: the round was cleared, so the job is past it.
      if (signal === 'ended' || signal === 'gone') return 'ended';
      const left = until - clock(deps);
      if (left <= 0) break;
      await pause(Math.min(wait, left));
      wait = Math.min(LINGER_POLL_MAX_MS, wait * 2);
    }
    const released = await store.release(task.jobId, task.round, task.shard, task.shards, until);
    // Handed over before the release landed: the aggregator counted on this worker.
    if (released === 'released') run.released++;
    return released;
  } finally {
    const waited = clock(deps) - began;
    run.waitedMs += waited;
    options.onWait?.(waited);
  }
}

function remember<T>(maps: WeakMap<object, Map<string, T>>, container: object, key: string, value: T): void {
  let map = maps.get(container);
  if (!map) maps.set(container, (map = new Map()));
  map.set(key, value);
}

function rememberLoad(container: object, task: RoundTask, loadMs: number | undefined): void {
  if (loadMs !== undefined) remember(loadTimes, container, `${task.jobId}/${task.shard}`, loadMs);
}

function loadOf(container: object, task: RoundTask): number {
  return loadTimes.get(container)?.get(`${task.jobId}/${task.shard}`) ?? 0;
}

/**
 * The aggregator's side: publishes round `round` of `job`. In the event-driven mode, every shard;
 * with lingering workers, the round is handed over first (the signal they poll) and only shards
 * without a live claim are published: those whose worker released, never claimed, or whose claim
 * lapsed (its deadline passed LINGER_LAPSE_GRACE_MS ago: the worker may be gone; if it is not, it
 * computes too, harmlessly).
 */
export async function publishNextRound(deps: Pick<ProtocolDeps, 'store' | 'fanout' | 'now'>, job: Pick<JobRecord, 'jobId' | 'shards' | 'spec'>, round: number, model?: Float64Array): Promise<void> {
  if (job.spec.sync !== 'linger') return publishRound(deps.fanout, deps.store, job, round, model);
  const claims = await deps.store.handOver(job.jobId, round, job.shards);
  const now = clock(deps);
  const live = new Set(claims.filter((c) => c.until + LINGER_LAPSE_GRACE_MS > now).map((c) => c.shard));
  const rest = Array.from({ length: job.shards }, (_, i) => i).filter((shard) => !live.has(shard));
  if (rest.length > 0) await publishRound(deps.fanout, deps.store, job, round, model, rest);
}

/** The job ended after `job.round`: lingering workers waiting for the next round stop. */
export async function endLingering(store: ProtocolDeps['store'], job: Pick<JobRecord, 'jobId' | 'shards' | 'spec' | 'round'>): Promise<void> {
  if (job.spec.sync === 'linger') await store.handOver(job.jobId, job.round + 1, job.shards, true);
}
