import type { JobSpec } from './spec.js';
import type { PredictSpec } from './predictSpec.js';
import type { ModelResult } from './results.js';
import type { DatasetLayout } from '../data/layout.js';
import type { SummaryMeta } from '../data/summary.js';
import type { DataSummary } from '../data/types.js';

export type JobStatus = 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** One output part of a predict job: where it is, which shard wrote it, its rows and bytes, and what its task took. */
export interface PredictPart {
  shard: number;
  /** `s3://BUCKET/PREFIX/JOBID/part-00000.csv`. */
  uri: string;
  rows: number;
  /** The part's size as written (the `_SUCCESS` marker lists it). */
  bytes: number;
  /** The task's time from its model to its part written (ms), for the cost estimate (src/costs/predictEstimate.ts). */
  ms: number;
  /** Models the task read from S3 (0 when its environment held the version already). */
  modelReads: number;
}

/** What a predict job's record holds beside the fields every job has (src/domain/predictJob.ts). */
export interface PredictState {
  /** The model as the start resolved it, once: `latest` is recorded as the version it named then. */
  model: { name: string; version: string };
  /** This job's own folder under the spec's `out`: `s3://BUCKET/PREFIX/JOBID/`. */
  out: string;
  /** The parts in shard order, once the job SUCCEEDED. */
  parts?: PredictPart[];
  /** Rows predicted and bytes written over all parts, once SUCCEEDED. */
  rows?: number;
  bytes?: number;
  /** The estimated cost (the record's costUsd) per million rows predicted, once SUCCEEDED. */
  usdPerMillionRows?: number;
}

/** What every job's META record holds, whatever its kind: everything the protocol needs to know where a job stands. */
export interface JobFields {
  jobId: string;
  status: JobStatus;
  /**
   * The round whose partials are being gathered now (the last one, once finished). Round 0 is the
   * preparation round (workers load their shards and summarise them); training rounds are 1, 2, …
   */
  round: number;
  /** Number of shards = worker invocations per round. */
  shards: number;
  /** The highest round whose fan-out is known to have been published; -1 before round 0. */
  fanoutRound: number;
  /** Recovery sweeps of the current round in a row that found no progress (no new arrival since the sweep before). */
  recoveries: number;
  /** Shards that had arrived at the current round's barrier at the last recovery sweep (absent: none yet). */
  sweepArrivals?: number;
  /** When the current round's fan-out was published (epoch ms). */
  roundStartedAt: number;
  /**
   * A token of the aggregation whose conditional advance moved the job to its round: when its
   * advance's condition fails, an aggregation tells its own write (a lost reply, retried) from a
   * concurrent duplicate's, which publishes the fan-out itself.
   */
  advancedBy?: string;
  /** The round whose stragglers got backup tasks (stragglers.ts): once per round. */
  backupRound?: number;
  /**
   * Every round below this one has had its partials, barrier and claims cleared (absent: the rounds
   * before the one just aggregated). A step that died before clearing leaves it lower, and the next
   * step clears from there (aggregate.ts clearBehind).
   */
  clearedBelow?: number;
  /** The data set's parts and columns, as the start step described them (no rows). */
  layout?: DatasetLayout;
  /** Estimated AWS cost so far (USD, src/costs/estimate.ts), updated as each round is aggregated. */
  costUsd?: number;
  createdAt: number;
  updatedAt: number;
  /** Why the job FAILED, for a person. */
  error?: string;
  /** The BspmlError code of bad input the job FAILED on (E_DATA, E_SPEC); absent for other failures. */
  errorCode?: string;
}

/**
 * A training job's record: `kind` absent (every record written before predict jobs existed) or
 * `train`, and its training spec.
 */
export interface TrainJobRecord extends JobFields {
  kind?: 'train';
  spec: JobSpec;
  /** Rows and columns, once the preparation round has counted them. */
  data?: DataSummary;
  /** The final model, as the user sees it (SUCCEEDED only). */
  result?: ModelResult;
}

/**
 * A predict job's record (docs/serving.md): one fan-out round of batch predictions with a trained
 * model. `spec` is its PredictSpec (src/domain/predictSpec.ts), `predict` its model, output folder and,
 * once SUCCEEDED, its parts, rows and cost per million rows.
 */
