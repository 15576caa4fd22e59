import { datasetSource } from './datasets.js';
import type { JobSpecInput, LogregSolver } from '../protocol/spec.js';
import type { RoundMetrics } from '../protocol/types.js';
import { BarrierWaitRuntime, type BarrierWaitOutcome } from '../runtime/BarrierWaitRuntime.js';
import { LocalRuntime, type TrainOutcome } from '../runtime/LocalRuntime.js';
import { openStore, type Backend } from '../stores/open.js';
import { checkWritable, writeFileAtomic } from '../util/files.js';
import type { CliIo } from './io.js';
import { RoundProgress } from './progress.js';
import { formatReport } from './report.js';
import { ms } from './format.js';

export const SYNC_DESIGNS = ['event', 'barrier-wait'] as const;
export type SyncDesign = (typeof SYNC_DESIGNS)[number];

export interface TrainOptions {
  data: string;
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
  /** event: the default, event-driven rounds; barrier-wait: the WoSC'23 paper's design (src/runtime/BarrierWaitRuntime.ts). */
  sync?: SyncDesign;
  out?: string;
  progress: boolean;
  // k-means
  k?: number;
  // logistic regression
  labelColumn?: string;
  solver?: LogregSolver;
  lr?: number;
  l2?: number;
  C?: number;
}

/** `bspml train kmeans|logreg`: runs one job on the local runtime and reports it. */
export async function train(algorithm: 'kmeans' | 'logreg' | 'svm', options: TrainOptions, io: CliIo): Promise<void> {
  const common = {
    data: { uri: options.data, ...(algorithm !== 'kmeans' ? { labelColumn: options.labelColumn ?? 'last' } : {}) },
    workers: options.workers,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.maxRounds !== undefined ? { maxRounds: options.maxRounds } : {}),
    ...(options.tol !== undefined ? { tol: options.tol } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
  const penalty = { ...(options.l2 !== undefined ? { l2: options.l2 } : {}), ...(options.C !== undefined ? { C: options.C } : {}) };
  const spec: JobSpecInput =
    algorithm === 'kmeans'
      ? { algorithm, k: options.k!, ...common }
      : algorithm === 'svm'
        ? { algorithm, ...penalty, ...common }
        : {
          algorithm,
          ...(options.solver !== undefined ? { solver: options.solver } : {}),
          ...(options.lr !== undefined ? { lr: options.lr } : {}),
          ...penalty,
          ...common,
        };

  if (options.out) await checkWritable(options.out);
  const store = await openStore(options.backend, {
    endpoint: options.endpoint,
    table: options.table,
    redisUrl: options.redisUrl,
    bucket: options.bucket,
    prefix: options.prefix,
  });
  const progress = options.progress ? new RoundProgress(options.maxRounds ?? 100, algorithm === 'kmeans' ? 'inertia' : 'loss', io.stderr) : undefined;
  const data = datasetSource(options.data, options.s3Endpoint);
  const onRound = (metrics: RoundMetrics) => progress?.round(metrics);
  const runtime =
    options.sync === 'barrier-wait'
      ? new BarrierWaitRuntime({ store, datasets: data.datasets, onRound })
      : new LocalRuntime({ store, datasets: data.datasets, concurrency: options.concurrency, onRound });
  try {
    const outcome: TrainOutcome | BarrierWaitOutcome = await runtime.train(spec).finally(() => progress?.stop());
    if (options.out) {
      await writeFileAtomic(options.out, `${JSON.stringify({ ...outcome.result, jobId: outcome.job.jobId, data: options.data }, null, 2)}\n`);
    }
    io.stdout.write(`${formatReport(outcome, { data: options.data, backend: store.kind, out: options.out })}\n`);
    if (isBarrierWait(outcome)) {
      // Every worker is alive, and billed, from the first round to the last: say how much of it was waiting.
      const share = outcome.workerMs > 0 ? Math.round((100 * outcome.waitMs) / outcome.workerMs) : 0;
      io.stdout.write(
        `sync       barrier-wait: workers billed ${ms(outcome.workerMs)} in all, ${ms(outcome.waitMs)} of it waiting at the barrier (${share}%, ${outcome.polls} polls)\n`,
      );
    }
  } finally {
    await runtime.close();
    await store.close();
    data.close();
  }
}

function isBarrierWait(outcome: TrainOutcome | BarrierWaitOutcome): outcome is BarrierWaitOutcome {
  return 'sync' in outcome && outcome.sync === 'barrier-wait';
}
