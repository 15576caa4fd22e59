import type { Container } from '../ports/Container.js';
import { sleep as timerSleep } from '../util/async.js';
import { clock, type ProtocolDeps } from './deps.js';
import { defaultLingerMs, LINGER_POLL_FIRST_MS, LINGER_POLL_LEAD, LINGER_POLL_MAX_MS, LINGER_POLLS_PER_ROUND, pollPauseMs } from './lingerBudget.js';
import { runWorker, type GivenTask, type WorkerOutcome } from './runWorker.js';
import { aggregate, type AggregateOptions, type AggregateOutcome } from './aggregate.js';
import type { CompletionMessage, JobRecord, TrainJobRecord, RoundTask } from '../domain/job.js';

/*
 * Lingering workers (`sync: 'linger'`, docs/protocol.md "Lingering workers"). After arriving at a
 * round's barrier, a worker claims its shard of the next round and polls its claim group until the
 * aggregator hands the round over (then it computes it in the same invocation, over the shard it
 * holds), or until its budget ends (then it releases the claim, and the aggregator publishes the
 * shard as in the event-driven design). The aggregator publishes tasks only for shards without a
 * live claim (handOver.ts, the aggregator's side). Every path is safe to repeat: a shard computed
 * twice writes its partial once.
 */

/**
 * A lingering worker stops waiting this long before its function's time runs out (at least; twice
 * its slowest round in this invocation when that is longer), so that a round it is handed still
 * ends before Lambda's timeout.
 */
export const LINGER_MARGIN_MS = 30_000;

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
  /**
   * Aggregate inline: the arrival that fills a lingering job's barrier runs `aggregate` itself, in
   * its own invocation (as the paper's barrier-wait workers do), instead of sending the completion
   * across a queue or an Invoke to the aggregator function. Needs `fanout` in the deps (the
   * aggregation publishes the shards without a live claim). If the aggregation throws, the
   * completion is sent as in the event-driven design, so the aggregator function (or the recovery
   * sweep) completes the round. Concurrent duplicate aggregations stay exactly-once: the job's
   * advance is a conditional write (aggregate.ts).
   */
  inline?: boolean;
  /**
   * Called with each inline aggregation's outcome (the local runtime reports rounds with it; on AWS
   * the worker logs it: the aggregation itself wrote a finished job's model file, before marking it
   * SUCCEEDED). If it throws, the completion is sent to the aggregator as if the aggregation had failed.
   */
  onAggregated?: (message: CompletionMessage, outcome: AggregateOutcome) => void | Promise<void>;
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
type LingerDeps = Pick<ProtocolDeps, 'store' | 'datasets' | 'completion' | 'now' | 'sleep'> & Partial<Pick<ProtocolDeps, 'fanout' | 'limits' | 'delayed'>>;

export async function runLingering(
  deps: LingerDeps,
  container: Container,
  task: RoundTask,
  options: LingerOptions,
): Promise<LingerRun> {
  const { store } = deps;
  const run: LingerRun = { rounds: 0, claims: 0, handed: 0, released: 0, waitedMs: 0, last: undefined! };
  let current: Next | undefined = { task, given: {} };
  const slowest: Pace = { ms: 0 };
  const around = options.around ?? (<T>(_round: number, fn: () => Promise<T>) => fn());
  while (current) {
    const next: Next = current;
    current = await around<Next | undefined>(next.task.round, () => roundAndWait(deps, container, next, options, run, slowest));
  }
  return run;
}

/**
 * What this invocation has seen of the job's pace: its slowest round (`ms`), when it last saw a round
 * handed over (`seenAt`, on its clock) and the last two intervals between hand-overs it saw: the
 * next hand-over is not expected before `seenAt` + the shorter of them.
 */
interface Pace {
  ms: number;
  seenAt?: number;
  intervals?: number[];
}

/** Records a hand-over seen at `at`. */
function seen(pace: Pace, at: number): void {
  if (pace.seenAt !== undefined) pace.intervals = [...(pace.intervals ?? []), at - pace.seenAt].slice(-2);
  pace.seenAt = at;
}

/**
 * The shorter of the last two intervals between hand-overs, once three were seen: one interval alone
 * may be a long round (the first training round, a throttled one), and a pace taken from it would
 * make the next rounds wait for polls that start too late, each round's late sighting then setting
 * the pace of the next.
 */
function periodOf(pace: Pace): number | undefined {
  return pace.intervals && pace.intervals.length >= 2 ? Math.min(...pace.intervals) : undefined;
}

/** A round this invocation computes next, with what the hand-over told it (the job is at that round; its model). */
interface Next {
  task: RoundTask;
  given: GivenTask;
}

