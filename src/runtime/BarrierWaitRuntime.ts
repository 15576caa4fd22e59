import { availableParallelism } from 'node:os';
import type { Container, PartialThreads } from '../ports/Container.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import type { StateStore } from '../ports/StateStore.js';
import { aggregate } from '../protocol/aggregate.js';
import type { ProtocolDeps } from '../protocol/deps.js';
import { failJob } from '../protocol/failJob.js';
import { runWorker } from '../protocol/runWorker.js';
import { startJob } from '../protocol/startJob.js';
import type { JobRecord, RoundMetrics, RoundTask } from '../domain/job.js';
import { sleep } from '../util/async.js';
import { addIo, metered, type IoCounts } from '../util/io-meter.js';
import { ContainerPool } from './ContainerPool.js';
import { jobOutcome } from './outcome.js';
import type { TrainOutcome } from './LocalRuntime.js';

export interface BarrierWaitOptions {
  store: StateStore;
  datasets: DatasetSource;
  /** Inner threads of a worker when the spec names none. Default: available parallelism. */
  defaultThreads?: number;
  /** First and longest pause between two polls of the job record (ms). Default 1 and 20. */
  pollMs?: { first: number; max: number };
  onRound?: (metrics: RoundMetrics, job: JobRecord) => void;
  /** Time and waiting (the simulator passes its virtual clock). Default: the real ones. */
  clock?: Clock;
  /** Where workers run (the simulator passes simulated Lambda environments). Default: a ContainerPool of W. */
  containers?: (workers: number) => Containers;
}

export interface Clock {
  /** Epoch-like milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A container whose threads count the bytes moved to and from them (the outcome reports them). */
export type CountedContainer = Container & { readonly pool: PartialThreads & { readonly traffic: { toThreads: number; fromThreads: number } } };

export interface Containers {
  acquire(jobId: string, shard: number, threads: number): Promise<CountedContainer>;
  release(container: CountedContainer): Promise<void>;
  close(): Promise<void>;
}

const REAL_CLOCK: Clock = { now: () => performance.timeOrigin + performance.now(), sleep };

/** What the barrier-wait design adds to a run's outcome: the time its workers were billed for waiting. */
export interface BarrierWaitOutcome extends TrainOutcome {
  sync: 'barrier-wait';
  /** Summed over workers: time alive (what Lambda bills) and time spent polling at the barrier. */
  workerMs: number;
  waitMs: number;
  polls: number;
}

/**
 * The design of Predoaia & García-López, "Leveraging Intra-Function Parallelism in Serverless
 * Machine Learning" (WoSC 2023), run on our protocol pieces: W workers are started once and stay
 * alive for the whole job. Each round every worker runs `runWorker` (compute, write its partial,
 * arrive at the store's barrier); the filling arrival, instead of sending a completion, runs
 * `aggregate` itself (merge in shard order, update, advance the job); the others poll the job
 * record until the round advances — the barrier's release — and read the new model from the store.
 * The partials, the merge order and the update are the event-driven path's, so the model is the
 * same bit for bit; what differs is that every worker is billed while it waits.
 */
export class BarrierWaitRuntime {
  private readonly store: StateStore;
  private readonly datasets: DatasetSource;
  private readonly defaultThreads: number;
  private readonly pollMs: { first: number; max: number };
  private readonly onRound?: BarrierWaitOptions['onRound'];
  private containers?: Containers;
  private readonly clock: Clock;
  private readonly makeContainers: (workers: number) => Containers;
  private readonly now: () => number;

  constructor(options: BarrierWaitOptions) {
    this.store = options.store;
    this.datasets = options.datasets;
    this.defaultThreads = options.defaultThreads ?? availableParallelism();
    this.pollMs = options.pollMs ?? { first: 1, max: 20 };
    this.onRound = options.onRound;
    this.clock = options.clock ?? REAL_CLOCK;
    this.now = () => this.clock.now();
    this.makeContainers = options.containers ?? ((workers) => new ContainerPool(Math.max(1, workers)));
  }

