import { availableParallelism } from 'node:os';
import { InFlight, InProcessChannel, type DeliveryPolicy } from '../events/InProcessChannel.js';
import { MissingStateError, SpecError, type StoreError } from '../errors.js';
import type { Completion } from '../ports/Completion.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import type { Fanout } from '../ports/Fanout.js';
import type { StateStore } from '../ports/StateStore.js';
import { aggregate, type AggregateOutcome } from '../protocol/aggregate.js';
import type { ProtocolDeps } from '../protocol/deps.js';
import { failJob } from '../protocol/failJob.js';
import { recoverJob } from '../protocol/recover.js';
import { runLingering } from '../protocol/linger.js';
import { parseJobSpec } from '../domain/spec.js';
import { startJob } from '../protocol/startJob.js';
import type { CompletionMessage, JobRecord, RoundMetrics, RoundTask } from '../domain/job.js';
import { addIo, metered, type IoCounts } from '../util/io-meter.js';
import { ContainerPool } from './ContainerPool.js';
import { jobOutcome, type JobOutcome } from './outcome.js';
import { storeUnreachable } from './unreachable.js';

export interface LocalRuntimeOptions {
  store: StateStore;
  datasets: DatasetSource;
  /** Most worker containers alive at once (Lambda's reserved concurrency). Default 32. */
  concurrency?: number;
  /** Memory of each worker container in MB (Lambda's memory setting), which bounds its shard cache. Default 10,240. */
  containerMemoryMb?: number;
  /** Inner threads of a container when the spec names none. Default: available parallelism. */
  defaultThreads?: number;
  /** Tries per message before the job is FAILED (Lambda's async invoke: 1 + 2 retries). Default 3. */
  maxAttempts?: number;
  delivery?: DeliveryPolicy;
  /** Called after each aggregated training round (not the preparation round). */
  onRound?: (metrics: RoundMetrics, job: JobRecord) => void;
}

export interface TrainOutcome extends JobOutcome {
  wallMs: number;
  startMs: number;
  /** Bytes between workers and their threads during this job (models out, partials back). */
  threadTraffic: { toThreads: number; fromThreads: number };
  /** Worker invocations, and with `sync: 'linger'` what their waits came to (summed over invocations). */
  workers?: LingerTally;
}

export interface LingerTally {
  invocations: number;
  /** Rounds computed by workers that waited for them (not published to them). */
  lingeredRounds: number;
  claims: number;
  released: number;
  waitedMs: number;
}

interface Waiter {
  resolve: (job: JobRecord) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the protocol in one process: an in-process fan-out and completion queue, worker
 * invocations in warm-reusable containers (each with its own thread pool), one aggregator at a
 * time (as an SQS FIFO message group). The protocol code is the same the Lambda handlers run.
 */
export class LocalRuntime {
  private readonly store: StateStore;
  private readonly datasets: DatasetSource;
  private readonly containers: ContainerPool;
  private readonly defaultThreads: number;
  private readonly maxAttempts: number;
  private readonly inFlight = new InFlight(() => void this.onIdle());
  private readonly workerChannel: InProcessChannel<RoundTask>;
  private readonly aggregatorChannel: InProcessChannel<CompletionMessage>;
  private readonly deps: ProtocolDeps;
  private readonly waiters = new Map<string, Waiter>();
  private readonly io = new Map<string, Map<number, IoCounts>>();
  private aggregating: Promise<void> = Promise.resolve();
  private readonly threadsByJob = new Map<string, number>();
  private readonly tallies = new Map<string, LingerTally>();
  private readonly concurrency: number;
  private readonly containerMemoryMb: number;
  private sweeping = false;
  private sweepAgain = false;
  private readonly onRound?: LocalRuntimeOptions['onRound'];

