import { datasetSource } from './datasets.js';
import type { JobSpecInput, LogregSolver } from '../protocol/spec.js';
import { LocalRuntime } from '../runtime/LocalRuntime.js';
import { openStore, type Backend } from '../stores/open.js';
import { checkWritable, writeFileAtomic } from '../util/files.js';
import type { CliIo } from './io.js';
import { RoundProgress } from './progress.js';
import { formatReport } from './report.js';

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
export async function train(algorithm: 'kmeans' | 'logreg', options: TrainOptions, io: CliIo): Promise<void> {
  const common = {
    data: { uri: options.data, ...(algorithm === 'logreg' ? { labelColumn: options.labelColumn ?? 'last' } : {}) },
    workers: options.workers,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.maxRounds !== undefined ? { maxRounds: options.maxRounds } : {}),
    ...(options.tol !== undefined ? { tol: options.tol } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
  const spec: JobSpecInput =
    algorithm === 'kmeans'
      ? { algorithm, k: options.k!, ...common }
      : {
          algorithm,
          ...(options.solver !== undefined ? { solver: options.solver } : {}),
          ...(options.lr !== undefined ? { lr: options.lr } : {}),
          ...(options.l2 !== undefined ? { l2: options.l2 } : {}),
          ...(options.C !== undefined ? { C: options.C } : {}),
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
  const runtime = new LocalRuntime({
    store,
    datasets: data.datasets,
    concurrency: options.concurrency,
    onRound: (metrics) => progress?.round(metrics),
  });
  try {
    const outcome = await runtime.train(spec).finally(() => progress?.stop());
    if (options.out) {
      await writeFileAtomic(options.out, `${JSON.stringify({ ...outcome.result, jobId: outcome.job.jobId, data: options.data }, null, 2)}\n`);
    }
    io.stdout.write(`${formatReport(outcome, { data: options.data, backend: store.kind, out: options.out })}\n`);
  } finally {
    await runtime.close();
    await store.close();
    data.close();
  }
}

