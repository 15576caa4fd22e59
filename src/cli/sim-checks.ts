import { BspmlError, SpecError } from '../errors.js';
import { MAX_WORKERS, parseJobSpec, type LogregSolver } from '../domain/spec.js';

/*
 * What `simulate` and `tune` check before they calibrate or simulate anything (issue 20 defects 7
 * and 8): the job they would simulate must be one `train` accepts (the same job spec, and the same
 * checks of the data's size), each problem said in one line naming the option, and no worker's
 * round may compute longer than Lambda allows, which the simulator would otherwise grind through
 * without answering.
 */

/** Lambda's longest timeout, in ms (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html). */
export const LAMBDA_MAX_TIMEOUT_MS = 900_000;

/** The option that sets each field of the simulated job spec. */
const OPTION_OF: Record<string, string> = { workers: '--workers', threads: '--threads', maxRounds: '--rounds', k: '--k', solver: '--solver' };

export interface SimulatedJob {
  algorithm: 'kmeans' | 'logreg';
  rows: number;
  k: number;
  solver?: LogregSolver;
  workers: number;
  threads: number;
  rounds: number;
}

/** The job spec the simulator builds, validated as train's is; then its size against the rows. */
export function checkSimulatedJob(job: SimulatedJob, command = 'simulate'): void {
  const value: Record<string, unknown> = { workers: job.workers, threads: job.threads, maxRounds: job.rounds, k: job.k, solver: job.solver };
  try {
    parseJobSpec({
      algorithm: job.algorithm,
      ...(job.algorithm === 'kmeans' ? { k: job.k } : job.solver ? { solver: job.solver } : {}),
      workers: job.workers,
      threads: job.threads,
      maxRounds: job.rounds,
      tol: 0,
      data: { uri: 'simulated' },
    });
  } catch (error) {
    if (!(error instanceof SpecError) || error.field === undefined || !(error.field in OPTION_OF)) throw error;
    throw new SpecError(`${command}: ${OPTION_OF[error.field]} ${String(value[error.field])}: ${error.message}`, error.field, { cause: error });
  }
  // As train refuses them once it has read the data.
  if (job.workers > job.rows) throw new SpecError(`${command}: --workers ${job.workers} is more than the ${job.rows} rows (--rows); every worker needs at least one row`, 'workers');
  if (job.algorithm === 'kmeans' && job.k > job.rows) throw new SpecError(`${command}: --k ${job.k} is larger than the ${job.rows} rows (--rows)`, 'k');
}

/** tune tries powers of two up to --max-workers: at most the spec's limit. */
export function checkMaxWorkers(maxWorkers: number): void {
  if (maxWorkers > MAX_WORKERS) throw new SpecError(`tune: --max-workers ${maxWorkers}: a job has at most ${MAX_WORKERS} workers`, 'workers');
}

/**
 * One worker's compute in one round, from the calibrated time per row: past Lambda's 15-minute
 * limit the job cannot run on AWS, and the simulator would model it for minutes or hours of real
 * time. More workers or threads split it.
 */
export function checkRoundFitsLambda(job: Pick<SimulatedJob, 'rows' | 'workers' | 'threads'>, msPerRow: number, command = 'simulate'): void {
  const ms = (Math.ceil(job.rows / job.workers) * msPerRow) / job.threads;
  if (ms <= LAMBDA_MAX_TIMEOUT_MS) return;
  throw new BspmlError(
    'E_ARGUMENT',
    `${command}: --rows ${job.rows} on --workers ${job.workers} × --threads ${job.threads}: a worker would compute about ${Math.round(ms / 1000).toLocaleString('en-US')} s per round, beyond Lambda's limit of ${LAMBDA_MAX_TIMEOUT_MS / 1000} s: give more --workers or --threads, or fewer --rows`,
  );
}
