import type { Shape } from '../algorithms/index.js';
import { solverOf } from '../algorithms/logreg/index.js';
import { multinomialSolverOf } from '../algorithms/logreg/multinomial.js';
import type { LogregSolver } from '../domain/spec.js';
import { PRICES } from '../costs/prices.js';
import { aggregate } from '../protocol/aggregate.js';
import type { ProtocolDeps } from '../protocol/deps.js';
import { failJob } from '../protocol/failJob.js';
import { recoverJob } from '../protocol/recover.js';
import { startJob } from '../protocol/startJob.js';
import type { CompletionMessage, JobRecord, RoundMetrics, RoundTask } from '../domain/job.js';
import { BarrierWaitRuntime, type Containers, type CountedContainer } from '../runtime/BarrierWaitRuntime.js';
import { VirtualClock } from './clock.js';
import { SimContainer } from './container.js';
import { Host } from './cpu.js';
import { SimDatasetSource, type SimData } from './data.js';
import { LambdaFunction } from './lambda.js';
import type { Profile } from './profile.js';
import { Services, type Counters } from './services.js';
import { SimStore, type DynamoLayout, type SimBackend } from './store.js';
import { simulatedWorker } from './linger.js';
import { checkStragglers } from '../protocol/stragglers.js';
import { type BackupCheck } from '../ports/DelayedChannel.js';

/** event: ours; linger: ours with workers that wait for the next round (src/sim/linger.ts); barrier-wait: WoSC'23's. */
export type SyncDesign = 'event' | 'linger' | 'barrier-wait';
export const SYNC_DESIGNS: readonly SyncDesign[] = ['event', 'linger', 'barrier-wait'];
/** How the filling arrival reaches the aggregator: an SQS FIFO message, or a direct Lambda Invoke. */
export type Trigger = 'sqs' | 'invoke';
export const TRIGGERS: readonly Trigger[] = ['sqs', 'invoke'];

export interface SimConfig {
  algorithm: 'kmeans' | 'logreg';
  rows: number;
  dims: number;
  k?: number;
  /** Logistic regression's solver (default: as `bspml train` picks it, Newton up to 1,000 columns). */
  solver?: LogregSolver;
  /** Multinomial logistic regression: its C > 2 classes (labels 0..C−1), solved by L-BFGS or GIANT; absent: two classes. */
  classes?: number;
  workers: number;
  threads: number;
  /** Worker function memory (MB). */
  memoryMb: number;
  rounds: number;
  backend: SimBackend;
  sync: SyncDesign;
  /** With sync linger: the workers' budget (ms); absent: the default priced per job (src/protocol/lingerBudget.ts). */
  lingerMs?: number;
  layout?: DynamoLayout;
  /** The event design's aggregator trigger (default sqs, the deployed one). */
  trigger?: Trigger;
  seed?: number;
  /** How the aggregator gets the partials (the spec's `merge`; default auto). */
  merge?: 'auto' | 'tree' | 'flat';
  /** Backup tasks for stragglers (src/protocol/stragglers.ts). */
  backup?: boolean;
}

export interface SimResult {
  config: SimConfig & { vcpus: number; profile: string; routing: string };
  wallSeconds: number;
  rounds: number;
  roundSeconds: { p50: number; p99: number; mean: number };
  /** Round times in order (s), from the rounds' own records (publish to aggregation). */
  roundTimes: number[];
  billedGbSeconds: { total: number; byFunction: Record<string, number>; waiting: number };
  invocations: Record<string, number>;
  coldStarts: Record<string, number>;
  requests: { total: number; byOperation: Record<string, number> };
  throttled: { total: number; byOperation: Record<string, number> };
  costUsd: { total: number; lambda: number; dynamodb: number; s3: number; sns: number; sqs: number; elasticache: number };
  /**
   * Worker shard requests served from the environment's cache (`hits`) or loaded from S3
   * (`loads`, each billed: its GET requests, its transfer time in the invocation's GB-s), of
   * which `reloads` are of a shard loaded before (the task landed on another environment).
   * `hitRate` = hits / (hits + reloads): of the requests that a warm cache could have served, the
   * share it did (each shard's first load, which nothing can avoid, left out).
   */
  shardCache: { hits: number; loads: number; reloads: number; hitRate: number };
  /** Partials read by whoever merges them (bytes, whole job) and the CPU time of merging them (ms). */
  mergeCompute: { bytes: number; ms: number };
  /** Mean bytes the aggregator read per training round (all partials, or the tree's group partials). */
  aggregatorReadBytesPerRound: number;
  /**
   * The job's wall time and billed Lambda GB-s by phase: `start` (until the preparation round is
   * published), `prepare` (the preparation round: shard loads and summaries, up to its
   * aggregation), `training` (the training rounds), `end` (after the last aggregation). GB-s are
   * the billed stretches of every function cut at the phases' edges.
   */
  phases: Record<'start' | 'prepare' | 'training' | 'end', { seconds: number; gbSeconds: number }>;
  events: number;
  status: string;
  error?: string;
}

