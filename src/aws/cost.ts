import { PRICES } from '../pricing.js';
import type { JobRecord, RoundMetrics } from '../protocol/types.js';

/** What the cost estimate assumes about a deployment (serverless.yml's defaults). */
export interface DeploymentShape {
  workerMemoryMb: number;
  aggregatorMemoryMb: number;
}

export const DEFAULT_DEPLOYMENT: DeploymentShape = { workerMemoryMb: 10240, aggregatorMemoryMb: 2048 };

/**
 * Per-invocation time the round records do not hold (assumptions, not measurements): a worker's
 * store calls and message handling around its compute, and a whole aggregation.
 */
const WORKER_OVERHEAD_MS = 40;
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
  total: number;
}

/**
 * An estimate of what a job has cost so far, from its round records and the prices in
 * src/pricing.ts. Worker time is bounded by each round's slowest worker (the records keep the
 * maximum, not the sum), so the Lambda part is an upper bound for uneven shards.
 */
export function estimateCost(job: Pick<JobRecord, 'status'>, rounds: RoundMetrics[], shape: DeploymentShape = DEFAULT_DEPLOYMENT): CostEstimate {
  let gbSeconds = 0;
  let invocations = 1; // the start function
  let writeUnits = 3; // the job record, model 0, the RUNNING update
  let readUnits = 0;
  let publishes = 0;
  let s3Gets = 2; // the spec and the whole data set, at start
  const workerGb = shape.workerMemoryMb / 1024;
  const aggregatorGb = shape.aggregatorMemoryMb / 1024;
  for (const r of rounds) {
    const misses = r.workers - r.cacheHits;
    gbSeconds += (r.workers * (r.computeMs + WORKER_OVERHEAD_MS) + misses * r.loadMs) / 1000 * workerGb + (AGGREGATOR_MS / 1000) * aggregatorGb;
    invocations += r.workers + 1;
    const partialKb = r.partialBytes / Math.max(1, r.workers) / 1024;
    // Workers: the partial and the barrier; aggregator: metrics, next model, two job updates.
    writeUnits += r.workers * (Math.ceil(partialKb) + 1) + 1 + Math.ceil(r.modelBytes / 1024) + 2;
    // Aggregator: the job, every partial and the model (strongly consistent: 1 unit per 4 KB).
    readUnits += 1 + r.workers * Math.ceil(partialKb / 4) + Math.ceil(r.modelBytes / 4096);
    const messageBytes = Math.ceil((r.modelBytes * 4) / 3) + 200;
    publishes += r.workers * Math.ceil(messageBytes / SNS_BILLING_BYTES);
    s3Gets += misses * 2; // a probe and the shard's rows
  }
  // The model and latest.json, once the job has finished.
  const s3Puts = job.status === 'SUCCEEDED' ? 2 : 0;
  const cost = {
    lambda: gbSeconds * PRICES.lambdaGbSecond.usd + invocations * PRICES.lambdaRequest.usd,
    dynamodb: writeUnits * PRICES.dynamoWriteUnit.usd + readUnits * PRICES.dynamoReadUnit.usd,
    sns: publishes * PRICES.snsPublish.usd,
    sqs: rounds.length * SQS_REQUESTS_PER_ROUND * PRICES.sqsFifoRequest.usd,
    s3: s3Gets * PRICES.s3Get.usd + s3Puts * PRICES.s3Put.usd,
  };
  return { ...cost, total: cost.lambda + cost.dynamodb + cost.sns + cost.sqs + cost.s3 };
}
