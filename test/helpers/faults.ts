import type { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { decodeModel, modelToBase64 } from '../../src/protocol/codec.js';
import { recoverJob } from '../../src/protocol/recover.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { checkStragglers } from '../../src/protocol/stragglers.js';
import { type BackupCheck } from '../../src/ports/DelayedChannel.js';
import type { ModelFiles } from '../../src/ports/ModelFiles.js';
import type { CompletionMessage, JobPatch, JobRecord, JobStatus, RoundMetrics, RoundTask } from '../../src/domain/job.js';
import { Rng } from '../../src/util/random.js';
import type { Harness } from './protocol.js';

/*
 * Fault injection for the protocol: a store wrapper that crashes before or after one chosen call,
 * or loses its reply (the client then retries it, as the AWS SDK and ioredis do), and a driver that
 * delivers a job's messages in a chosen disorder (duplicated, dropped, replayed late, forged) with
 * Lambda's and SQS's redelivery of a crashed invocation, and the recovery sweep when nothing is in
 * flight. Its "clock" is the number of steps and sweeps: a run that has not ended within the bound
 * is a hang.
 */

/** A process dying at a chosen point: the driver redelivers the message, as Lambda or SQS would. */
export class Crash extends Error {}

/**
 * A service outside the store refusing a call (S3 down for the model file): the call throws, the
 * invocation goes on to whatever its code does with the error (the inline aggregation's fallback
 * send), and if the invocation fails with it, its event is redelivered. Unlike a Crash, nothing dies.
 */
export class Refused extends Error {}

/** Whether an invocation that failed with `error` is redelivered (a crash, or a refusal it did not handle); anything else is a defect. */
export function redelivered(error: unknown): boolean {
  return error instanceof Crash || error instanceof Refused;
}

/**
 * The model files of finished jobs (the ModelFiles port; S3 on AWS): the chosen writes (1-based,
 * in the order they are made) are refused. Keeps the last record written per job.
 */
export class FaultyModelFiles implements ModelFiles {
  writes = 0;
  refused = 0;
  readonly written = new Map<string, JobRecord>();
  constructor(private readonly fails: readonly number[] = []) {}

  async write(job: JobRecord): Promise<void> {
    if (this.fails.includes(++this.writes)) {
      this.refused++;
      throw new Refused(`model file write ${this.writes} refused (S3 unavailable)`);
    }
    this.written.set(job.jobId, structuredClone(job));
  }
}

export const FAULT_KINDS = ['crash-before', 'crash-after', 'lost-reply'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  /** 1-based index of the store call, counted from when the store is armed. */
  at: number;
  kind: FaultKind;
}

/** Wraps a real store; counts its calls once armed and injects `fault` at the chosen one. */
export class FaultyStore implements StateStore {
  readonly kind: string;
  armed = false;
  calls = 0;
  fault?: Fault;
  /** What the fault hit, once it fired (for failure messages). */
  fired?: string;
  /** Method names of the armed calls, in order. */
  readonly trace: string[] = [];

  constructor(readonly inner: StateStore) {
    this.kind = inner.kind;
  }

  /** Awaited before every call: a driver that runs invocations as coroutines switches between them here. */
  gate?: () => Promise<void>;

  private async call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.gate) await this.gate();
    if (!this.armed) return fn();
    const n = ++this.calls;
    this.trace.push(name);
    if (!this.fault || this.fired || n !== this.fault.at) return fn();
    this.fired = `${this.fault.kind} ${name} (call ${n})`;
    if (this.fault.kind === 'crash-before') throw new Crash(this.fired);
    const first = await fn();
    if (this.fault.kind === 'crash-after') throw new Crash(this.fired);
    // The reply is lost: the client sends the same request again and returns that answer.
    void first;
    return fn();
  }

  createJob(job: JobRecord) {
    return this.call('createJob', () => this.inner.createJob(job));
  }
  getJob(jobId: string) {
    return this.call('getJob', () => this.inner.getJob(jobId));
  }
  updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch) {
    return this.call('updateJob', () => this.inner.updateJob(jobId, expect, patch));
  }
  putModel(jobId: string, round: number, bytes: Uint8Array) {
    return this.call('putModel', () => this.inner.putModel(jobId, round, bytes));
  }
  getModel(jobId: string, round: number) {
    return this.call('getModel', () => this.inner.getModel(jobId, round));
  }
  putModelView(jobId: string, round: number, bytes: Uint8Array) {
    return this.call('putModelView', () => this.inner.putModelView(jobId, round, bytes));
  }
  getModelView(jobId: string, round: number) {
    return this.call('getModelView', () => this.inner.getModelView(jobId, round));
  }
  putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array) {
    return this.call('putPartial', () => this.inner.putPartial(jobId, round, shard, bytes));
  }
  discardPartial(jobId: string, round: number, shard: number) {
    return this.call('discardPartial', () => this.inner.discardPartial(jobId, round, shard));
  }
  clearRound(jobId: string, round: number, shards: number) {
    return this.call('clearRound', () => this.inner.clearRound(jobId, round, shards));
  }
  getPartials(jobId: string, round: number, shards: number, which?: readonly number[]) {
    return this.call('getPartials', () => this.inner.getPartials(jobId, round, shards, which));
  }
  putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array) {
    return this.call('putGroupPartial', () => this.inner.putGroupPartial(jobId, round, group, bytes));
  }
  getGroupPartials(jobId: string, round: number, groups: number) {
    return this.call('getGroupPartials', () => this.inner.getGroupPartials(jobId, round, groups));
  }
  discardGroupPartial(jobId: string, round: number, group: number) {
    return this.call('discardGroupPartial', () => this.inner.discardGroupPartial(jobId, round, group));
  }
  arrive(jobId: string, round: number, shard: number, shards: number) {
    return this.call('arrive', () => this.inner.arrive(jobId, round, shard, shards));
  }
  arrivals(jobId: string, round: number, shards: number) {
    return this.call('arrivals', () => this.inner.arrivals(jobId, round, shards));
  }
  putRoundMetrics(jobId: string, metrics: RoundMetrics) {
    return this.call('putRoundMetrics', () => this.inner.putRoundMetrics(jobId, metrics));
  }
  listRoundMetrics(jobId: string) {
    return this.call('listRoundMetrics', () => this.inner.listRoundMetrics(jobId));
  }
  claim(jobId: string, round: number, shard: number, shards: number, until: number) {
    return this.call('claim', () => this.inner.claim(jobId, round, shard, shards, until));
  }
  release(jobId: string, round: number, shard: number, shards: number, until: number) {
    return this.call('release', () => this.inner.release(jobId, round, shard, shards, until));
  }
  handOver(jobId: string, round: number, shards: number, ended?: boolean, model?: Uint8Array) {
    return this.call('handOver', () => this.inner.handOver(jobId, round, shards, ended, model));
  }
  handedOver(jobId: string, round: number, shard: number, shards: number) {
    return this.call('handedOver', () => this.inner.handedOver(jobId, round, shard, shards));
  }
  /** The suite owns the real store and closes it itself. */
  async close(): Promise<void> {}
}

