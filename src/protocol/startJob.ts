import { randomBytes } from 'node:crypto';
import { BspmlError } from '../errors.js';
import { PREPARE_ROUND } from './constants.js';
import { clock, type ProtocolDeps } from './deps.js';
import { failJob } from './failJob.js';
import { publishRound } from './publish.js';
import { checkStart, limitsOf } from './costGuard.js';
import { checkJobId } from '../domain/jobId.js';
import { parseJobSpec } from '../domain/spec.js';
import { newJobFields, type TrainJobRecord } from '../domain/job.js';

export interface StartRequest {
  /** Chosen by the caller (e.g. derived from an upload) or generated. */
  jobId?: string;
  spec: unknown;
}

/**
 * Starts a job: validates the spec, describes the data set (its parts and columns: metadata, no
 * rows) and publishes the preparation round, whose workers load, check and summarise their shards
 * and whose aggregator initialises the model. The job record exists from the first step, so a job
 * that cannot start is left FAILED with its reason rather than missing. Throws the error after
 * recording it.
 */
export async function startJob(deps: ProtocolDeps, request: StartRequest): Promise<TrainJobRecord> {
  const jobId = request.jobId ?? newJobId();
  // Checked before anything is stored: an id no store or queue can take names no job to fail.
  checkJobId(jobId);
  const spec = parseJobSpec(request.spec);
  const now = clock(deps);
  const job: TrainJobRecord = { ...newJobFields(jobId, now), spec, status: 'STARTING', round: PREPARE_ROUND, shards: spec.workers };
  await deps.store.createJob(job);

  try {
    checkStart(spec, limitsOf(deps.limits));
    job.layout = await deps.datasets.describe(spec.data);
  } catch (error) {
    if (error instanceof BspmlError) await failJob(deps.store, jobId, error.message, error.code);
    throw error;
  }

  const startedAt = clock(deps);
  if (!(await deps.store.updateJob(jobId, { round: PREPARE_ROUND, status: 'STARTING' }, { status: 'RUNNING', layout: job.layout, roundStartedAt: startedAt }))) {
    throw new BspmlError('E_CONFLICT', `job ${jobId} changed while it was starting`);
  }
  await publishRound(deps.fanout, deps.store, job, PREPARE_ROUND);
  await deps.store.updateJob(jobId, { round: PREPARE_ROUND, status: 'RUNNING' }, { fanoutRound: PREPARE_ROUND });
  return { ...job, status: 'RUNNING', fanoutRound: PREPARE_ROUND, roundStartedAt: startedAt };
}

/** Sortable by start time, unique enough to never collide: 20261122T210713Z-a1b2c3. */
export function newJobId(date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
