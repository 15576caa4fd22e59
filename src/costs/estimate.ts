import { ASSUMED_ROUNDS_PER_NODE_HOUR, PRICES } from './prices.js';
import type { StackBackend } from '../domain/spec.js';
import type { JobRecord, RoundMetrics } from '../domain/job.js';

/** What the cost estimate assumes about a deployment (serverless.yml's defaults). */
export interface DeploymentShape {
  workerMemoryMb: number;
  aggregatorMemoryMb: number;
  /** The functions' architecture (serverless.yml's `architecture`, arm64 unless deployed with x86_64): it sets the GB-second price. */
  architecture: LambdaArchitecture;
}

export type LambdaArchitecture = 'arm64' | 'x86_64';
export const LAMBDA_ARCHITECTURES = ['arm64', 'x86_64'] as const;

export const DEFAULT_DEPLOYMENT: DeploymentShape = { workerMemoryMb: 3008, aggregatorMemoryMb: 2048, architecture: 'arm64' };

/** Lambda's price of a GB-second on `architecture` (Graviton's is about 20 % lower). */
export function gbSecondUsd(architecture: LambdaArchitecture): number {
  return architecture === 'x86_64' ? PRICES.lambdaGbSecond.usd : PRICES.lambdaGbSecondArm.usd;
}

/**
 * Per-invocation time the round records do not hold (assumptions, not measurements): a worker's
 * store calls and message handling around its compute, and a whole aggregation.
 */
export const WORKER_OVERHEAD_MS = 40;
const AGGREGATOR_MS = 150;
/** SNS bills a publish per 64 KB of message; SQS FIFO per request (send, receive, delete). */
const SNS_BILLING_BYTES = 64 * 1024;
const SQS_REQUESTS_PER_ROUND = 3;

export interface CostEstimate {
  lambda: number;
  dynamodb: number;
  sns: number;
  sqs: number;
  s3: number;
  /** A Redis data plane's node-hours, amortised per round (ASSUMED_ROUNDS_PER_NODE_HOUR). */
  elasticache: number;
  total: number;
}

/** What a job used, in the units AWS bills. */
export interface Usage {
  gbSeconds: number;
  invocations: number;
  /** DynamoDB on-demand request units. */
  writeUnits: number;
  readUnits: number;
  publishes: number;
  sqsRequests: number;
  s3Gets: number;
  s3Puts: number;
  elasticacheNodeHours: number;
}

/** `usage` at the prices of src/costs/prices.ts, Lambda's GB-seconds at `architecture`'s. */
export function priceUsage(usage: Usage, architecture: LambdaArchitecture): CostEstimate {
  const cost = {
    lambda: usage.gbSeconds * gbSecondUsd(architecture) + usage.invocations * PRICES.lambdaRequest.usd,
    dynamodb: usage.writeUnits * PRICES.dynamoWriteUnit.usd + usage.readUnits * PRICES.dynamoReadUnit.usd,
    sns: usage.publishes * PRICES.snsPublish.usd,
    sqs: usage.sqsRequests * PRICES.sqsFifoRequest.usd,
    s3: usage.s3Gets * PRICES.s3Get.usd + usage.s3Puts * PRICES.s3Put.usd,
    elasticache: usage.elasticacheNodeHours * PRICES.elasticacheT4gSmallHour.usd,
  };
  return { ...cost, total: cost.lambda + cost.dynamodb + cost.sns + cost.sqs + cost.s3 + cost.elasticache };
}

/** The services of a CostEstimate, in the order reports list them. */
export const COST_SERVICES = ['lambda', 'dynamodb', 'sns', 'sqs', 's3', 'elasticache'] as const;

/**
 * An estimate of what a job has cost so far, from its round records and the prices in
 * src/costs/prices.ts. Worker time is bounded by each round's slowest worker (the records keep the
 * maximum, not the sum), so the Lambda part is an upper bound for uneven shards.
 *
 * `backend` is where the job's data plane (models, partials, barrier) lives: DynamoDB (the stack's
 * default), S3 or Redis. The job record and round metrics are in DynamoDB whatever it is. Request
 * counts per round follow each store's layout (src/stores/*Store.ts); `bspml bench backends`
 * measures them on emulators.
 */
export function estimateCost(
  job: Pick<JobRecord, 'status'>,
  rounds: RoundMetrics[],
  shape: DeploymentShape = DEFAULT_DEPLOYMENT,
  backend: StackBackend = 'dynamodb',
): CostEstimate {
  let gbSeconds = 0;
  let invocations = 1; // the start function
  let writeUnits = 2; // the job record and the RUNNING update
  let readUnits = 0;
  let publishes = 0;
  let s3Gets = 2; // the spec and the whole data set, at start
  let s3Puts = 0;
  const workerGb = shape.workerMemoryMb / 1024;
  const aggregatorGb = shape.aggregatorMemoryMb / 1024;
  // Model 0, written by start.
  if (backend === 'dynamodb') writeUnits += 1;
  else if (backend === 's3') s3Puts += 1;
  for (const r of rounds) {
    const misses = r.workers - r.cacheHits;
    gbSeconds += (r.workers * (r.computeMs + WORKER_OVERHEAD_MS) + misses * r.loadMs) / 1000 * workerGb + (AGGREGATOR_MS / 1000) * aggregatorGb;
    invocations += r.workers + 1;
    const partialKb = r.partialBytes / Math.max(1, r.workers) / 1024;
    // What the workers are sent: the model, or its view where the model is stored split (src/protocol/modelView.ts), stored beside it.
    const sentBytes = r.viewBytes ?? r.modelBytes;
    const viewBytes = r.viewBytes ?? 0;
    // Control plane, in DynamoDB: the aggregator's read of the job, its metrics and two job updates.
    writeUnits += 1 + 2;
    readUnits += 1;
    if (backend === 'dynamodb') {
      // Workers: the partial and the barrier; aggregator: the next model (and its view).
      writeUnits += r.workers * (Math.ceil(partialKb) + 1) + Math.ceil(r.modelBytes / 1024) + Math.ceil(viewBytes / 1024);
      // Aggregator: every partial and the model (strongly consistent: 1 unit per 4 KB).
      readUnits += r.workers * Math.ceil(partialKb / 4) + Math.ceil(r.modelBytes / 4096);
    } else if (backend === 's3') {
      // Workers: the partial, an arrival marker, a ticket, and a LIST of the markers (billed as a
      // PUT); aggregator: the next model. Then it GETs every partial and the model.
      s3Puts += r.workers * 4 + 1 + (r.viewBytes !== undefined ? 1 : 0);
      s3Gets += r.workers + 1;
    }
    const messageBytes = Math.ceil((sentBytes * 4) / 3) + 200;
    publishes += r.workers * Math.ceil(messageBytes / SNS_BILLING_BYTES);
    s3Gets += misses * 2; // a probe and the shard's rows
  }
  // The model and latest.json, once the job has finished.
  if (job.status === 'SUCCEEDED') s3Puts += 2;
  const sqsRequests = rounds.length * SQS_REQUESTS_PER_ROUND;
  const elasticacheNodeHours = backend === 'redis' ? rounds.length / ASSUMED_ROUNDS_PER_NODE_HOUR : 0;
  return priceUsage({ gbSeconds, invocations, writeUnits, readUnits, publishes, sqsRequests, s3Gets, s3Puts, elasticacheNodeHours }, shape.architecture);
}