export interface PredictJobRecord extends JobFields {
  kind: 'predict';
  spec: PredictSpec;
  /** Absent while STARTING, and in a job refused before its model was resolved. */
  predict?: PredictState;
  /** A predict job counts no rows in a preparation round and trains no model: both always absent (so a record of either kind reads them). */
  data?: undefined;
  result?: undefined;
}

/**
 * A job's META record as the stores keep it, of either kind: `kind` tells them apart (TypeScript
 * narrows on it), as `kind` tells their specs apart (src/domain/jobSpecs.ts).
 */
export type JobRecord = TrainJobRecord | PredictJobRecord;

/**
 * What every new job record starts with, whatever its kind and status: no fan-out published yet
 * (fanoutRound -1), no recovery sweep, its clocks at `now`. The caller adds the spec, status, round
 * and shards.
 */
export function newJobFields(jobId: string, now: number): Pick<JobFields, 'jobId' | 'fanoutRound' | 'recoveries' | 'roundStartedAt' | 'createdAt' | 'updatedAt'> {
  return { jobId, fanoutRound: -1, recoveries: 0, roundStartedAt: now, createdAt: now, updatedAt: now };
}

export type JobPatch = Partial<
  Pick<JobFields, 'status' | 'round' | 'shards' | 'fanoutRound' | 'recoveries' | 'sweepArrivals' | 'costUsd' | 'roundStartedAt' | 'advancedBy' | 'backupRound' | 'clearedBelow' | 'layout' | 'error' | 'errorCode'> &
    Pick<TrainJobRecord, 'data' | 'result'> &
    Pick<PredictJobRecord, 'predict'>
>;

/**
 * One message of a round's fan-out: compute the partial of `shard` with the model of `round`, or,
 * in the preparation round (round 0, `phase: 'prepare'`), load the shard and summarise it; or, in a
 * predict job's one round (round 0, `phase: 'predict'`), predict the shard and write its part.
 */
export interface RoundTask {
  jobId: string;
  round: number;
  phase?: 'prepare' | 'predict';
  shard: number;
  shards: number;
  /** The encoded model (base64) when it fits in a message; else the worker reads MODEL#round. */
  model?: string;
}

/** Sent by the last arrival at a round's barrier. */
export interface CompletionMessage {
  jobId: string;
  round: number;
}

/** What a worker reports beside its partial. */
export interface WorkerReport {
  shard: number;
  rows: number;
  /** Time the inner threads took for the partial (the compute phase). */
  computeMs: number;
  /** Time to load the shard (0 when cached). */
  loadMs: number;
  cacheHit: boolean;
  threads: number;
  /** `modelDigest` of the model the partial was computed from. */
  modelDigest: string;
  /** When the worker stored its partial (epoch ms; absent in older partials): the round's arrival times. */
  arrivedAt?: number;
  /** Preparation round: the shard's summary, less its sample (which is the partial's body). */
  summary?: SummaryMeta;
}

/** Per-round record (ROUND#r). */
export interface RoundMetrics {
  round: number;
  /** Set on the preparation round's record (round 0), whose time is loading, not compute. */
  phase?: 'prepare';
  /** k-means: inertia; logistic regression: regularised mean log-loss; of the model that entered the round. */
  objective: number;
  /** Algorithm figures: shift, gradNorm, accuracy, ... */
  stats: Record<string, number>;
  converged: boolean;
  /** Slowest worker's compute time (the round's critical path); 0 in the preparation round. */
  computeMs: number;
  /** Slowest worker's shard load time (the preparation round: load and summary). */
  loadMs: number;
  cacheHits: number;
  workers: number;
  partialBytes: number;
  /**
   * Bytes the aggregator read to merge them: the group partials of the tree merge, plus the
   * partials of groups it merged itself (flat: equal to partialBytes). Absent in older records.
   */
  readBytes?: number;
  /** Milliseconds from the round's start until the backup quorum (90 %) of its shards had arrived. */
  quorumMs?: number;
  /** The next round's model, whole, as stored. */
  modelBytes: number;
  /**
   * The next round's model as its workers read it (src/protocol/modelView.ts), where it is stored
   * split; absent: they read the whole model (`modelBytes`).
   */
  viewBytes?: number;
  /** When the round's fan-out was published and when its aggregation ended (epoch ms). */
  publishedAt: number;
  aggregatedAt: number;
}

