import { DEFAULT_DEPLOYMENT, estimateCost, type DeploymentShape, type LambdaArchitecture } from '../costs/estimate.js';
import { PRICES } from '../costs/prices.js';
import { DEFAULT_STACK_BACKEND, STACK_BACKENDS, type StackBackend } from '../domain/spec.js';
import type { TrainJobRecord, RoundMetrics } from '../domain/job.js';
import type { IoCounts } from '../util/io-meter.js';
import { VERSION } from '../version.js';
import { REPORT_SCHEMA_ID, type RunReport } from './schema.js';

export interface ReportInput {
  source: 'local' | 'stack';
  job: TrainJobRecord;
  /** Every round record of the job: the preparation round (phase 'prepare') and the training rounds. */
  rounds: RoundMetrics[];
  /** The store the run used (local: memory, redis, dynamodb, s3; stack: its data plane). */
  backend: string;
  /** Store I/O of the preparation round and of each training round in order (local runs measure it; a stack job does not). */
  io?: { prepare?: IoCounts; rounds: IoCounts[] };
  /** Start to end as the client saw it; default: the job record's createdAt to updatedAt. */
  wallMs?: number;
  /** Worker memory to price the job at (default: the deployment's, serverless.yml). */
  workerMemoryMb?: number;
  /** The stack's architecture the projected cost assumes (default arm64, serverless.yml's). */
  architecture?: LambdaArchitecture;
}

/** Wall, compute, load and synchronisation time of one round, from its record. */
export function roundTimes(r: RoundMetrics): { wallMs: number; computeMs: number; loadMs: number; syncMs: number } {
  const wallMs = Math.max(0, r.aggregatedAt - r.publishedAt);
  // What a round spends beyond its slowest worker's load and compute: messages, store calls,
  // barrier and aggregation — the price of synchronising.
  return { wallMs, computeMs: r.computeMs, loadMs: r.loadMs, syncMs: Math.max(0, wallMs - r.computeMs - r.loadMs) };
}

/** The stack backend whose prices apply: the store itself, or the stack's default for a local-only one. */
export function pricedBackend(backend: string): StackBackend {
  return (STACK_BACKENDS as readonly string[]).includes(backend) ? (backend as StackBackend) : DEFAULT_STACK_BACKEND;
}

/** The run report (src/report/schema.ts, docs/report.md) of a job and its round records. */
export function buildReport(input: ReportInput): RunReport {
  const { job } = input;
  const prep = input.rounds.find((r) => r.phase === 'prepare');
  const rounds = input.rounds.filter((r) => r.phase !== 'prepare');
  const times = rounds.map(roundTimes);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const column = <T>(f: (r: RoundMetrics, i: number) => T) => rounds.map(f);
  const statNames = [...new Set(rounds.flatMap((r) => Object.keys(r.stats)))];
  const io = input.io && input.io.rounds.length === rounds.length ? input.io.rounds : undefined;
  const prepareMs = prep ? roundTimes(prep).wallMs : 0;
  const wallMs = input.wallMs ?? Math.max(0, job.updatedAt - job.createdAt);
  const computeMs = sum(times.map((t) => t.computeMs));
  const loadMs = sum(times.map((t) => t.loadMs));
  const syncMs = sum(times.map((t) => t.syncMs));

  const backend = pricedBackend(input.backend);
  const shape: DeploymentShape = {
    ...DEFAULT_DEPLOYMENT,
    ...(input.workerMemoryMb !== undefined ? { workerMemoryMb: input.workerMemoryMb } : {}),
    ...(input.architecture !== undefined ? { architecture: input.architecture } : {}),
  };
  // Every round is billed, the preparation round too.
  const { total, ...services } = estimateCost(job, input.rounds, shape, backend);
  const spec = (job.spec ?? {}) as unknown as Record<string, unknown>;
  const dataUri = (spec.data as { uri?: string } | undefined)?.uri;

  return {
    schema: REPORT_SCHEMA_ID,
    generatedAt: new Date().toISOString(),
    bspmlVersion: VERSION,
    source: input.source,
    job: {
      jobId: job.jobId,
      status: job.status,
      backend: input.backend,
      ...(job.error !== undefined ? { error: job.error } : {}),
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
    },
    spec,
    data: job.data ? { ...(dataUri !== undefined ? { uri: dataUri } : {}), ...job.data } : null,
    result: (job.result as unknown as Record<string, unknown> | undefined) ?? null,
    prepare: prep
      ? {
          wallMs: prepareMs,
          loadMs: prep.loadMs,
          workers: prep.workers,
          stats: prep.stats,
          requests: input.io?.prepare?.requests ?? null,
          bytesWritten: input.io?.prepare?.bytesWritten ?? null,
          bytesRead: input.io?.prepare?.bytesRead ?? null,
        }
      : null,
    rounds: {
      round: column((r) => r.round),
      objective: column((r) => r.objective),
      converged: column((r) => r.converged),
      stats: Object.fromEntries(statNames.map((name) => [name, column((r) => r.stats[name] ?? null)])),
      wallMs: times.map((t) => t.wallMs),
      computeMs: times.map((t) => t.computeMs),
      loadMs: times.map((t) => t.loadMs),
      syncMs: times.map((t) => t.syncMs),
      workers: column((r) => r.workers),
      cacheHits: column((r) => r.cacheHits),
      partialBytes: column((r) => r.partialBytes),
      modelBytes: column((r) => r.modelBytes),
      requests: column((_, i) => io?.[i]?.requests ?? null),
      bytesWritten: column((_, i) => io?.[i]?.bytesWritten ?? null),
      bytesRead: column((_, i) => io?.[i]?.bytesRead ?? null),
    },
    totals: {
      rounds: rounds.length,
      wallMs,
      computeMs,
      loadMs,
      syncMs,
      prepareMs,
      otherMs: Math.max(0, wallMs - computeMs - syncMs - loadMs - prepareMs),
      workerInvocations: sum(rounds.map((r) => r.workers)),
      cacheHits: sum(rounds.map((r) => r.cacheHits)),
      requests: io ? sum(io.map((c) => c.requests)) : null,
      bytesWritten: io ? sum(io.map((c) => c.bytesWritten)) : null,
      bytesRead: io ? sum(io.map((c) => c.bytesRead)) : null,
    },
    cost: {
      backend,
      workerMemoryMb: shape.workerMemoryMb,
      architecture: shape.architecture,
      aggregatorMemoryMb: shape.aggregatorMemoryMb,
      usd: { ...services, total },
      pricesAsOf: PRICES.lambdaGbSecond.asOf,
      note:
        input.source === 'local'
          ? `projected: this job's rounds as they would bill on AWS with the ${backend} data plane (${input.backend === backend ? 'the backend it ran on' : `a local ${input.backend} run priced as the stack default`}); compute times are this machine's`
          : `estimated from the job's round records with the ${backend} data plane`,
    },
  };
}
