import type { LambdaArchitecture } from '../costs/estimate.js';
import type { ClassWeightSpec, LogregSolver } from '../domain/spec.js';
import type { Backend } from '../emulators/open.js';

export const SYNC_DESIGNS = ['event', 'linger', 'barrier-wait'] as const;
export type SyncDesign = (typeof SYNC_DESIGNS)[number];

export interface TrainOptions {
  /** A job spec file (NAME.job.json, as a stack reads it); options given override it. */
  spec?: string;
  data?: string;
  workers: number;
  threads?: number;
  maxRounds?: number;
  tol?: number;
  seed?: number;
  backend: Backend;
  endpoint?: string;
  /** S3 endpoint for an s3:// data set (an emulator, MinIO); else AWS_ENDPOINT_URL_S3, else AWS. */
  s3Endpoint?: string;
  table?: string;
  redisUrl?: string;
  bucket?: string;
  prefix?: string;
  concurrency?: number;
  /**
   * event: the default, event-driven rounds; linger: workers wait for the next round (the spec's
   * `sync: 'linger'`, docs/protocol.md); barrier-wait: the WoSC'23 paper's design (src/runtime/BarrierWaitRuntime.ts).
   */
  sync?: SyncDesign;
  /** With --sync linger: how long a worker waits for the next round (ms; default priced per job). */
  lingerMs?: number;
  out?: string;
  progress: boolean;
  /** Write the run report to this file (.json or .html). */
  report?: string;
  /** Print the run report as JSON on standard output, and nothing else there. */
  json?: boolean;
  /** No progress bar, no text report: errors only. */
  quiet?: boolean;
  /** Worker memory (MB) of the stack the projected AWS cost assumes. */
  workerMemory?: number;
  /** The stack's Lambda architecture the projected AWS cost assumes. */
  architecture?: LambdaArchitecture;
  // k-means
  k?: number;
  /** k-means restarts on the initialisation sample. */
  nInit?: number;
  /** Held-out rows (a file, a directory of parts or s3://) the written model is scored on. */
  validation?: string;
  /** A seeded share of the data's rows left out of training and scored instead. */
  holdout?: number;
  /** Only these columns are features (names or 0-based indices). */
  features?: string[];
  /** Columns left out. */
  drop?: string[];
  // logistic regression
  labelColumn?: string;
  solver?: LogregSolver;
  lr?: number;
  l2?: number;
  C?: number;
  /** Class weights: balanced or label → weight (logreg, svm). */
  classWeight?: ClassWeightSpec;
  // local SGD (logreg, svm)
  localSteps?: number;
  batchSize?: number;
}