export const FORGERIES = ['short-model', 'other-model', 'future-model', 'bad-shard', 'bad-shard-count'] as const;
export type Forgery = (typeof FORGERIES)[number];

/** How a run's messages are disturbed; step indices count deliveries. */
export interface Disorder {
  /** Seed of the delivery order (any pending message may go next); 0: in order, tasks first (as `drive`). */
  orderSeed: number;
  /** Steps whose message is delivered and also put back (a duplicate). */
  duplicate: number[];
  /** Steps whose message is lost. */
  drop: number[];
  /** Steps at which an earlier message is delivered again, late (index into the history, modulo). */
  replay: { step: number; pick: number }[];
  /** A forged task published at a step. */
  forge?: { step: number; kind: Forgery };
  /** Steps whose completion is aggregated twice at once, as the invoke trigger allows (no FIFO queue). */
  concurrent?: number[];
  /**
   * Completion sends (1-based, in the order they are made) that fail: the Invoke of the aggregator
   * (or the queue's SendMessage) is refused, and the invocation that sent it fails with the error,
   * so Lambda retries its event.
   */
  sendFails?: number[];
  /** Lingering runs (faults-linger.ts): virtual milliseconds each store call takes (LingerScheduler.tickMs). */
  tickMs?: number;
  /** Model file writes (1-based) that are refused: given to the run's FaultyModelFiles by the suites. */
  modelFileFails?: readonly number[];
}

export const NO_DISORDER: Disorder = { orderSeed: 0, duplicate: [], drop: [], replay: [] };

export interface RunLog {
  steps: number;
  sweeps: number;
  crashes: number;
  /** Backup checks that re-published stragglers. */
  backups: number;
  /** Completion sends refused (Disorder.sendFails). */
  sendsFailed: number;
}

type Message = { task: RoundTask } | { completion: CompletionMessage } | { check: BackupCheck };

/**
 * Delivers `jobId`'s messages until the job ends, under `disorder`. A Crash redelivers the message;
 * any other error is a defect and is thrown. Throws "hang" past `bounds`.
 */