  async train(spec: unknown, options: { jobId?: string } = {}): Promise<BarrierWaitOutcome> {
    const started = this.now();
    const first: RoundTask[] = [];
    const startDeps = this.deps(async (tasks) => void first.push(...tasks), async () => undefined);
    const { value: job, io: startIo } = await metered(() => startJob(startDeps, { jobId: options.jobId, spec }));
    const startMs = this.now() - started;

    // All W workers must be alive at once (they wait for each other): one container each.
    const threads = job.spec.threads ?? this.defaultThreads;
    const pool = (this.containers ??= this.makeContainers(first.length));
    const ioByRound = new Map<number, IoCounts>();
    const totals = { workerMs: 0, waitMs: 0, polls: 0 };
    const containers = await Promise.all(first.map((task) => pool.acquire(task.jobId, task.shard, threads)));
    try {
      await Promise.all(first.map((task, i) => this.workerLoop(containers[i]!, task, ioByRound, totals)));
    } finally {
      await Promise.all(containers.map((c) => pool.release(c)));
    }

    const done = await this.store.getJob(job.jobId);
    const wallMs = this.now() - started;
    const traffic = containers.reduce((t, c) => ({ toThreads: t.toThreads + c.pool.traffic.toThreads, fromThreads: t.fromThreads + c.pool.traffic.fromThreads }), { toThreads: 0, fromThreads: 0 });
    return {
      sync: 'barrier-wait',
      ...(await jobOutcome(this.store, job.jobId, done, startIo, ioByRound)),
      wallMs,
      startMs,
      threadTraffic: traffic,
      ...totals,
    };
  }

  async close(): Promise<void> {
    await this.containers?.close();
  }

  /** One long-lived worker: round after round until the job ends. A failure fails the job. */
  private async workerLoop(container: Container, task: RoundTask, ioByRound: Map<number, IoCounts>, totals: { workerMs: number; waitMs: number; polls: number }): Promise<void> {
    const alive = this.now();
    let current = task;
    try {
      for (;;) {
        let filled = false;
        // Later rounds' fan-out has no one to go to: the workers are already running.
        const deps = this.deps(async () => undefined, async () => void (filled = true));
        const { io } = await metered(async () => {
          await runWorker(deps, container, current);
          if (filled) {
            const outcome = await aggregate(deps, { jobId: current.jobId, round: current.round });
            if ((outcome.status === 'advanced' || outcome.status === 'finished') && this.onRound) {
              const job = await this.store.getJob(current.jobId);
              if (job) this.onRound(outcome.metrics, job);
            }
          }
        });
        add(ioByRound, current.round, io);

        const waitStart = this.now();
        const { value: job, io: pollIo } = await metered(() => this.waitForRelease(current, totals));
        add(ioByRound, current.round, pollIo);
        totals.waitMs += this.now() - waitStart;
        if (!job || job.status !== 'RUNNING') return;
        current = { jobId: current.jobId, round: job.round, shard: current.shard, shards: current.shards };
      }
    } catch (error) {
      await failJob(this.store, current.jobId, `worker for shard ${current.shard} of round ${current.round} failed: ${error instanceof Error ? error.message : String(error)}`).catch(() => undefined);
    } finally {
      totals.workerMs += this.now() - alive;
    }
  }

  /** Polls the job record until it leaves `task.round` (advanced or ended), backing off to `pollMs.max`. */
  private async waitForRelease(task: RoundTask, totals: { polls: number }): Promise<JobRecord | undefined> {
    let pause = this.pollMs.first;
    for (;;) {
      totals.polls++;
      const job = await this.store.getJob(task.jobId);
      if (!job || job.status !== 'RUNNING' || job.round > task.round) return job;
      await this.clock.sleep(pause);
      pause = Math.min(this.pollMs.max, pause * 1.5);
    }
  }

  private deps(publish: (tasks: RoundTask[]) => Promise<void>, send: () => Promise<void>): ProtocolDeps {
    return { store: this.store, datasets: this.datasets, fanout: { publish }, completion: { send }, now: this.now };
  }
}

function add(byRound: Map<number, IoCounts>, round: number, io: IoCounts): void {
  let counts = byRound.get(round);
  if (!counts) byRound.set(round, (counts = { requests: 0, bytesWritten: 0, bytesRead: 0 }));
  addIo(counts, io);
}
