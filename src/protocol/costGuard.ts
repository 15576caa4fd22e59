import { DEFAULT_DEPLOYMENT, estimateCost, type DeploymentShape } from '../costs/estimate.js';
import { SpecError } from '../errors.js';
import { DEFAULT_STACK_BACKEND, stackBackendOf, type JobSpec, type StackBackend } from '../domain/spec.js';
import type { TrainJobRecord, RoundMetrics } from '../domain/job.js';

/*
 * The cost guard: a bad upload must not be able to run up a bill. Two limits, both enforced while
 * the job runs, each ending it FAILED with the reason:
 *
 * - a stack-wide cap on worker invocations (workers × rounds), checked when the job starts (its
 *   workers × (maxRounds + the preparation round)) and again as each round is aggregated (so a cap
 *   lowered mid-job holds);
 * - the spec's optional `maxCostUsd`, against the running cost estimate of src/costs/estimate.ts (the
 *   prices of src/costs/prices.ts, on the job's data plane): refused at start when below the cost of
 *   starting; afterwards a round is not started when the cost so far plus one more round like the
 *   last would pass it.
 */

/** Worker invocations a job may make when the deployment sets no cap (e.g. 100 workers × 1,000 rounds). */
export const DEFAULT_MAX_WORKER_ROUNDS = 100_000;

export interface Limits {
  /** Most worker invocations (workers × rounds) one job may make. */
  maxWorkerRounds: number;
}

export function limitsOf(partial: Partial<Limits> | undefined): Limits {
  return { maxWorkerRounds: partial?.maxWorkerRounds ?? DEFAULT_MAX_WORKER_ROUNDS };
}

/**
 * Throws SpecError when the job cannot run within the limits: more worker invocations than the cap
 * allows (field maxRounds; the preparation round is W invocations too), or a maxCostUsd below what
 * starting the job already costs (field maxCostUsd).
 */
export function checkStart(spec: Pick<JobSpec, 'workers' | 'maxRounds' | 'maxCostUsd' | 'backend'>, limits: Limits): void {
  const invocations = spec.workers * (spec.maxRounds + 1);
  if (invocations > limits.maxWorkerRounds) {
    throw new SpecError(
      `workers × (maxRounds + 1 preparation round) = ${spec.workers} × ${spec.maxRounds + 1} = ${invocations.toLocaleString('en-US')} worker invocations, ` +
        `above this deployment's cap of ${limits.maxWorkerRounds.toLocaleString('en-US')} (BSPML_MAX_WORKER_ROUNDS)`,
      'maxRounds',
    );
  }
  const start = startCostUsd(spec);
  if (spec.maxCostUsd !== undefined && spec.maxCostUsd < start) {
    throw new SpecError(`maxCostUsd $${usd(spec.maxCostUsd)} is below the estimated cost of starting the job, $${usd(start)}`, 'maxCostUsd');
  }
}

/** The data plane a job's requests are priced on: its spec's stack backend (DynamoDB by default). */
function backendOf(spec: unknown): StackBackend {
  return stackBackendOf(spec) ?? DEFAULT_STACK_BACKEND;
}

/**
 * The deployment the guard prices: the stack's default memory at x86_64's GB-second, the higher of
 * Lambda's two prices, so that on either architecture the guard stops a job early rather than late
 * (the functions do not know which architecture the template chose).
 */
const GUARDED: DeploymentShape = { ...DEFAULT_DEPLOYMENT, architecture: 'x86_64' };

/** Estimated cost of the job's start (before any round), in USD. */
export function startCostUsd(spec?: unknown): number {
  return estimateCost({ status: 'RUNNING' }, [], GUARDED, backendOf(spec)).total;
}

/** Estimated cost of one aggregated round, in USD, on the job's data plane. */
export function roundCostUsd(metrics: RoundMetrics, spec?: unknown): number {
  return estimateCost({ status: 'RUNNING' }, [metrics], GUARDED, backendOf(spec)).total - startCostUsd(spec);
}

/**
 * After round `metrics.round` of `job`: the cost so far, and why the job must stop here if it must
 * (the next round would pass a limit).
 */
export function afterRound(job: Pick<TrainJobRecord, 'spec' | 'shards' | 'costUsd'>, metrics: RoundMetrics, limits: Limits): { costUsd: number; stop?: string } {
  const round = roundCostUsd(metrics, job.spec);
  const costUsd = (job.costUsd ?? startCostUsd(job.spec)) + round;
  const invocations = (metrics.round + 1) * job.shards;
  if (invocations + job.shards > limits.maxWorkerRounds) {
    return {
      costUsd,
      stop: `stopped after round ${metrics.round}: ${invocations.toLocaleString('en-US')} worker invocations so far, and another round would pass this deployment's cap of ${limits.maxWorkerRounds.toLocaleString('en-US')} (BSPML_MAX_WORKER_ROUNDS)`,
    };
  }
  const max = job.spec.maxCostUsd;
  if (max !== undefined && costUsd + round > max) {
    return {
      costUsd,
      stop: `stopped after round ${metrics.round}: estimated cost so far $${usd(costUsd)}, about $${usd(round)} a round; another round would pass maxCostUsd $${usd(max)}`,
    };
  }
  return { costUsd };
}

function usd(value: number): string {
  return value.toPrecision(3);
}
