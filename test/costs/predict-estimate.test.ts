import { describe, expect, it } from 'vitest';
import { estimatePredictCost } from '../../src/costs/predictEstimate.js';
import { PRICES } from '../../src/costs/prices.js';
import type { PredictJobRecord } from '../../src/domain/predictJob.js';
import type { PredictPart } from '../../src/domain/job.js';

/*
 * A predict job's estimated cost (src/costs/predictEstimate.ts), from its record: what each kind of
 * record counts, and how the figures move with the tasks' time, the workers' memory and the rows.
 */

const OUT = 's3://b/predictions/iris/j/';
const part = (shard: number, rows: number, ms: number, modelReads = 0): PredictPart => ({ shard, uri: `${OUT}part-0000${shard}.csv`, rows, bytes: rows * 20, ms, modelReads });
const layout = { parts: [{}, {}] } as unknown as PredictJobRecord['layout'];
const job = (status: PredictJobRecord['status'], parts?: PredictPart[]): Pick<PredictJobRecord, 'status' | 'shards' | 'layout' | 'predict'> => ({
  status,
  shards: 2,
  layout,
  predict: { model: { name: 'iris', version: 'v' }, out: OUT, ...(parts ? { parts } : {}) },
});

describe('a predict job\'s estimated cost', () => {
  it('while RUNNING counts the start and its fan-out only, with no rows and no $ per million rows', () => {
    // Act
    const running = estimatePredictCost(job('RUNNING'));

    // Assess
    expect(running.lambda).toBeCloseTo(3 * PRICES.lambdaRequest.usd, 15); // the start and two tasks: no time known yet
    expect(running.sns).toBeCloseTo(2 * PRICES.snsPublish.usd, 15);
    expect(running.rows).toBe(0);
    expect(running.usdPerMillionRows).toBeUndefined();
    expect(running.timedParts).toBe(0);
  });

  it('once SUCCEEDED prices each task\'s time at arm64 GB-s, scales with the workers\' memory, and divides by the rows', () => {
    // Prepare
    const parts = [part(0, 600_000, 900, 1), part(1, 400_000, 500)];

    // Act
    const at1024 = estimatePredictCost(job('SUCCEEDED', parts));
    const at2048 = estimatePredictCost(job('SUCCEEDED', parts), 2048);
    const slower = estimatePredictCost(job('SUCCEEDED', [part(0, 600_000, 1900, 1), part(1, 400_000, 1500)]));

    // Assess
    const requests = 3 * PRICES.lambdaRequest.usd;
    // 2 s more of 1 GB in all.
    expect(slower.lambda - at1024.lambda).toBeCloseTo(2 * PRICES.lambdaGbSecondArm.usd, 12);
    expect(at2048.lambda - requests).toBeCloseTo(2 * (at1024.lambda - requests), 15);
    expect(at1024.rows).toBe(1_000_000);
    expect(at1024.usdPerMillionRows).toBeCloseTo(at1024.total, 15);
    expect(at1024.total).toBeCloseTo(at1024.lambda + at1024.dynamodb + at1024.sns + at1024.s3, 15);
    expect(at1024.sqs + at1024.elasticache).toBe(0);
    // Beyond what a FAILED job's record shows (its start): a PUT per part and the marker's, a probe and the rows per task, one model read.
    const failed = estimatePredictCost(job('FAILED', parts));
    expect(failed.rows).toBe(0);
    expect(at1024.s3 - failed.s3).toBeCloseTo(3 * PRICES.s3Put.usd + 5 * PRICES.s3Get.usd, 15);
  });

  it('counts a model read from S3 only for the tasks that read it', () => {
    // Act
    const once = estimatePredictCost(job('SUCCEEDED', [part(0, 10, 5, 1), part(1, 10, 5, 0)]));
    const twice = estimatePredictCost(job('SUCCEEDED', [part(0, 10, 5, 1), part(1, 10, 5, 1)]));

    // Assess
    expect(twice.s3 - once.s3).toBeCloseTo(PRICES.s3Get.usd, 15);
  });
});
