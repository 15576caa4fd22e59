import { z } from 'zod';

/*
 * The run report a person or a script reads: `bspml train --report FILE.json` (or `--json`),
 * `bspml status|watch JOB --report FILE.json`. docs/report.md documents every field; the tests parse
 * every report they write with this schema. Per-round figures are arrays, one entry per recorded
 * round, all as long as `rounds.round`.
 */

export const REPORT_SCHEMA_ID = 'bspml-run-report/1';

const perRound = z.array(z.number());
/** A per-round figure a run may not have measured (a stack job's store I/O): null entries. */
const perRoundOrNull = z.array(z.number().nullable());

const usd = z.object({
  lambda: z.number(),
  dynamodb: z.number(),
  sns: z.number(),
  sqs: z.number(),
  s3: z.number(),
  elasticache: z.number(),
  total: z.number(),
});

export const runReportSchema = z.object({
  schema: z.literal(REPORT_SCHEMA_ID),
  generatedAt: z.string(),
  bspmlVersion: z.string(),
  /** local: `bspml train` on this machine; stack: a job read from a deployment's state table. */
  source: z.enum(['local', 'stack']),
  job: z.object({
    jobId: z.string(),
    status: z.enum(['STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED']),
    /** The store the run used: memory, redis, dynamodb or s3 (local); the data plane's (stack). */
    backend: z.string(),
    error: z.string().optional(),
    createdAt: z.number(),
    updatedAt: z.number(),
  }),
  /** The job spec as the protocol stored it (defaults filled in); a FAILED job's may be partial. */
  spec: z.record(z.string(), z.unknown()),
  data: z
    .object({
      uri: z.string().optional(),
      rows: z.number(),
      dims: z.number(),
      featureNames: z.array(z.string()),
      labelName: z.string().optional(),
    })
    .nullable(),
  /** The trained model (as `--out` writes it), once SUCCEEDED. */
  result: z.record(z.string(), z.unknown()).nullable(),
  /**
   * The written model scored on held-out rows (`train --validation FILE`): classifiers' accuracy,
   * logLoss (logreg), auc (two classes), precision/recall/f1 (`average`: binary or macro) and
   * confusion (rows: truth, columns: prediction, in `classes` order); k-means' held-out inertia.
   */
  validation: z.record(z.string(), z.unknown()).nullable().optional(),
  /**
   * The preparation round (round 0): workers load and summarise their shards, the model is
   * initialised from the merged summary. Not a training round: absent from `rounds`. null when
   * the job has no record of it.
   */
  prepare: z
    .object({
      wallMs: z.number(),
      /** Slowest worker's shard load. */
      loadMs: z.number(),
      workers: z.number(),
      stats: z.record(z.string(), z.number()),
      requests: z.number().nullable(),
      bytesWritten: z.number().nullable(),
      bytesRead: z.number().nullable(),
    })
    .nullable(),
  /** The training rounds (1, 2, …). */
  rounds: z.object({
    round: perRound,
    objective: perRound,
    converged: z.array(z.boolean()),
    /** Algorithm figures per round (k-means: shift; logreg: gradNorm, accuracy), by name; null where a round lacks one. */
    stats: z.record(z.string(), perRoundOrNull),
    /** aggregatedAt − publishedAt: the round as the job lived it. */
    wallMs: perRound,
    /** Slowest worker's compute. */
    computeMs: perRound,
    /** Slowest worker's shard load (0 when every shard was cached). */
    loadMs: perRound,
    /** wall − compute − load: messages, store calls, barrier, aggregation. */
    syncMs: perRound,
    workers: perRound,
    cacheHits: perRound,
    partialBytes: perRound,
    modelBytes: perRound,
    /** Store requests and bytes of the round (workers and aggregator); null where not measured. */
    requests: perRoundOrNull,
    bytesWritten: perRoundOrNull,
    bytesRead: perRoundOrNull,
  }),
  totals: z.object({
    /** Training rounds recorded. */
    rounds: z.number(),
    /** Start to end as the client saw it (local), or the job record's createdAt to updatedAt (stack). */
    wallMs: z.number(),
    computeMs: z.number(),
    loadMs: z.number(),
    syncMs: z.number(),
    /** The preparation round's wall time (loading, checking and summarising the shards, initialising the model). */
    prepareMs: z.number(),
    /** Wall time outside every round: starting the job, the threads, the containers. */
    otherMs: z.number(),
    workerInvocations: z.number(),
    cacheHits: z.number(),
    requests: z.number().nullable(),
    bytesWritten: z.number().nullable(),
    bytesRead: z.number().nullable(),
  }),
  /** What the same job costs (or has cost so far) on AWS, from src/costs/estimate.ts and src/costs/prices.ts. */
  cost: z.object({
    /** The stack data plane priced: a local memory run is priced as the stack's default, dynamodb. */
    backend: z.enum(['dynamodb', 's3', 'redis']),
    workerMemoryMb: z.number(),
    /** The functions' architecture priced (reports written before it was recorded were priced at x86_64's GB-second). */
    architecture: z.enum(['arm64', 'x86_64']).default('x86_64'),
    aggregatorMemoryMb: z.number(),
    usd,
    pricesAsOf: z.string(),
    note: z.string(),
  }),
});

export type RunReport = z.infer<typeof runReportSchema>;
