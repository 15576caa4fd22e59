import { FileDatasetSource } from '../data/FileDatasetSource.js';
import type { JobSpecInput } from '../protocol/spec.js';
import { LocalRuntime } from '../runtime/LocalRuntime.js';
import { openStore, type Backend } from '../stores/open.js';
import { checkWritable, writeFileAtomic } from '../util/files.js';
import type { CliIo } from './io.js';
import { RoundProgress } from './progress.js';
import { formatReport } from './report.js';
import { buildReport } from '../report/build.js';
import { checkReportPath, reportJson, writeReport } from '../report/write.js';

export interface TrainOptions {
  data: string;
  workers: number;
  threads?: number;
  maxRounds?: number;
  tol?: number;
  seed?: number;
  backend: Backend;
  endpoint?: string;
  table?: string;
  redisUrl?: string;
  bucket?: string;
  prefix?: string;
  concurrency?: number;
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
  // k-means
  k?: number;
  // logistic regression
  labelColumn?: string;
  lr?: number;
  l2?: number;
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
      : { algorithm, ...(options.lr !== undefined ? { lr: options.lr } : {}), ...(options.l2 !== undefined ? { l2: options.l2 } : {}), ...common };

  if (options.out) await checkWritable(options.out);
  if (options.report) {
    checkReportPath(options.report);
    await checkWritable(options.report);
  }
  const store = await openStore(options.backend, {
    endpoint: options.endpoint,
    table: options.table,
    redisUrl: options.redisUrl,
    bucket: options.bucket,
    prefix: options.prefix,
  });
  const progress = options.progress && !options.quiet && !options.json ? new RoundProgress(options.maxRounds ?? 100, algorithm === 'kmeans' ? 'inertia' : 'loss', io.stderr) : undefined;
  const runtime = new LocalRuntime({
    store,
    datasets: new FileDatasetSource(),
    concurrency: options.concurrency,
    onRound: (metrics) => progress?.round(metrics),
  });
  try {
    const outcome = await runtime.train(spec).finally(() => progress?.stop());
    if (options.out) {
      await writeFileAtomic(options.out, `${JSON.stringify({ ...outcome.result, jobId: outcome.job.jobId, data: options.data }, null, 2)}\n`);
    }
    const report = buildReport({
      source: 'local',
      job: outcome.job,
      rounds: outcome.rounds,
      backend: store.kind,
      io: outcome.io.rounds,
      wallMs: outcome.wallMs,
      workerMemoryMb: options.workerMemory,
    });
    if (options.report) await writeReport(options.report, report);
    if (options.json) io.stdout.write(reportJson(report));
    else if (!options.quiet) io.stdout.write(`${formatReport(outcome, report, { data: options.data, out: options.out })}\n`);
  } finally {
    await runtime.close();
    await store.close();
  }
}