/** Thread-ms per row for a shape: the calibration's figure (see calibrate.ts). */
export type MsPerRow = (shape: Shape) => number;

const RECOVERY_SWEEP_MS = 5 * 60_000;

/** The shape a simulated job computes with: what the calibration must time, solver included. */
export function simShape(config: Pick<SimConfig, 'algorithm' | 'dims' | 'k' | 'solver' | 'classes'>): Shape {
  if (config.algorithm === 'kmeans') return { algorithm: 'kmeans', dims: config.dims, k: config.k ?? 8 };
  if (config.classes !== undefined) return { algorithm: 'logreg', dims: config.dims, k: 1, solver: multinomialSolverOf(config), classes: config.classes };
  return { algorithm: 'logreg', dims: config.dims, k: 1, solver: solverOf(config, config.dims) };
}

/**
 * Runs one job under the virtual clock through the real protocol: `startJob` in a start function,
 * `runWorker` in worker functions fed by a simulated SNS, `aggregate` in an aggregator fed by a
 * simulated SQS FIFO queue (one at a time), `recoverJob` when everything has gone quiet; or, for
 * `barrier-wait`, the real BarrierWaitRuntime with its workers held in worker functions for the
 * whole job. The state lives in a memory store behind SimStore, which makes the named backend's
 * requests first; compute takes the calibrated time of the shard's rows.
 */
