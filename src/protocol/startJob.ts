import { randomBytes } from 'node:crypto';
import { algorithmFor } from '../algorithms/index.js';
import { BspmlError, SpecError } from '../errors.js';
import { encodeModel } from './codec.js';
import { clock, type ProtocolDeps } from './deps.js';
import { failJob } from './failJob.js';
import { publishRound } from './publish.js';
import { checkWorkerRounds, limitsOf } from './costGuard.js';
import { checkJobId } from './jobId.js';
import { parseJobSpec } from './spec.js';
import type { JobRecord } from './types.js';

export interface StartRequest {
  /** Chosen by the caller (e.g. derived from an upload) or generated. */
  jobId?: string;
  spec: unknown;
}

/**
 * Starts a job: validates the spec and the data, initialises the model, stores it as round 0 and
 * publishes round 0. The job record exists from the first step, so a job that cannot start is left
 * FAILED with its reason rather than missing. Throws the validation error after recording it.
 */
export async function startJob(deps: ProtocolDeps, request: StartRequest): Promise<JobRecord> {
  const jobId = request.jobId ?? newJobId();
  // Checked before anything is stored: an id no store or queue can take names no job to fail.
  checkJobId(jobId);
  const spec = parseJobSpec(request.spec);
  const now = clock(deps);
  const job: JobRecord = {
    jobId,
    spec,
    status: 'STARTING',
    round: 0,
    shards: spec.workers,
    fanoutRound: -1,
    recoveries: 0,
    roundStartedAt: now,
    createdAt: now,
    updatedAt: now,
  };
  await deps.store.createJob(job);

  let model: Float64Array;
  try {
    checkWorkerRounds(spec, limitsOf(deps.limits));
    const data = await deps.datasets.load(spec.data);
    const algorithm = algorithmFor(spec);
    algorithm.validate(spec, data);
    if (spec.workers > data.rows) {
      throw new SpecError(`workers = ${spec.workers} is more than the ${data.rows} rows of ${data.source}; every worker needs at least one row`, 'workers');
    }
    model = algorithm.init(spec, data);
    job.data = { rows: data.rows, dims: data.dims, featureNames: data.featureNames, ...(data.labelName ? { labelName: data.labelName } : {}) };
  } catch (error) {
    if (error instanceof BspmlError) await failJob(deps.store, jobId, error.message);
    throw error;
  }

  await deps.store.putModel(jobId, 0, encodeModel(model));
  const startedAt = clock(deps);
  if (!(await deps.store.updateJob(jobId, { round: 0, status: 'STARTING' }, { status: 'RUNNING', data: job.data, roundStartedAt: startedAt }))) {
    throw new BspmlError('E_CONFLICT', `job ${jobId} changed while it was starting`);
  }
  await publishRound(deps.fanout, deps.store, job, 0, model);
  await deps.store.updateJob(jobId, { round: 0, status: 'RUNNING' }, { fanoutRound: 0 });
  return { ...job, status: 'RUNNING', fanoutRound: 0, roundStartedAt: startedAt };
}

/** Sortable by start time, unique enough to never collide: 20261122T210713Z-a1b2c3. */
export function newJobId(date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
