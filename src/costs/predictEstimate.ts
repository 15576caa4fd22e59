import type { PredictJobRecord } from '../domain/predictJob.js';
import { priceUsage, WORKER_OVERHEAD_MS, type CostEstimate, type LambdaArchitecture } from './estimate.js';

/*
 * What a predict job (docs/serving.md) costs on AWS, from its record: the start, one task per shard
 * on the predict topic, each task's time (recorded in its part) and its S3 and state-table requests,
 * the `_SUCCESS` marker and the finishing write. The request counts follow the code
 * (src/protocol/predictRound.ts, src/serve/predictJob.ts); those marked "assumption" depend on the
 * data's layout, which the record does not keep per shard. Prices: src/costs/prices.ts.
 */

/** The predict workers' memory (serverless.yml's predictWorkerMemory default). */
export const DEFAULT_PREDICT_WORKER_MEMORY_MB = 1024;

/** Bytes one part takes in the job record and in a partial (its uri, shard, rows, bytes, ms, reads), about. */
const PART_RECORD_BYTES = 200;
/** The job record less its parts (spec, layout, clocks): assumption, a few columns' layout. */
const RECORD_BASE_BYTES = 1024;

export interface PredictCostEstimate extends CostEstimate {
  /** Rows predicted (0 until the job SUCCEEDED). */
  rows: number;
  /** total / rows × 10⁶; absent until the job SUCCEEDED with rows. */
  usdPerMillionRows?: number;
  /** The parts the Lambda time is known for (their tasks' time is in the parts, recorded at the finish). */
  timedParts: number;
}

/**
 * The estimate of a predict job as its record stands: RUNNING, the start and the fan-out so far
 * (the tasks' times are known once it SUCCEEDED); SUCCEEDED, everything, the marker included.
 * Lambda is priced at `architecture`'s GB-second (arm64 unless deployed otherwise, serverless.yml).
 */
export function estimatePredictCost(job: Pick<PredictJobRecord, 'status' | 'shards' | 'layout' | 'predict'>, predictWorkerMemoryMb = DEFAULT_PREDICT_WORKER_MEMORY_MB, architecture: LambdaArchitecture = 'arm64'): PredictCostEstimate {
  const parts = job.status === 'SUCCEEDED' ? (job.predict?.parts ?? []) : [];
  const published = job.predict ? job.shards : 0;
  const dataParts = job.layout?.parts.length ?? 0;
  const gb = predictWorkerMemoryMb / 1024;

  // Lambda: the start function's request, and each task's time and request.
  const gbSeconds = parts.reduce((sum, p) => sum + ((p.ms + WORKER_OVERHEAD_MS) / 1000) * gb, 0);
  const invocations = 1 + published;
  // S3. The start: the model (read afresh) and, describing the data, a LIST (billed as a PUT) and a
  // ranged GET of each data part's head (assumption: one per part). Each task: its model when its
  // environment did not hold it, and a probe and the shard's rows (assumption, as the training estimate's).
  let s3Gets = job.predict ? 1 + dataParts : 0;
  let s3Puts = job.predict ? 1 : 0;
  for (const p of parts) {
    s3Gets += p.modelReads + 2;
    s3Puts += 1; // the part
  }
  if (job.status === 'SUCCEEDED') s3Puts += 1; // _SUCCESS
  // SNS: one publish per task (a task message is far below the 64 KB a publish is billed by).
  const publishes = published;
  // The state table (DynamoDB, on-demand): the start's record, its RUNNING and fan-out updates; each
  // task reads the record (strongly consistent) and writes its partial and its arrival; the finish
  // reads the record, the arrivals and the partials, writes the record with its parts, and deletes
  // the partials and the barrier.
  let writeUnits = 3;
  let readUnits = 0;
  if (job.status === 'SUCCEEDED') {
    const shards = parts.length;
    writeUnits += shards * 2;
    readUnits += shards;
    readUnits += 2 + Math.ceil((shards * PART_RECORD_BYTES) / 4096);
    writeUnits += Math.ceil((RECORD_BASE_BYTES + shards * PART_RECORD_BYTES) / 1024) + shards + 1;
  }
  const cost = priceUsage({ gbSeconds, invocations, writeUnits, readUnits, publishes, sqsRequests: 0, s3Gets, s3Puts, elasticacheNodeHours: 0 }, architecture);
  const rows = parts.reduce((sum, p) => sum + p.rows, 0);
  return { ...cost, rows, timedParts: parts.length, ...(rows > 0 ? { usdPerMillionRows: (cost.total / rows) * 1e6 } : {}) };
}