export async function simulate(config: SimConfig, profile: Profile, msPerRow: MsPerRow): Promise<SimResult> {
  const clock = new VirtualClock();
  const services = new Services(clock, profile, config.seed ?? 1);
  const store = new SimStore(services, config.backend, config.layout ?? 'spread');
  const k = config.k ?? 8;
  const data: SimData = { algorithm: config.algorithm, rows: config.rows, dims: config.dims, k, rowBytes: 4 * (config.dims + (config.algorithm === 'logreg' ? 1 : 0)), ...(config.classes !== undefined ? { classes: config.classes } : {}) };
  const readMs = (bytes: number): number => {
    if (profile.lambda.sharedHost.value) return services.transferMs(bytes);
    services.counters.s3Gets += Math.max(1, Math.ceil(bytes / (64 * 1024 * 1024)));
    // Ranged GETs, one connection per inner thread (assumption: each thread reads its rows), all
    // of them within the function's own network cap.
    const mbps = Math.min(config.threads * profile.lambda.networkMBps.value, profile.lambda.functionNetworkMBps.value);
    return services.sample(profile.s3.firstByteMs, 'load') + (bytes / (mbps * 1e6)) * 1000;
  };
  // Whoever aggregates merges the partials it read: algorithm.merge's calibrated CPU time per byte,
  // on one vCPU of its function.
  store.onPartialsRead = async (bytes: number) => {
    const ms = (bytes * profile.lambda.mergeNsPerByte.value) / 1e6 / profile.lambda.cpuSpeed.value;
    services.counters.merge.bytes += bytes;
    services.counters.merge.ms += ms;
    await clock.sleep(ms);
  };
  const datasets = new SimDatasetSource(data, config.workers, clock, readMs, config.seed ?? 1);
  const sharedHost = profile.lambda.sharedHost.value ? new Host(clock, profile.lambda.hostCores.value) : undefined;
  const account = { active: 0, limit: profile.lambda.accountConcurrency.value, waiting: [] as (() => void)[] };
  const makeContainer = (host: Host) =>
    new SimContainer(config.threads, clock, host, msPerRow, datasets.sample, (s) => datasets.virtualRows(s.shard, s.shards), profile.threadRoundTripMs.value, profile.lambda.threadStartMs.value, services.counters.shardCache);
  const workerFn = new LambdaFunction(services, 'worker', config.memoryMb, makeContainer, account, sharedHost);
  const smallMb = profile.lambda.aggregatorMemoryMb.value;
  const aggregatorFn = new LambdaFunction(services, 'aggregator', smallMb, () => undefined, account, sharedHost);
  const startFn = new LambdaFunction(services, 'start', smallMb, () => undefined, account, sharedHost);

  const spec = {
    algorithm: config.algorithm,
    ...(config.algorithm === 'kmeans' ? { k } : { lr: 0.05, solver: simShape(config).solver }),
    workers: config.workers,
    threads: config.threads,
    maxRounds: config.rounds,
    // tol 0: run the rounds asked for (the simulated partials keep the model moving).
    tol: 0,
    seed: config.seed ?? 1,
    ...(config.merge ? { merge: config.merge } : {}),
    data: { uri: 'simulated', ...(config.algorithm === 'logreg' ? { labelColumn: 'last' } : {}) },
    ...(config.sync === 'linger' ? { sync: 'linger', ...(config.lingerMs !== undefined ? { lingerMs: config.lingerMs } : {}) } : {}),
  };

  let job: JobRecord | undefined;
  let failure: string | undefined;
  let endedAt = 0;
  if (config.sync === 'event' || config.sync === 'linger') {
    let aggregating: Promise<unknown> = Promise.resolve();
    const deps: ProtocolDeps = {
      store,
      datasets,
      now: () => clock.now(),
      fanout: {
        publish: async (tasks: RoundTask[]) => {
          services.counters.snsPublishes += tasks.length;
          for (const task of tasks) clock.at(clock.now() + services.sample(profile.events.snsToLambdaMs, 'delivery'), () => void invokeWorker(task, 1));
        },
      },
      ...(config.backup
        ? {
            delayed: {
              // A delayed message (an SQS delay queue on AWS) to the aggregator function, which runs the check.
              send: async (check: BackupCheck, delayMs: number) => {
                services.counters.sqsRequests += 3;
                clock.at(clock.now() + delayMs + services.sample(profile.events.sqsFifoToLambdaMs), () => {
                  void aggregatorFn.invoke(() => checkStragglers(deps, check)).catch((e: unknown) => fail(e));
                });
              },
            },
          }
        : {}),
      completion: {
        send: async (message: CompletionMessage) => {
          if (config.trigger === 'invoke') {
            // A direct asynchronous Invoke (src/aws/LambdaCompletion.ts): no queue, so duplicate
            // aggregations may overlap (exactly-once through the job's conditional advance).
            // Latency: the profile's invokeToLambdaMs (an assumption; see profile.ts).
            services.counters.lambdaInvokes++;
            clock.at(clock.now() + services.sample(profile.events.invokeToLambdaMs), () => {
              void aggregatorFn.invoke(() => aggregate(deps, message)).catch((e: unknown) => fail(e));
            });
            return;
          }
          services.counters.sqsRequests += 3; // send, receive, delete
          clock.at(clock.now() + services.sample(profile.events.sqsFifoToLambdaMs), () => {
            // One aggregation at a time per job: an SQS FIFO message group.
            aggregating = aggregating.then(() => aggregatorFn.invoke(() => aggregate(deps, message)).catch((e: unknown) => fail(e)));
          });
        },
      },
    };
    const fail = async (error: unknown) => {
      failure = error instanceof Error ? error.message : String(error);
      if (job) await failJob(store, job.jobId, failure).catch(() => undefined);
    };
    const work = simulatedWorker(config.sync, deps, clock, config.memoryMb);
    const invokeWorker = async (task: RoundTask, attempt: number): Promise<void> => {
      try {
        await workerFn.invoke(
          (env, billed) => work(env.context, task, billed),
          (env) => env.context.hasShard(task.jobId, task.shard),
        );
      } catch (error) {
        // Lambda retries an asynchronous invocation twice (after about a minute, then two).
        if (attempt < 3) clock.at(clock.now() + 60_000 * attempt, () => void invokeWorker(task, attempt + 1));
        else await fail(error);
      }
    };
    // The user's request reaches the start function (`bspml submit` invokes it) after an Invoke's
    // latency, as barrier-wait's driver reaches its workers below: both designs pay the hop.
    const started = clock
      .sleep(services.sample(profile.events.invokeToLambdaMs, 'submit'))
      .then(() => startFn.invoke(() => startJob(deps, { spec })))
      .then((j) => (job = j));
    await clock.run({
      onIdle: async () => {
        const now = job ? await store.peekJob(job.jobId) : undefined;
        if (now?.status !== 'RUNNING') {
          endedAt = endedAt || clock.now();
          return;
        }
        // Nothing in flight but the job is not done: the scheduled sweep finds it.
        clock.at(clock.now() + RECOVERY_SWEEP_MS, () => void recoverJob(deps, now.jobId));
      },
    });
    await started.catch((e: unknown) => (failure ??= e instanceof Error ? e.message : String(e)));
  } else {
    const containers: Containers = longLivedWorkers(workerFn, () => services.sample(profile.events.invokeToLambdaMs, 'delivery'));
    const runtime = new BarrierWaitRuntime({
      store,
      datasets,
      clock: { now: () => clock.now(), sleep: (ms) => clock.sleep(ms) },
      containers: () => containers,
      // Coarser than the local default (1–20 ms) to keep the event count down; the paper's code polls Redis in a loop too.
      pollMs: { first: 5, max: 50 },
    });
    const outcome = runtime
      .train(spec)
      .then((o) => {
        job = o.job;
        endedAt = clock.now();
        services.counters.waitGbSeconds += (config.memoryMb / 1024) * (o.waitMs / 1000);
      })
      .catch((e: unknown) => (failure = e instanceof Error ? e.message : String(e)));
    await clock.run();
    await outcome;
  }

  const final = job ? await store.peekJob(job.jobId) : undefined;
  // Training rounds only: the preparation round (round 0) loads and summarises the shards.
  const all: RoundMetrics[] = job ? await store.peekRounds(job.jobId) : [];
  const rounds = all.filter((r) => r.phase !== 'prepare');
  await store.close();
  const endMs = endedAt || clock.now();
  const result = summarise(config, profile, services.counters, rounds, endMs, clock.events, workerFn.vcpus, final?.status ?? 'FAILED', failure ?? final?.error);
  return { ...result, phases: phasesOf(all, endMs, services.counters.billedSpans) };
}

