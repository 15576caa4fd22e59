import { AsyncLocalStorage } from 'node:async_hooks';
import type { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { runLingering } from '../../src/protocol/linger.js';
import { recoverJob } from '../../src/protocol/recover.js';
import { checkStragglers } from '../../src/protocol/stragglers.js';
import type { BackupCheck } from '../../src/ports/DelayedChannel.js';
import type { CompletionMessage, RoundTask } from '../../src/domain/job.js';
import { Rng } from '../../src/util/random.js';
import { Crash, FaultyStore, forge, redelivered, type Disorder } from './faults.js';
import type { Harness } from './protocol.js';

/*
 * The fault-injection driver for lingering workers. A worker invocation runs `runLingering`, which
 * may wait for later rounds: invocations (and aggregations) are coroutines that the driver runs one
 * at a time, each until its next store call, its next wait (`sleep`) or its end, under a virtual
 * clock that moves only when a waiting worker is woken (or, by five minutes, at a recovery sweep, as
 * the scheduled sweep runs on AWS). In order, a coroutine goes on until it waits, so the store calls
 * come in the same order from run to run, on every store, and a fault can be aimed at the n-th; with
 * a seed, any coroutine may go next at any store call, which interleaves a poll, a release and a
 * hand-over in every order. A Crash kills the invocation (whatever it
 * was waiting for) and redelivers its first task, as Lambda retries an invocation that died.
 */

export interface LingerRunLog {
  steps: number;
  sweeps: number;
  crashes: number;
  /** Crashes of invocations that had finished a round, so may have left a claim behind. */
  lingerersKilled: number;
  /** Rounds computed by workers that waited for them. */
  lingeredRounds: number;
  /** Backup checks that re-published stragglers. */
  backups: number;
  /** Completion sends (the queue's SendMessage or the aggregator's Invoke) that failed. */
  sendsFailed: number;
}

type Message = { task: RoundTask } | { completion: CompletionMessage } | { check: BackupCheck };
interface Sleeper {
  wakeAt: number;
  wake: () => void;
  /** Settles when the sleeping invocation ends (asked late: a coroutine may park before it is known). */
  done: () => Promise<unknown>;
}

/**
 * The running coroutine: its scheduler and its end, for whoever parks it. One for every scheduler:
 * Node 20 keeps each AsyncLocalStorage that ever ran and copies every one of them into each promise
 * created after, so one per run (hundreds in a fault suite) made each run slower than the last.
 */
const CURRENT = new AsyncLocalStorage<{ scheduler: LingerScheduler; ended: () => Promise<unknown> }>();

/** The virtual clock and the cooperative scheduler of a run. */
export class LingerScheduler {
  time = 1_000_000;
  /**
   * Virtual milliseconds each store call of a coroutine takes (0: time moves only when a sleeper is
   * woken). Set, rounds take time, so claims lapse while other workers compute and aggregate, and
   * polls back off as on a real store.
   */
  tickMs = 0;
  readonly sleeping: Sleeper[] = [];
  /** Coroutines stopped at a store call, ready to go on. */
  readonly ready: Sleeper[] = [];
  private parked?: () => void;

  now = (): number => this.time;

  sleep = (ms: number): Promise<void> => this.park(this.sleeping, this.time + ms);

  /**
   * FaultyStore's gate: a coroutine stops before each store call (nothing else does). Calls it makes
   * at once (Promise.all) stop at the first: the others go on beside it, so the coroutine is parked
   * in one place, and a step that wakes it can see it through (else it would wait on a call no step wakes).
   */
  gate = (): Promise<void> => {
    const running = CURRENT.getStore();
    if (running?.scheduler !== this || this.ready.some((r) => r.done === running.ended)) return Promise.resolve();
    this.time += this.tickMs;
    return this.park(this.ready, this.time);
  };

  /** Runs `fn` as a coroutine. */
  coroutine<T>(fn: () => Promise<T>): Promise<T> {
    let ended: Promise<unknown> = Promise.resolve();
    const running = CURRENT.run({ scheduler: this, ended: () => ended }, fn);
    ended = running.catch(() => undefined);
    return running;
  }

  private park(list: Sleeper[], wakeAt: number): Promise<void> {
    const done = CURRENT.getStore()!.ended;
    return new Promise<void>((wake) => {
      list.push({ wakeAt, wake, done });
      this.parked?.();
    });
  }

  /** Runs `step` (which starts or wakes an invocation) until that invocation waits again or ends. */
  async runUntilParked(step: () => Promise<void>): Promise<void> {
    await new Promise<void>((parked) => {
      this.parked = parked;
      void step().finally(parked);
    });
    this.parked = undefined;
  }

  /** Goes on with the ready coroutine `index`. */
  takeReady(index: number): Sleeper {
    return this.ready.splice(index, 1)[0]!;
  }

  /** Wakes the sleeper `index` (in wake order), moving the clock to its time. */
  takeSleeper(index: number): Sleeper {
    this.sleeping.sort((a, b) => a.wakeAt - b.wakeAt);
    const [sleeper] = this.sleeping.splice(index, 1);
    this.time = Math.max(this.time, sleeper!.wakeAt);
    return sleeper!;
  }
}

/**
 * Delivers `jobId`'s messages, and wakes its lingering workers, until the job ends, under
 * `disorder`: as runDisturbed (test/helpers/faults.ts), with waking a sleeper one more kind of step.
 */
export async function runDisturbedLingering(
  h: Harness,
  scheduler: LingerScheduler,
  container: WorkerContainer,
  jobId: string,
  disorder: Disorder,
  bounds: { steps: number; sweeps: number } = { steps: 3000, sweeps: 12 },
  /** How far the aggregator's clock lags the workers' (ms): hosts' clocks differ, and a claim the aggregator still counts may have ended for its worker. */
  aggregatorLagMs = 0,
  /** Workers aggregate the rounds they fill themselves (`inline`, as the local runtime and the AWS worker do), instead of sending the completion. */
  inline = false,
): Promise<LingerRunLog> {
  const rng = disorder.orderSeed === 0 ? undefined : new Rng(disorder.orderSeed);
  const history: Message[] = [];
  const log: LingerRunLog = { steps: 0, sweeps: 0, crashes: 0, lingerersKilled: 0, lingeredRounds: 0, backups: 0, sendsFailed: 0 };
  const checks = h.delayed?.pending ?? [];
  const queue = (m: Message) => ('task' in m ? h.fanout.pending.push(m.task) : 'completion' in m ? h.completion.pending.push(m.completion) : checks.push(m.check));
  scheduler.tickMs = disorder.tickMs ?? 0;
  // A lost Invoke (or SendMessage): the chosen completion sends fail; the invocation that made one
  // dies with the error (Lambda retries its event), as the worker and aggregator handlers throw it.
  let sends = 0;
  const completion = {
    send: async (message: CompletionMessage) => {
      if (disorder.sendFails?.includes(++sends)) {
        log.sendsFailed++;
        throw new Crash(`completion send ${sends} failed (round ${message.round})`);
      }
      await h.completion.send(message);
    },
  };
  const deps = { ...h.deps, completion, now: scheduler.now, sleep: scheduler.sleep };
  if (h.store instanceof FaultyStore) h.store.gate = scheduler.gate;

  const invoke = async (task: RoundTask): Promise<void> => {
    let rounds = 0;
    try {
      const run = await scheduler.coroutine(() => runLingering(mortal(deps), container, task, { memoryMb: 1024, inline, onRound: () => void rounds++ }));
      log.lingeredRounds += run.handed;
    } catch (error) {
      if (!redelivered(error)) throw error;
      log.crashes++;
      if (rounds > 0) log.lingerersKilled++;
      queue({ task });
    }
  };
  /** A completion or a backup check, run by the aggregator function (its clock `aggregatorLagMs` behind); a crash redelivers it. */
  const aggregator = (message: Exclude<Message, { task: RoundTask }>): Promise<void> => {
    const at = { ...deps, now: () => scheduler.time - aggregatorLagMs };
    return scheduler
      .coroutine(async () => {
        if ('completion' in message) await aggregate(at, message.completion);
        else if ((await checkStragglers(at, message.check)).action === 'backups') log.backups++;
      })
      .catch((error: unknown) => {
        if (!redelivered(error)) throw error;
        log.crashes++;
        queue(message);
      });
  };

  let failure: unknown;
  const guard = (p: Promise<void>) => p.catch((error: unknown) => void (failure ??= error));
  for (let step = 0; ; step++) {
    if (failure) throw failure;
    if (step > bounds.steps) throw new Error(`hang: job ${jobId} had not ended after ${bounds.steps} steps`);
    if (disorder.forge?.step === step) forge(h, jobId, disorder.forge.kind);
    const replay = disorder.replay.find((r) => r.step === step);
    if (replay && history.length > 0) queue(copy(history[replay.pick % history.length]!));

    const messages = h.fanout.pending.length + h.completion.pending.length;
    const ready = scheduler.ready.length;
    const sleeping = scheduler.sleeping.length;
    const total = ready + messages + sleeping + checks.length;
    if (total === 0) {
      const job = await (h.store instanceof FaultyStore ? h.store.inner : h.store).getJob(jobId);
      if (job && (job.status === 'SUCCEEDED' || job.status === 'FAILED')) return log;
      if (++log.sweeps > bounds.sweeps) throw new Error(`hang: job ${jobId} still ${job?.status} at round ${job?.round} after ${bounds.sweeps} sweeps`);
      // The scheduled sweep comes minutes after a round stops moving: every claim has lapsed by then.
      scheduler.time += 5 * 60_000;
      await recoverJob(deps, jobId).catch((error: unknown) => {
        if (!redelivered(error)) throw error;
      });
      continue;
    }
    log.steps++;
    // In order: the coroutine stopped at a store call goes on, then messages (tasks, then
    // completions), then the earliest sleeper, then backup checks (in order, nothing is late).
    let pick = rng ? rng.int(total) : 0;
    if (pick < ready || (pick >= ready + messages && pick < ready + messages + sleeping)) {
      const next = pick < ready ? scheduler.takeReady(pick) : scheduler.takeSleeper(pick - ready - messages);
      await scheduler.runUntilParked(async () => {
        next.wake();
        await next.done();
      });
      continue;
    }
    const message: Message =
      pick >= ready + messages
        ? { check: checks.splice(pick - ready - messages - sleeping, 1)[0]! }
        : (pick -= ready) < h.fanout.pending.length
          ? { task: h.fanout.pending.splice(pick, 1)[0]! }
          : { completion: h.completion.pending.splice(pick - h.fanout.pending.length, 1)[0]! };
    history.push(copy(message));
    if (disorder.drop.includes(step)) continue;
    if (disorder.duplicate.includes(step)) queue(copy(message));
    if ('task' in message) await scheduler.runUntilParked(() => guard(invoke(message.task)));
    else await scheduler.runUntilParked(() => guard(aggregator(message)));
  }
}

/**
 * An invocation's ports that die with it: after a Crash, every store call, publish and send it
 * makes throws Crash too. A Lambda invocation that died makes no more calls; without this, the
 * inline aggregation's fallback (send the completion when the aggregation throws) would survive the
 * crash that interrupted the aggregation.
 */
function mortal<D extends Pick<Harness['deps'], 'store' | 'fanout' | 'completion'>>(deps: D): D {
  let dead = false;
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    if (dead) throw new Crash('the invocation died earlier');
    try {
      return await call();
    } catch (error) {
      if (error instanceof Crash) dead = true;
      throw error;
    }
  };
  const store = new Proxy(deps.store, {
    get: (target, name) => {
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? (...args: unknown[]) => guard(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) : value;
    },
  });
  return {
    ...deps,
    store,
    fanout: { publish: (tasks) => guard(() => deps.fanout.publish(tasks)) },
    completion: { send: (message) => guard(() => deps.completion.send(message)) },
  };
}

function copy(message: Message): Message {
  return JSON.parse(JSON.stringify(message)) as Message;
}