/** Runs one round's task, then lingers for the next: the next task to compute here, or undefined. */
async function roundAndWait(
  deps: LingerDeps,
  container: Container,
  current: Next,
  options: LingerOptions,
  run: LingerRun,
  slowest: Pace,
): Promise<Next | undefined> {
  const inline = inlineCompletion(deps, container, options);
  try {
    return await lingerAfter(inline.deps, container, current, options, run, slowest, inline);
  } finally {
    // Every path that does not linger still completes the round it filled.
    await inline.aggregate();
  }
}

interface Inline {
  deps: LingerDeps;
  /** Whether this worker's arrival filled a lingering job's barrier, and its completion waits here. */
  held: () => boolean;
  /** Aggregates the held completion here (undefined: none held, or it failed and was sent to the aggregator). */
  aggregate: (options?: AggregateOptions) => Promise<AggregateOutcome | undefined>;
}

/**
 * The completion of a lingering job's filling arrival, held back to be aggregated here once this
 * worker has claimed its next round (so the aggregation sees the claim and does not publish this
 * worker's own shard). Other jobs' completions are sent at once, as in the event-driven design.
 */
function inlineCompletion(deps: LingerDeps, container: Container, options: LingerOptions): Inline {
  const fanout = deps.fanout;
  if (!options.inline || !fanout) return { deps, held: () => false, aggregate: async () => undefined };
  let held: CompletionMessage | undefined;
  const send = async (message: CompletionMessage) => {
    const job = await container.job(message.jobId, () => deps.store.getJob(message.jobId));
    if (lingers(job)) held = message;
    else await deps.completion.send(message);
  };
  const aggregateHeld = async (given: AggregateOptions = {}): Promise<AggregateOutcome | undefined> => {
    const message = held;
    held = undefined;
    if (!message) return undefined;
    try {
      const outcome = await aggregate({ ...deps, fanout }, message, { ...given, inline: true });
      await options.onAggregated?.(message, outcome);
      return outcome;
    } catch {
      // The aggregator function (through the queue or an Invoke), or the recovery sweep, completes
      // it: a round half aggregated here is aggregated again there (the advance is a conditional
      // write). A last round whose model file could not be written here is still RUNNING (the file
      // comes before SUCCEEDED), so it is aggregated again there too. Its hand-over publishes this
      // worker's shard (no claim holds it), and this worker stops. If this send fails as well, the
      // invocation fails: Lambda retries its task, whose filling arrival sends the completion
      // again, and past the retries the sweep re-sends it for the round that is still RUNNING.
      await deps.completion.send(message);
      return undefined;
    }
  };
  return { deps: { ...deps, completion: { send } }, held: () => held !== undefined, aggregate: aggregateHeld };
}

async function lingerAfter(
  deps: LingerDeps,
  container: Container,
  { task: current, given }: Next,
  options: LingerOptions,
  run: LingerRun,
  slowest: Pace,
  inline: Inline,
): Promise<Next | undefined> {
  const { store } = deps;
  const began = clock(deps);
  const outcome = await runWorker(deps, container, current, given);
  const elapsed = clock(deps) - began;
  slowest.ms = Math.max(slowest.ms, elapsed);
  run.rounds++;
  run.last = outcome;
  options.onRound?.(current, outcome);
  // Only a first run of the task lingers: a duplicate or stale task (nothing written, nothing
  // newly arrived) may belong to a round the job has left. But a duplicate that found the barrier
  // full with the round still open holds the round's completion (its first run may have died before
  // sending it): it aggregates as the filler does, keeping its shard of the next round. Otherwise,
  // when it beats the first filler's aggregation, its hand-over would publish its own shard too,
  // and this live worker would stop while a fresh invocation reloads the shard.
  if (outcome.status !== 'done' || !(outcome.written || outcome.arrived || inline.held())) return undefined;
  const job = await container.job(current.jobId, () => store.getJob(current.jobId));
  if (!lingers(job)) return undefined;
  // What a reload would cost: the round that loaded the shard, less its compute (on the runtime's
  // clock, which is the simulator's virtual one there).
  rememberLoad(container, current, outcome.report.cacheHit ? undefined : Math.max(0, elapsed - outcome.report.computeMs));

  const start = clock(deps);
  const priced = job.spec.lingerMs === undefined;
  // Rounds that outlast the priced budget make waiting a loss on top of the re-invocation (ski
  // rental's worst case): after one such wait here, this environment stops lingering for the job.
  if (priced && outlasted.get(container)?.get(current.jobId)) return undefined;
  // Polls back off to a fraction of this round's own time (at most LINGER_POLL_MAX_MS): the next
  // round is handed over within about one round's time, so a short round is not made to wait out
  // a long pause after its hand-over. And to no longer a pause than the poll's price warrants
  // against the round's wait for a late sighting (pollPauseMs), over the window it polls in.
  const period = periodOf(slowest);
  const window = period !== undefined ? LINGER_POLL_LEAD * period : elapsed;
  const pollMaxMs = Math.min(
    LINGER_POLL_MAX_MS,
    Math.max(LINGER_POLL_FIRST_MS, Math.round(elapsed / LINGER_POLLS_PER_ROUND)),
    pollPauseMs({ memoryMb: options.memoryMb, backend: job.spec.backend ?? store.kind, windowMs: window }),
  );
  const budget = job.spec.lingerMs ?? defaultLingerMs({ memoryMb: options.memoryMb, loadMs: loadOf(container, current), shards: job.shards, backend: job.spec.backend ?? store.kind, pollMaxMs });
  let until = start + budget;
  if (options.remainingMs) until = Math.min(until, start + options.remainingMs() - Math.max(LINGER_MARGIN_MS, 2 * slowest.ms));
  if (until <= start) return undefined;

  const next: RoundTask = { jobId: current.jobId, round: current.round + 1, shard: current.shard, shards: current.shards };
  if (inline.held()) {
    // This arrival filled the barrier: it aggregates here, and its own shard of the next round stays
    // with it (handed over without a claim, not published), computed next with the model the
    // aggregation has just made. No claim, no poll, no read of the model: the round's critical
    // path is the aggregation alone.
    const trusted = outcome.model ? { model: { round: current.round, bytes: outcome.model } } : {};
    const aggregated = await inline.aggregate({ stays: next.shard, ...trusted });
    if ((aggregated?.status !== 'advanced' && aggregated?.status !== 'prepared') || !aggregated.model) return undefined;
    if (priced && current.round > 0) remember(outlasted, container, current.jobId, false);
    seen(slowest, clock(deps));
    run.handed++;
    return { task: next, given: { current: true, model: aggregated.model } };
  }
  const answer = await store.claim(next.jobId, next.round, next.shard, next.shards, until);
  if (answer === 'handed') {
    // Handed over before the claim landed: the shard is published too; compute it here anyway (the
    // first partial wins), reading the job afresh.
    run.handed++;
    return { task: next, given: {} };
  }
  if (answer !== 'claimed') return undefined;
  run.claims++;
  const waited = await waitFor(deps, next, until, options, run, pollMaxMs, slowest);
  if (priced && current.round > 0) remember(outlasted, container, current.jobId, waited.answer === 'released');
  if (waited.answer !== 'handed') return undefined;
  run.handed++;
  return { task: next, given: { current: true, ...(waited.model ? { model: waited.model } : {}) } };
}