export async function runDisturbed(
  h: Harness,
  container: WorkerContainer,
  jobId: string,
  disorder: Disorder,
  bounds: { steps: number; sweeps: number } = { steps: 400, sweeps: 12 },
): Promise<RunLog> {
  const rng = disorder.orderSeed === 0 ? undefined : new Rng(disorder.orderSeed);
  const history: Message[] = [];
  const log: RunLog = { steps: 0, sweeps: 0, crashes: 0, backups: 0, sendsFailed: 0 };
  const checks = h.delayed?.pending ?? [];
  let sends = 0;
  const deps = {
    ...h.deps,
    completion: {
      send: async (message: CompletionMessage) => {
        if (disorder.sendFails?.includes(++sends)) {
          log.sendsFailed++;
          throw new Crash(`completion send ${sends} failed (round ${message.round})`);
        }
        await h.completion.send(message);
      },
    },
  };
  const queue = (m: Message) => ('task' in m ? h.fanout.pending.push(m.task) : 'completion' in m ? h.completion.pending.push(m.completion) : checks.push(m.check));
  for (let step = 0; ; step++) {
    if (step > bounds.steps) throw new Error(`hang: job ${jobId} had not ended after ${bounds.steps} deliveries`);
    if (disorder.forge?.step === step) forge(h, jobId, disorder.forge.kind);
    const replay = disorder.replay.find((r) => r.step === step);
    if (replay && history.length > 0) queue(copy(history[replay.pick % history.length]!));

    const total = h.fanout.pending.length + h.completion.pending.length + checks.length;
    if (total === 0) {
      // The driver's own look at the job (is it over?) is not a protocol call: no fault there.
      const job = await (h.store instanceof FaultyStore ? h.store.inner : h.store).getJob(jobId);
      if (job && (job.status === 'SUCCEEDED' || job.status === 'FAILED')) return log;
      if (++log.sweeps > bounds.sweeps) throw new Error(`hang: job ${jobId} still ${job?.status} at round ${job?.round} after ${bounds.sweeps} sweeps`);
      await recoverJob(deps, jobId).catch(crashOr(undefined));
      continue;
    }
    log.steps++;
    const pick = rng ? rng.int(total) : 0;
    const tasks = h.fanout.pending.length;
    const completions = h.completion.pending.length;
    const message: Message =
      pick < tasks
        ? { task: h.fanout.pending.splice(pick, 1)[0]! }
        : pick < tasks + completions
          ? { completion: h.completion.pending.splice(pick - tasks, 1)[0]! }
          : { check: checks.splice(pick - tasks - completions, 1)[0]! };
    history.push(copy(message));
    if (disorder.drop.includes(step)) continue;
    if (disorder.duplicate.includes(step)) queue(copy(message));
    if ('completion' in message && disorder.concurrent?.includes(step)) {
      // Two aggregations of the same completion at once: each crash redelivers its copy.
      const settled = await Promise.allSettled([aggregate(deps, message.completion), aggregate(deps, (copy(message) as { completion: CompletionMessage }).completion)]);
      for (const s of settled) {
        if (s.status === 'fulfilled') continue;
        if (!redelivered(s.reason)) throw s.reason;
        log.crashes++;
        queue(copy(message));
      }
      continue;
    }
    try {
      if ('task' in message) await runWorker(deps, container, message.task);
      else if ('completion' in message) await aggregate(deps, message.completion);
      else if ((await checkStragglers(deps, message.check)).action === 'backups') log.backups++;
    } catch (error) {
      if (!redelivered(error)) throw error;
      log.crashes++;
      queue(message);
    }
  }
}

function crashOr<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (redelivered(error)) return value;
    throw error;
  };
}

function copy(message: Message): Message {
  return JSON.parse(JSON.stringify(message)) as Message;
}

/** "BSV1": the magic of a model's view (src/protocol/modelView.ts), which a shifted model keeps with the rest of its header. */
const VIEW_MAGIC = 0x31565342;

/** The model (or view) with every value moved by 0.5: the right length and layout, the wrong values. */
function shiftedModel(bytes: Buffer): string {
  const head = bytes.byteLength >= 16 && bytes.readUInt32LE(0) === VIEW_MAGIC ? 16 + 8 * bytes.readUInt32LE(8) : 0;
  const values = decodeModel(new Uint8Array(bytes.subarray(head))).map((v) => v + 0.5);
  return head === 0 ? modelToBase64(values) : Buffer.concat([bytes.subarray(0, head), Buffer.from(values.buffer)]).toString('base64');
}

/** Publishes a forged task modelled on the job's latest real one. */
export function forge(h: Harness, jobId: string, kind: Forgery): void {
  const real = h.fanout.published.filter((t) => t.jobId === jobId).at(-1);
  if (!real) return;
  const shifted = (task: RoundTask) => (task.model === undefined ? undefined : shiftedModel(Buffer.from(task.model, 'base64')));
  const forged: Record<Forgery, RoundTask> = {
    'short-model': { ...real, model: Buffer.alloc(8).toString('base64') },
    'other-model': { ...real, model: shifted(real) },
    'future-model': { ...real, round: real.round + 1, model: shifted(real) },
    'bad-shard': { ...real, shard: real.shards },
    'bad-shard-count': { ...real, shards: real.shards + 1, shard: real.shards },
  };
  h.fanout.pending.push(forged[kind]);
}
