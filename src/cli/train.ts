import type { TrainOptions } from './trainOptions.js';
import { kernelInfo } from '../kernels/backend.js';
import { datasetSource } from './datasets.js';
import type { LogregSolver } from '../domain/spec.js';
import type { RoundMetrics } from '../domain/job.js';
import { BarrierWaitRuntime, type BarrierWaitOutcome } from '../runtime/BarrierWaitRuntime.js';
import { LocalRuntime, type TrainOutcome } from '../runtime/LocalRuntime.js';
import { openStore, type Backend } from '../emulators/open.js';
import { checkWritable, writeFileAtomic } from '../util/files.js';
import { onInterrupt } from '../util/interrupt.js';
import type { CliIo } from './io.js';
import { RoundProgress } from './progress.js';
import { trainJob } from './spec-file.js';
import { formatReport } from './report.js';
import { buildReport } from '../report/build.js';
import { checkReportPath, reportJson, writeReport } from '../report/write.js';
import { ms } from '../util/format.js';
import { SpecError } from '../errors.js';
import { formatValidation, scoreValidation, type ValidationReport } from './validation.js';

/**
 * `bspml train [kmeans|logreg] [--spec NAME.job.json]`: runs one job on the local runtime and
 * reports it. `given` names the options typed on the command line: those override the spec file.
 */