  constructor(options: LocalRuntimeOptions) {
    this.store = options.store;
    this.datasets = options.datasets;
    this.concurrency = options.concurrency ?? 32;
    this.containerMemoryMb = options.containerMemoryMb ?? 10_240;
    this.containers = new ContainerPool(this.concurrency, options.containerMemoryMb);
    this.defaultThreads = options.defaultThreads ?? availableParallelism();
    this.maxAttempts = options.maxAttempts ?? 3;
    this.onRound = options.onRound;
    this.workerChannel = new InProcessChannel('worker', (task) => this.invokeWorker(task), this.inFlight, options.delivery);
    this.aggregatorChannel = new InProcessChannel('aggregator', (message) => this.invokeAggregator(message), this.inFlight, options.delivery);
    const fanout: Fanout = { publish: async (tasks) => tasks.forEach((task) => this.workerChannel.send(task)) };
    const completion: Completion = { send: async (message) => this.aggregatorChannel.send(message) };
    // Sub-millisecond epoch time: local rounds are short enough that Date.now() would blur them.
    const now = () => performance.timeOrigin + performance.now();
    this.deps = { store: this.store, datasets: this.datasets, fanout, completion, now };
  }

  /** Starts a job and resolves when it has SUCCEEDED; rejects with the validation or failure reason. */
  async train(spec: unknown, options: { jobId?: string } = {}): Promise<TrainOutcome> {
    const started = performance.now();
    this.checkLinger(spec);
    const traffic0 = this.threadTraffic();
    const { value: job, io: startIo } = await metered(() => startJob(this.deps, { jobId: options.jobId, spec }));
    const startMs = performance.now() - started;
    const done = await new Promise<JobRecord>((resolve, reject) => {
      this.waiters.set(job.jobId, { resolve, reject });
      if (this.inFlight.size === 0) void this.onIdle();
    });
    const wallMs = performance.now() - started;
    const traffic1 = this.threadTraffic();
    const ioByRound = this.io.get(job.jobId) ?? new Map<number, IoCounts>();
    this.io.delete(job.jobId);
    this.threadsByJob.delete(job.jobId);
    const workers = this.tallyOf(job.jobId);
    this.tallies.delete(job.jobId);
    return {
      workers,
      ...(await jobOutcome(this.store, job.jobId, done, startIo, ioByRound)),
      wallMs,
      startMs,
      threadTraffic: { toThreads: traffic1.toThreads - traffic0.toThreads, fromThreads: traffic1.fromThreads - traffic0.fromThreads },
    };
  }

  async close(): Promise<void> {
    await this.containers.close();
  }

  /**
   * Lingering workers hold their containers while they wait: with fewer containers than shards, the
   * shards left without one would wait for the lingerers' budgets, round after round. Refused.
   */
  private checkLinger(spec: unknown): void {
    let parsed;
    try {
      parsed = parseJobSpec(spec);
    } catch {
      return; // startJob reports it, as for any job
    }
    if (parsed.sync === 'linger' && parsed.workers > this.concurrency) {
      throw new SpecError(`--sync linger needs a container per worker: --concurrency ${this.concurrency} is below --workers ${parsed.workers} (raise --concurrency)`, 'concurrency');
    }
  }

  private threadTraffic() {
    const total = { toThreads: 0, fromThreads: 0 };
    for (const c of this.containers.containers()) {
      total.toThreads += c.pool.traffic.toThreads;
      total.fromThreads += c.pool.traffic.fromThreads;
    }
    return total;
  }

  private async invokeWorker(task: RoundTask): Promise<void> {
    await this.withRetries(task.jobId, `worker for shard ${task.shard} of round ${task.round}`, async () => {
      // The container size is the job's thread count: read the job once, not once per task (inside
      // the retries: a store that fails here is handled as anywhere else, never an unhandled rejection).
      let threads = this.threadsByJob.get(task.jobId);
      if (threads === undefined) {
        const job = await this.store.getJob(task.jobId);
        threads = (job?.kind === 'predict' ? undefined : job?.spec.threads) ?? this.defaultThreads;
        this.threadsByJob.set(task.jobId, threads);
      }
      const container = await this.containers.acquire(task.jobId, task.shard, threads);
      try {
        // A lingering worker keeps its container (as a Lambda invocation keeps its environment) for
        // the rounds it waits for; the store I/O of each round is counted with that round.
        const run = await runLingering(this.deps, container, task, {
          memoryMb: this.containerMemoryMb,
          inline: true,
          onAggregated: (message, outcome) => this.reportRound(message, outcome),
          around: async (round, fn) => {
            const { value, io } = await metered(fn);
            this.addIo(task.jobId, round, io);
            return value;
          },
        });
        const tally = this.tallyOf(task.jobId);
        tally.invocations++;
        tally.lingeredRounds += run.handed;
        tally.claims += run.claims;
        tally.released += run.released;
        tally.waitedMs += run.waitedMs;
      } finally {
        await this.containers.release(container);
      }
    });
  }

