import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecoverHandler } from '../../handlers/recover.js';
import type { JobRecord } from '../../src/domain/job.js';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { deliverAll, pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { captureLogs } from '../helpers/logs.js';
import { makeJob, makeMetrics } from '../stores/contract.js';

/*
 * What a deployed stack costs while nothing runs: the recovery sweep reads live jobs through the
 * state table's sparse index, so its read units do not grow with the finished jobs the table keeps;
 * and a finished job keeps its record, metrics and models, not its rounds' partials and barriers.
 */

let emulators: AwsEmulators;
let p: Pipeline;
captureLogs();
const MINUTE = 60_000;

beforeAll(async () => {
  emulators = await startAwsEmulators();
  p = pipeline(emulators, { BSPML_THREADS: '1' });
});

afterAll(async () => {
  await p?.close();
  await emulators?.close();
});

/** Read units of every request `client` sends from now on (DynamoDB reports them when asked). */
function meterReads(client: DynamoDBClient): { units: () => number; stop: () => void } {
  let units = 0;
  const name = `read-meter-${Math.random()}`;
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      for (const c of [consumed].flat() as { ReadCapacityUnits?: number; CapacityUnits?: number; WriteCapacityUnits?: number }[]) {
        if (c) units += c.ReadCapacityUnits ?? (c.WriteCapacityUnits ? 0 : (c.CapacityUnits ?? 0));
      }
      return result;
    },
    { step: 'initialize', name },
  );
  return { units: () => units, stop: () => client.middlewareStack.remove(name) };
}

/** Jobs that ran and finished: a record, round metrics and models, as the aggregator leaves them. */
async function addFinishedJobs(from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const jobId = `finished-${i}`;
    await p.wiring.store.createJob(makeJob(jobId, { shards: 4 }));
    for (let round = 0; round < 3; round++) {
      await p.wiring.store.putRoundMetrics(jobId, makeMetrics(round));
      await p.wiring.store.putModel(jobId, round, new Uint8Array(2048).fill(i % 251));
    }
    expect(await p.wiring.store.updateJob(jobId, { round: 0, status: 'RUNNING' }, { status: 'SUCCEEDED' })).toBe(true);
  }
}

/** A RUNNING job whose record last changed 20 minutes ago, with no shard arrived: the sweep's work. */
async function addStaleJob(jobId: string): Promise<void> {
  const then = Date.now() - 20 * MINUTE;
  const job: JobRecord = makeJob(jobId, { shards: 2, fanoutRound: 0, updatedAt: then, createdAt: then, roundStartedAt: then });
  job.data = { rows: 4, dims: 2, featureNames: ['a', 'b'] };
  await p.wiring.store.createJob(job);
  await p.wiring.store.putModel(jobId, 0, new Uint8Array(new Float64Array([0, 0, 1, 1, 2, 2]).buffer));
}

/** Read units of one sweep that finds one stale job (a fresh one each time, the last one ended first). */
async function sweepReadUnits(label: string): Promise<{ units: number; results: unknown[] }> {
  await addStaleJob(`stale-${label}`);
  const meter = meterReads(p.wiring.dynamodb);
  try {
    const results = await createRecoverHandler(() => p.wiring)();
    return { units: meter.units(), results };
  } finally {
    meter.stop();
    p.sns.take();
    await p.wiring.store.updateJob(`stale-${label}`, { round: 0, status: 'RUNNING' }, { status: 'FAILED', error: 'ended by the test' });
  }
}

/** Read units of a Scan of the whole table, as the sweep did before the index. */
async function scanReadUnits(): Promise<number> {
  let units = 0;
  let start: Record<string, any> | undefined;
  do {
    const page = await p.wiring.dynamodb.send(new ScanCommand({ TableName: p.wiring.config.table, ReturnConsumedCapacity: 'TOTAL', ExclusiveStartKey: start }));
    units += page.ConsumedCapacity?.CapacityUnits ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return units;
}

describe('the recovery sweep on a table holding many finished jobs', () => {
  it('reads as much with 50 finished jobs as with 5: only the live jobs\' index', async () => {
    // Prepare
    await addFinishedJobs(0, 5);
    const few = await sweepReadUnits('a');
    const scanFew = await scanReadUnits();

    // Act
    await addFinishedJobs(5, 45);
    const many = await sweepReadUnits('b');
    const scanMany = await scanReadUnits();

    // Assess
    expect(few.results).toEqual([expect.objectContaining({ jobId: 'stale-a', action: 'republished' })]);
    expect(many.results).toEqual([expect.objectContaining({ jobId: 'stale-b', action: 'republished' })]);
    expect(few.units).toBeGreaterThan(0);
    expect(many.units).toBe(few.units);
    // What a Scan would have read instead: it grows with the finished jobs.
    expect(scanMany).toBeGreaterThan(5 * scanFew);
    expect(scanMany).toBeGreaterThan(10 * many.units);
    if (process.env.BSPML_PRINT_SWEEP) process.stderr.write(`${JSON.stringify({ sweep: [few.units, many.units], scan: [scanFew, scanMany] })}\n`);
  });
});

describe('a finished job on the deployed path', () => {
  it('keeps its record, metrics and models, and none of its rounds\' partials or barriers', async () => {
    // Prepare
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: 'datasets/kept.csv', Body: 'a,b\n0,0\n0,1\n9,9\n9,8\n5,5\n1,0\n' }));
    const [started] = await p.start({ jobId: 'kept', spec: { algorithm: 'kmeans', k: 2, workers: 3, maxRounds: 4, tol: 0, data: { uri: `s3://${emulators.bucket}/datasets/kept.csv` } } });
    expect(started!.status).toBe('RUNNING');

    // Act
    await deliverAll(p, emulators.queueUrl);

    // Assess
    const job = await p.wiring.store.getJob('kept');
    expect(job?.status).toBe('SUCCEEDED');
    const items = await p.wiring.dynamodb.send(
      new ScanCommand({ TableName: p.wiring.config.table, FilterExpression: 'begins_with(pk, :job)', ExpressionAttributeValues: { ':job': { S: 'JOB#kept' } } }),
    );
    const keys = (items.Items ?? []).map((i) => `${i.pk!.S}|${i.sk!.S}`).sort();
    expect(keys.filter((k) => !/^JOB#kept\|(META|MODEL#\d+|ROUND#\d+|FIELD#.*)$/.test(k))).toEqual([]);
    // One per training round, and the preparation round's.
    expect(keys.filter((k) => k.includes('|ROUND#'))).toHaveLength(job!.result!.rounds + 1);
    expect(keys).toContain(`JOB#kept|META`);
  });
});
