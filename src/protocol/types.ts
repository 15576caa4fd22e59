import type { JobSpec, LogregSolver, SvmSolver } from './spec.js';
import type { DatasetLayout } from '../data/layout.js';
import type { SummaryMeta } from '../data/summary.js';
import type { DataSummary } from '../data/types.js';

export type JobStatus = 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** The job's META record: everything the protocol needs to know where a job stands. */
export interface JobRecord {
  jobId: string;
  spec: JobSpec;
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
  /** The data set's parts and columns, as the start step described them (no rows). */
  layout?: DatasetLayout;
  /** Rows and columns, once the preparation round has counted them. */
  data?: DataSummary;
  /** Estimated AWS cost so far (USD, src/aws/cost.ts), updated as each round is aggregated. */
  costUsd?: number;
  createdAt: number;
  updatedAt: number;
  /** Why the job FAILED, for a person. */
  error?: string;
  /** The BspmlError code of bad input the job FAILED on (E_DATA, E_SPEC); absent for other failures. */
  errorCode?: string;
  /** The final model, as the user sees it (SUCCEEDED only). */
  result?: ModelResult;
}

export type JobPatch = Partial<
  Pick<JobRecord, 'status' | 'round' | 'fanoutRound' | 'recoveries' | 'sweepArrivals' | 'costUsd' | 'roundStartedAt' | 'advancedBy' | 'backupRound' | 'layout' | 'data' | 'error' | 'errorCode' | 'result'>
>;

/**
 * One message of a round's fan-out: compute the partial of `shard` with the model of `round`, or,
 * in the preparation round (round 0, `phase: 'prepare'`), load the shard and summarise it.
 */
export interface RoundTask {
  jobId: string;
  round: number;
  phase?: 'prepare';
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
  modelBytes: number;
  /** When the round's fan-out was published and when its aggregation ended (epoch ms). */
  publishedAt: number;
  aggregatedAt: number;
}

/** The trained model as written to `--out` and stored with a finished job. */
export type ModelResult = KmeansResult | LogregResult | MultinomialResult | SvmResult | SvmOvrResult;

/** A one-vs-rest SVM (a row of weights per class), as opposed to a binary one. */
export function isOneVsRest(model: ModelResult): model is SvmOvrResult {
  return model.algorithm === 'svm' && Array.isArray(model.bias);
}

/** A multinomial logistic regression (a row of weights per class), as opposed to a binary one. */
export function isMultinomial(model: ModelResult): model is MultinomialResult {
  return model.algorithm === 'logreg' && Array.isArray(model.bias);
}

/** A classifier's labels for its classes 0..C−1 (files from before any labels: 0, 1, …). */
export function classLabelsOf(model: LogregResult | MultinomialResult | SvmResult | SvmOvrResult): (string | number)[] {
  return model.classes ?? [0, 1];
}

export interface KmeansResult {
  algorithm: 'kmeans';
  k: number;
  dims: number;
  featureNames: string[];
  centroids: number[][];
  /** Cluster sizes from the last assignment pass. */
  counts: number[];
  inertia: number;
  rounds: number;
  converged: boolean;
}

export interface LogregResult {
  algorithm: 'logreg';
  /** How it was trained (absent in models written before solvers existed: gradient descent). */
  solver?: LogregSolver;
  dims: number;
  featureNames: string[];
  labelName: string;
  /**
   * The labels the data holds for class 0 and class 1, sorted as np.unique sorts them (absent in
   * files from before labels could be any: 0 and 1).
   */
  classes?: (string | number)[];
  weights: number[];
  bias: number;
  /** Each class's weight in the loss (--class-weight), classes in `classes`' order; absent: all 1. */
  classWeights?: number[];
  /** The objective: the data term (mean log-loss) plus `penalty`. */
  loss: number;
  /** (λ/2)·‖v‖² of the written weights (standardised); absent in older files. */
  penalty?: number;
  accuracy: number;
  gradNorm: number;
  rounds: number;
  converged: boolean;
}

/**
 * Multinomial logistic regression (labels 0..C−1, C > 2): a row of weights and a bias per class;
 * P(class k) = softmax(W·x + b)_k. Two classes keep LogregResult's format.
 */
export interface MultinomialResult extends Omit<LogregResult, 'weights' | 'bias' | 'classes'> {
  /** The labels of classes 0..C−1, as the data holds them, sorted. */
  classes: (string | number)[];
  weights: number[][];
  bias: number[];
}

/**
 * A linear SVM's file: logistic regression's fields, `loss` being the objective of `lossFunction`
 * (squared hinge with Newton, hinge with local SGD; absent in files from before local SGD: squared
 * hinge); the decision value is w·x + b (label 1 where ≥ 0).
 */
export type SvmResult = Omit<LogregResult, 'algorithm' | 'solver'> & {
  algorithm: 'svm';
  solver?: SvmSolver;
  /** scikit-learn's names (LinearSVC's `loss`). */
  lossFunction?: 'squared_hinge' | 'hinge';
};

/**
 * A one-vs-rest linear SVM (C > 2 classes, algorithms/svm/oneVsRest.ts): a row of weights and a
 * bias per class, problem k separating class k from the rest; the predicted class is the largest
 * w_k·x + b_k. `loss` is the sum of the C problems' objectives, `penalty` the sum of their penalties.
 */
export type SvmOvrResult = Omit<SvmResult, 'weights' | 'bias' | 'classes'> & {
  multiClass: 'ovr';
  classes: (string | number)[];
  weights: number[][];
  bias: number[];
};