  private invokeAggregator(message: CompletionMessage): Promise<void> {
    // One aggregation at a time, in arrival order: what an SQS FIFO message group gives on AWS.
    const run = this.aggregating.then(() =>
      this.withRetries(message.jobId, `aggregator for round ${message.round}`, async () => {
        const { value: outcome, io } = await metered(() => aggregate(this.deps, message));
        this.addIo(message.jobId, message.round, io);
        await this.reportRound(message, outcome);
      }),
    );
    this.aggregating = run.catch(() => undefined);
    return run;
  }

  /** Reports an aggregated round to `onRound` (the aggregator's or a lingering worker's inline aggregation). */
  private async reportRound(message: CompletionMessage, outcome: AggregateOutcome): Promise<void> {
    if ((outcome.status === 'advanced' || outcome.status === 'finished') && this.onRound) {
      const job = await this.store.getJob(message.jobId);
      if (job) this.onRound(outcome.metrics, job);
    }
  }

  /** Lambda-like retries; the last failure FAILS the job (what an on-failure destination does on AWS). */
  private async withRetries(jobId: string, what: string, fn: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (storeUnreachable(error)) return this.abandon(jobId, error);
        if (attempt < this.maxAttempts) continue;
        const reason = `${what} failed after ${attempt} attempts: ${error instanceof Error ? error.message : String(error)}`;
        await failJob(this.store, jobId, reason).catch(() => undefined);
        return;
      }
    }
  }

  /** The store stopped answering: the job's caller gets the store's error now (it cannot be recorded there). */
  private abandon(jobId: string, error: StoreError): void {
    const waiter = this.waiters.get(jobId);
    this.waiters.delete(jobId);
    waiter?.reject(error);
  }

  private tallyOf(jobId: string): LingerTally {
    let tally = this.tallies.get(jobId);
    if (!tally) this.tallies.set(jobId, (tally = { invocations: 0, lingeredRounds: 0, claims: 0, released: 0, waitedMs: 0 }));
    return tally;
  }

  private addIo(jobId: string, round: number, io: IoCounts): void {
    let rounds = this.io.get(jobId);
    if (!rounds) this.io.set(jobId, (rounds = new Map()));
    let counts = rounds.get(round);
    if (!counts) rounds.set(round, (counts = { requests: 0, bytesWritten: 0, bytesRead: 0 }));
    addIo(counts, io);
  }

  /**
   * Nothing in flight: every waiting job has either ended or lost a message. Ended jobs are
   * handed back; the others get a recovery sweep, as a scheduled sweep would on AWS.
   */
  private async onIdle(): Promise<void> {
    // Idle can be signalled again while a sweep is awaiting the store: run one sweep at a time.
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    try {
      do {
        this.sweepAgain = false;
        await this.sweep();
      } while (this.sweepAgain);
    } finally {
      this.sweeping = false;
    }
  }

  private async sweep(): Promise<void> {
    for (const [jobId, waiter] of [...this.waiters]) {
      try {
        const job = await this.store.getJob(jobId);
        if (!job || job.status === 'SUCCEEDED' || job.status === 'FAILED') {
          this.waiters.delete(jobId);
          if (job) waiter.resolve(job);
          else {
            // Not a bug of ours: the store lost the job (a Redis restarted without persistence, a
            // flushed database, a deleted table). Said in one line, as any bad environment is.
            waiter.reject(new MissingStateError(`job ${jobId} is no longer in the ${this.store.kind} state store: was it restarted, flushed or cleared while the job ran?`));
          }
          continue;
        }
        if (this.inFlight.size > 0) continue;
        const { io } = await metered(() => recoverJob(this.deps, jobId));
        this.addIo(jobId, job.round, io);
        // Re-published messages may be lost again: then nothing will signal idle, so sweep again.
        if (this.inFlight.size === 0) this.sweepAgain = true;
      } catch (error) {
        this.waiters.delete(jobId);
        waiter.reject(error);
      }
    }
  }
}