export async function train(algorithm: 'kmeans' | 'logreg' | 'svm' | undefined, options: TrainOptions, io: CliIo, given: ReadonlySet<string> = new Set()): Promise<void> {
  const { spec, input, backend, data } = await trainJob(algorithm, options, given);
  if (options.out) await checkWritable(options.out);
  // A validation set that cannot be read fails before training, not after.
  const validationUri = options.validation ?? (spec.algorithm === 'kmeans' || spec.algorithm === 'logreg' || spec.algorithm === 'svm' ? spec.validation : undefined);
  if (validationUri !== undefined && spec.holdout !== undefined) throw new SpecError('give --validation FILE or --holdout FRACTION, not both', 'holdout');
  if (validationUri !== undefined) await checkValidation(validationUri, options.s3Endpoint);
  if (options.report) {
    checkReportPath(options.report);
    await checkWritable(options.report);
  }
  const store = await openStore(backend, {
    endpoint: options.endpoint,
    table: options.table,
    redisUrl: options.redisUrl,
    bucket: options.bucket,
    prefix: options.prefix,
  });
  // The TypeScript loops are several times slower than the WebAssembly kernels: say so when that is
  // not what was asked for (BSPML_KERNELS=js), with the reason (e.g. a stale kernels.wasm).
  const kernels = kernelInfo();
  if (kernels.kind === 'js' && process.env.BSPML_KERNELS !== 'js' && !options.quiet) {
    io.stderr.write(`bspml: warning: WebAssembly kernels unavailable (${kernels.reason}); using the slower TypeScript loops\n`);
  }
  const progress = options.progress && !options.quiet && !options.json ? new RoundProgress(spec.maxRounds, spec.algorithm === 'kmeans' ? 'inertia' : 'loss', io.stderr) : undefined;
  const source = await datasetSource(data, options.s3Endpoint);
  const onRound = (metrics: RoundMetrics) => progress?.round(metrics);
  const runtime =
    options.sync === 'barrier-wait'
      ? new BarrierWaitRuntime({ store, datasets: source.datasets, onRound })
      : new LocalRuntime({ store, datasets: source.datasets, concurrency: options.concurrency, onRound });
  // On Ctrl-C or kill: the bar's line ended, threads stopped, and the store closed, which stops a
  // server it started (redis-server, dynalite, s3rver and its directory).
  const forget = onInterrupt(startedBy(backend, options), async () => {
    progress?.stop();
    await runtime.close();
    await store.close();
  });
  try {
    const outcome: TrainOutcome | BarrierWaitOutcome = await runtime.train(input).finally(() => progress?.stop());
    // The job's last aggregation scored the held-out rows (protocol/heldOut.ts) when the spec has
    // them; a validation set the run's source cannot read (s3:// beside a local file) is scored here,
    // before the model is written: a validation file that does not fit leaves --out as it was.
    const { validation: scored, ...model } = outcome.result;
    const validation =
      (scored as ValidationReport | undefined) ??
      (validationUri !== undefined
        ? await scoreValidation(validationUri, outcome.result, options.s3Endpoint)
        : spec.holdout !== undefined
          ? await scoreValidation(data, outcome.result, options.s3Endpoint, { fraction: spec.holdout, seed: spec.seed, keep: 'holdout' })
          : undefined);
    if (options.out) {
      await writeFileAtomic(options.out, `${JSON.stringify({ ...model, jobId: outcome.job.jobId, data }, null, 2)}\n`);
    }
    const report = buildReport({
      source: 'local',
      job: outcome.job,
      rounds: outcome.prepare ? [outcome.prepare, ...outcome.rounds] : outcome.rounds,
      backend: store.kind,
      io: outcome.io,
      wallMs: outcome.wallMs,
      workerMemoryMb: options.workerMemory,
      ...(options.architecture ? { architecture: options.architecture } : {}),
    });
    if (validation) report.validation = validation;
    if (options.report) await writeReport(options.report, report);
    if (options.json) io.stdout.write(reportJson(report));
    else if (!options.quiet) io.stdout.write(`${formatReport(outcome, report, { data, out: options.out })}\n`);
    if (validation && !options.json && !options.quiet) io.stdout.write(`${formatValidation(validation).join('\n')}\n`);
    if (isBarrierWait(outcome) && !options.json && !options.quiet) {
      // Every worker is alive, and billed, from the first round to the last: say how much of it was waiting.
      const share = outcome.workerMs > 0 ? Math.round((100 * outcome.waitMs) / outcome.workerMs) : 0;
      io.stdout.write(
        `sync       barrier-wait: workers billed ${ms(outcome.workerMs)} in all, ${ms(outcome.waitMs)} of it waiting at the barrier (${share}%, ${outcome.polls} polls)\n`,
      );
    }
    const tally = 'workers' in outcome ? outcome.workers : undefined;
    if (outcome.job.spec.sync === 'linger' && tally && !options.json && !options.quiet) {
      // How many tasks never went through the fan-out: computed by a worker that waited for them.
      const tasks = tally.invocations + tally.lingeredRounds;
      io.stdout.write(
        `sync       linger: ${tally.lingeredRounds} of ${tasks} worker tasks computed by workers that waited for them, ${ms(tally.waitedMs)} of waiting in all (${tally.claims} claims, ${tally.released} released)\n`,
      );
    }
  } finally {
    forget();
    await runtime.close();
    await store.close();
    source.close();
  }
}

/** Reads the validation set's metadata (its columns): a missing file or a bad header is named before any training. */
async function checkValidation(uri: string, s3Endpoint?: string): Promise<void> {
  const source = await datasetSource(uri, s3Endpoint);
  try {
    await source.datasets.describe({ uri });
  } finally {
    source.close();
  }
}

/** What closing the run stops, for the line an interrupt prints. */
function startedBy(backend: string, options: TrainOptions): string {
  const server =
    backend === 'redis' && !options.redisUrl
      ? 'redis-server'
      : backend === 'dynamodb' && !options.endpoint
        ? 'dynalite'
        : backend === 's3' && !options.endpoint
          ? 's3rver (and its temporary directory)'
          : undefined;
  return server ? `worker threads, ${server}` : 'worker threads';
}

function isBarrierWait(outcome: TrainOutcome | BarrierWaitOutcome): outcome is BarrierWaitOutcome {
  return 'sync' in outcome && outcome.sync === 'barrier-wait';
}