/** Polls the claim group with backoff until the round is handed over (with its model, when carried), the job ends, or `until`; then releases. */
async function waitFor(
  deps: Pick<ProtocolDeps, 'store' | 'now' | 'sleep'>,
  task: RoundTask,
  until: number,
  options: LingerOptions,
  run: LingerRun,
  pollMaxMs: number,
  pace: Pace,
): Promise<{ answer: 'handed' | 'ended' | 'released'; model?: Uint8Array }> {
  const { store } = deps;
  const pause = deps.sleep ?? timerSleep;
  const began = clock(deps);
  let wait = LINGER_POLL_FIRST_MS;
  // Once the job's pace is known, the next hand-over is not expected before `seenAt + period`: the
  // polls (and their backoff from LINGER_POLL_FIRST_MS) start in the last LINGER_POLL_LEAD of that.
  // Each poll is a billed request on DynamoDB and S3 (about 4 ms of a 1,769 MB worker's wait on
  // DynamoDB), and polls long before the hand-over only find 'waiting'. The worker that arrives
  // last (the slowest environment, every round) starts polling at once, as before: its detection,
  // which the round waits for, is not delayed.
  const period = periodOf(pace);
  try {
    if (period !== undefined && pace.seenAt !== undefined) {
      const first = Math.min(until, pace.seenAt + (1 - LINGER_POLL_LEAD) * period) - began;
      if (first > 0) await pause(first);
    }
    for (;;) {
      const poll = await store.handedOver(task.jobId, task.round, task.shard, task.shards);
      if (poll.signal === 'handed') {
        seen(pace, clock(deps));
        return { answer: 'handed', ...(poll.model ? { model: poll.model } : {}) };
      }
      // Gone: the round was cleared, so the job is past it.
      if (poll.signal === 'ended' || poll.signal === 'gone') return { answer: 'ended' };
      const left = until - clock(deps);
      if (left <= 0) break;
      await pause(Math.min(wait, left));
      wait = Math.min(pollMaxMs, wait * 2);
    }
    const released = await store.release(task.jobId, task.round, task.shard, task.shards, until);
    // Handed over before the release landed: the aggregator counted on this worker (it reads the
    // model from the store: the release's answer does not carry it).
    if (released === 'released') run.released++;
    return { answer: released };
  } finally {
    const waited = clock(deps) - began;
    run.waitedMs += waited;
    options.onWait?.(waited);
  }
}

/** Whether `job` is a training job whose workers linger (predict jobs have one round, nothing to wait for). */
function lingers(job: JobRecord | undefined): job is TrainJobRecord {
  return job !== undefined && job.kind !== 'predict' && job.spec.sync === 'linger';
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