/**
 * Barrier-wait workers: each holds one worker-function invocation open from acquire to release.
 * The paper's driver (Lithops on the user's machine) starts them with asynchronous Invoke requests
 * (`InvocationType: 'Event'`): each reaches its function after `invokeMs()`, the same hop our design's
 * start function and aggregator Invoke pay.
 */
function longLivedWorkers(fn: LambdaFunction<SimContainer>, invokeMs: () => number): Containers {
  const open = new Map<CountedContainer, () => void>();
  return {
    acquire: (_jobId, _shard, _threads) =>
      new Promise<CountedContainer>((resolve, reject) => {
        const latency = invokeMs();
        void fn.clock.sleep(latency).then(() => fn.invoke(
          (env) =>
            new Promise<void>((done) => {
              const container = env.context;
              open.set(container, done);
              resolve(container);
            }),
        ).catch(reject));
      }),
    release: async (container) => {
      open.get(container)?.();
      open.delete(container);
    },
    close: async () => undefined,
  };
}

/** Wall time and billed GB-s per phase of the job (see SimResult.phases). */
export function phasesOf(rounds: RoundMetrics[], endMs: number, spans: Counters['billedSpans']): SimResult['phases'] {
  const prepare = rounds.find((r) => r.phase === 'prepare');
  const training = rounds.filter((r) => r.phase !== 'prepare');
  const publishedAt = prepare?.publishedAt ?? 0;
  const preparedAt = prepare?.aggregatedAt ?? publishedAt;
  const lastAt = training.length ? Math.max(...training.map((r) => r.aggregatedAt)) : preparedAt;
  const edges: [keyof SimResult['phases'], number, number][] = [
    ['start', 0, publishedAt],
    ['prepare', publishedAt, preparedAt],
    ['training', preparedAt, lastAt],
    ['end', lastAt, Math.max(lastAt, endMs)],
  ];
  const out = {} as SimResult['phases'];
  for (const [name, from, to] of edges) {
    let gbSeconds = 0;
    for (const s of spans) gbSeconds += (s.gb * Math.max(0, Math.min(to, s.to) - Math.max(from, s.from))) / 1000;
    out[name] = { seconds: (to - from) / 1000, gbSeconds };
  }
  // Stretches billed after the job's end (a release landing late) count in its end.
  for (const s of spans) if (s.to > endMs) out.end.gbSeconds += (s.gb * (s.to - Math.max(endMs, s.from))) / 1000;
  return out;
}

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summarise(
  config: SimConfig,
  profile: Profile,
  c: Counters,
  rounds: RoundMetrics[],
  endMs: number,
  events: number,
  vcpus: number,
  status: string,
  error: string | undefined,
): Omit<SimResult, 'phases'> {
  const times = rounds.map((r) => (r.aggregatedAt - r.publishedAt) / 1000);
  const sorted = [...times].sort((a, b) => a - b);
  const gb = Object.values(c.billedGbSeconds).reduce((a, b) => a + b, 0);
  const invocations = Object.values(c.lambdaInvocations).reduce((a, b) => a + b, 0);
  const local = profile.lambda.sharedHost.value === 1;
  const lambda = local ? 0 : gb * PRICES.lambdaGbSecond.usd + invocations * PRICES.lambdaRequest.usd;
  const dynamodb = local || config.backend !== 'dynamodb' ? 0 : c.writeUnits * PRICES.dynamoWriteUnit.usd + c.readUnits * PRICES.dynamoReadUnit.usd;
  const s3 = local ? 0 : c.s3Puts * PRICES.s3Put.usd + c.s3Gets * PRICES.s3Get.usd;
  const sns = local ? 0 : c.snsPublishes * PRICES.snsPublish.usd;
  const sqs = local ? 0 : c.sqsRequests * PRICES.sqsFifoRequest.usd;
  // A node for the job's duration (a node kept between jobs costs its hours whatever the jobs).
  const elasticache = local || config.backend !== 'redis' ? 0 : (endMs / 3_600_000) * PRICES.elasticacheT4gSmallHour.usd;
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return {
    config: { ...config, trigger: config.sync === 'event' ? (config.trigger ?? 'sqs') : undefined, k: config.algorithm === 'kmeans' ? (config.k ?? 8) : undefined, solver: config.algorithm === 'logreg' ? simShape(config).solver : undefined, classes: config.algorithm === 'logreg' ? config.classes : undefined, vcpus, profile: profile.name, routing: profile.lambda.routing.value },
    wallSeconds: endMs / 1000,
    rounds: rounds.length,
    roundSeconds: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length) },
    roundTimes: times,
    billedGbSeconds: { total: gb, byFunction: { ...c.billedGbSeconds }, waiting: c.waitGbSeconds },
    invocations: { ...c.lambdaInvocations },
    coldStarts: { ...c.coldStarts },
    requests: { total: sum(c.requests), byOperation: { ...c.requests } },
    throttled: { total: sum(c.throttled), byOperation: { ...c.throttled } },
    costUsd: { total: lambda + dynamodb + s3 + sns + sqs + elasticache, lambda, dynamodb, s3, sns, sqs, elasticache },
    shardCache: { hits: c.shardCache.hits, loads: c.shardCache.loads, reloads: c.shardCache.reloads, hitRate: c.shardCache.hits / Math.max(1, c.shardCache.hits + c.shardCache.reloads) },
    mergeCompute: { ...c.merge },
    aggregatorReadBytesPerRound: rounds.reduce((sum, r) => sum + (r.readBytes ?? r.partialBytes), 0) / Math.max(1, rounds.length),
    events,
    status,
    ...(error ? { error } : {}),
  };
}

