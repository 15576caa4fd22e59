import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobNotFoundError, SpecError } from '../../src/errors.js';
import { createS3Client } from '../../src/aws/s3.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import type { JobSpec } from '../../src/domain/spec.js';
import { DynamoDbStore } from '../../src/stores/DynamoDbStore.js';
import { createStateTable } from '../../src/stores/dynamodb/createTable.js';
import { RedisStore } from '../../src/stores/RedisStore.js';
import { RoutedStore, type DataPlane } from '../../src/stores/RoutedStore.js';
import { S3Store } from '../../src/stores/S3Store.js';
import { createDynamoDbClient } from '../../src/aws/dynamodb.js';
import { startDynalite } from '../../src/emulators/dynalite.js';
import { findRedisServer, startRedisServer, type LocalRedis } from '../../src/emulators/redis-server.js';
import { enforceConditionalWrites } from '../../src/emulators/s3-local.js';
import { expectAllBytes, expectBytes, makeJob, makeMetrics, pattern, uniqueJobId } from './contract.js';

/*
 * The deployed stack's store: job records and round metrics in DynamoDB (dynalite) for every job,
 * models, partials and the barrier in the store the job's spec names (s3rver, redis-server).
 */

const TABLE = 'bspml-routed-test';
const BUCKET = 'bspml-routed-test';
const hasRedis = findRedisServer() !== undefined;
if (!hasRedis) console.warn('SKIPPED: the Redis-backed RoutedStore test needs redis-server on PATH (apt-get install -y redis-server)');

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let dynamoClient: DynamoDBClient;
let s3: LocalS3;
let s3Client: S3Client;
let redis: LocalRedis | undefined;
const opened: RoutedStore[] = [];

beforeAll(async () => {
  dynamo = await startDynalite();
  dynamoClient = createDynamoDbClient({ endpoint: dynamo.endpoint });
  await createStateTable(dynamoClient, TABLE);
  s3 = await startS3rver([BUCKET]);
  enforceConditionalWrites(s3.server);
  s3Client = createS3Client({ endpoint: s3.endpoint });
  if (hasRedis) redis = await startRedisServer();
});

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  s3Client?.destroy();
  dynamoClient?.destroy();
  await redis?.close();
  await s3?.close();
  await dynamo?.close();
});

/** A router as the wiring builds one; each call is a fresh one, as a cold Lambda container gets. */
function openRouted(planes: Partial<Record<'s3' | 'redis', DataPlane>> = {}): { store: RoutedStore; control: DynamoDbStore } {
  const control = new DynamoDbStore({ client: createDynamoDbClient({ endpoint: dynamo.endpoint }), tableName: TABLE, ownsClient: true });
  const store = new RoutedStore({
    control,
    planes: {
      dynamodb: { open: () => control },
      s3: planes.s3 ?? { open: () => new S3Store({ client: createS3Client({ endpoint: s3.endpoint }), bucket: BUCKET, prefix: 'state/', ownsClient: true }) },
      redis: planes.redis ?? (redis ? { open: () => new RedisStore({ client: new Redis(redis!.url), ownsClient: true }) } : { unavailable: 'no Redis in this test' }),
    },
  });
  opened.push(store);
  return { store, control };
}

function jobOn(backend: JobSpec['backend'], jobId = uniqueJobId(backend ?? 'default')) {
  const job = makeJob(jobId);
  return backend === undefined ? job : { ...job, spec: { ...job.spec, backend } };
}

async function tableKeys(jobId: string): Promise<string[]> {
  const keys: string[] = [];
  for (const pk of [`JOB#${jobId}`, `JOB#${jobId}#R#0#S#0`, `JOB#${jobId}#R#0#S#1`, `JOB#${jobId}#B#0#G#0`, `JOB#${jobId}#B#0#G#1`]) {
    const page = await dynamoClient.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: pk } } }));
    keys.push(...(page.Items ?? []).map((item) => `${item.pk!.S}|${item.sk!.S}`));
  }
  return keys.sort();
}

async function bucketKeys(prefix: string): Promise<string[]> {
  const page = await s3Client.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

describe('RoutedStore', () => {
  it("keeps an S3 job's record and rounds in the table, and its models, partials and barrier under state/ in the bucket", async () => {
    // Prepare
    const job = jobOn('s3');
    const { store } = openRouted();
    const model = pattern(2000, 1);
    const partial = pattern(500_000, 2);

    // Act
    await store.createJob(job);
    await store.putModel(job.jobId, 0, model);
    const written = await store.putPartial(job.jobId, 0, 0, partial);
    const arrival = await store.arrive(job.jobId, 0, 0, 1);
    await store.putRoundMetrics(job.jobId, makeMetrics(0));
    await store.updateJob(job.jobId, { round: 0, status: 'RUNNING' }, { fanoutRound: 0 });
    // A cold router finds the backend in the record.
    const { store: cold } = openRouted();
    const readModel = await cold.getModel(job.jobId, 0);
    const readPartials = await cold.getPartials(job.jobId, 0, 1);

    // Assess
    expect(written).toBe(true);
    expect(arrival).toEqual({ added: true, count: 1, groupFilled: true });
    expectBytes(readModel, model, 'model');
    expectAllBytes(readPartials, [partial]);
    expect(await cold.arrivals(job.jobId, 0, 1)).toEqual([0]);
    expect((await cold.getJob(job.jobId))?.fanoutRound).toBe(0);
    expect((await cold.listRoundMetrics(job.jobId)).map((m) => m.round)).toEqual([0]);
    expect(await tableKeys(job.jobId)).toEqual([`JOB#${job.jobId}|META`, `JOB#${job.jobId}|ROUND#0000000000`]);
    const base = `state/jobs/${job.jobId}/`;
    expect(await bucketKeys(base)).toEqual([`${base}barrier/0000000000/arrived/0`, `${base}barrier/0000000000/ticket/0000000001`, `${base}models/0000000000`, `${base}partials/0000000000/0`]);
  });

  it('keeps two jobs with the same rounds and shards on different backends apart', async () => {
    // Prepare
    const onTable = jobOn(undefined);
    const onBucket = jobOn('s3');
    const { store } = openRouted();
    await store.createJob(onTable);
    await store.createJob(onBucket);

    // Act
    for (const shard of [0, 1]) {
      await store.putPartial(onTable.jobId, 0, shard, pattern(100, 10 + shard));
      await store.putPartial(onBucket.jobId, 0, shard, pattern(100, 20 + shard));
    }
    const tableArrivals = [await store.arrive(onTable.jobId, 0, 1, 2), await store.arrive(onTable.jobId, 0, 0, 2)];
    const bucketArrival = await store.arrive(onBucket.jobId, 0, 1, 2);

    // Assess
    expect(tableArrivals.map((a) => a.count)).toEqual([1, 2]);
    expect(bucketArrival).toEqual({ added: true, count: 1, groupFilled: true });
    expect(await store.arrivals(onTable.jobId, 0, 2)).toEqual([0, 1]);
    expect(await store.arrivals(onBucket.jobId, 0, 2)).toEqual([1]);
    expectAllBytes(await store.getPartials(onTable.jobId, 0, 2), [pattern(100, 10), pattern(100, 11)]);
    expectAllBytes(await store.getPartials(onBucket.jobId, 0, 2), [pattern(100, 20), pattern(100, 21)]);
    expect(await tableKeys(onTable.jobId)).toEqual([
      `JOB#${onTable.jobId}#B#0#G#0|BARRIER`,
      `JOB#${onTable.jobId}#B#0#G#1|BARRIER`,
      `JOB#${onTable.jobId}#R#0#S#0|PART`,
      `JOB#${onTable.jobId}#R#0#S#1|PART`,
      `JOB#${onTable.jobId}|BARRIER#0000000000`,
      `JOB#${onTable.jobId}|META`,
    ]);
    expect(await tableKeys(onBucket.jobId)).toEqual([`JOB#${onBucket.jobId}|META`]);
    expect(await bucketKeys(`state/jobs/${onTable.jobId}/`)).toEqual([]);
    expect(await bucketKeys(`state/jobs/${onBucket.jobId}/partials/`)).toHaveLength(2);
  });

  it('reads a job record once to route any number of data calls', async () => {
    // Prepare
    const job = jobOn('s3');
    await openRouted().store.createJob(job);
    const { store, control } = openRouted();
    const reads = vi.spyOn(control, 'getJob');

    // Act
    await store.putModel(job.jobId, 0, pattern(10, 1));
    await Promise.all([0, 1, 2].map((shard) => store.putPartial(job.jobId, 0, shard, pattern(10, shard))));
    await store.getModel(job.jobId, 0);

    // Assess
    expect(reads).toHaveBeenCalledTimes(1);
    expect(store.routeOf(job.jobId)).toBe('s3');
  });

  it('refuses at createJob a backend the stack was not given, creating nothing, yet records the job FAILED', async () => {
    // Prepare
    const job = jobOn('redis');
    const { store } = openRouted({ redis: { unavailable: 'this stack has no Redis endpoint' } });

    // Act
    const refused = await store.createJob(job).catch((error: unknown) => error);
    const missing = await store.getJob(job.jobId);
    await store.createJob({ ...job, status: 'FAILED', error: 'backend redis: this stack has no Redis endpoint' });

    // Assess
    expect(refused).toBeInstanceOf(SpecError);
    expect((refused as SpecError).message).toBe('backend redis: this stack has no Redis endpoint');
    expect((refused as SpecError).field).toBe('backend');
    expect(missing).toBeUndefined();
    expect(await store.getJob(job.jobId)).toMatchObject({ status: 'FAILED', error: 'backend redis: this stack has no Redis endpoint' });
  });

  it('fails a data call for a job without a record, writing nothing anywhere', async () => {
    // Prepare
    const jobId = uniqueJobId('ghost');
    const { store } = openRouted();

    // Act
    const error = await store.putPartial(jobId, 0, 0, pattern(10, 1)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobNotFoundError);
    expect(await tableKeys(jobId)).toEqual([]);
    expect(await bucketKeys(`state/jobs/${jobId}/`)).toEqual([]);
  });

  it.skipIf(!hasRedis)("keeps a Redis job's models, partials and barrier in Redis and its record in the table", async () => {
    // Prepare
    const job = jobOn('redis');
    const { store } = openRouted();
    const inspect = new Redis(redis!.url);

    try {
      // Act
      await store.createJob(job);
      await store.putModel(job.jobId, 0, pattern(100, 1));
      await store.putPartial(job.jobId, 0, 3, pattern(100, 2));
      const arrival = await store.arrive(job.jobId, 0, 3, 4);
      await store.putRoundMetrics(job.jobId, makeMetrics(0));
      const keys = (await inspect.keys(`bspml:{${job.jobId}}:*`)).sort();

      // Assess
      expect(arrival).toEqual({ added: true, count: 1, groupFilled: false });
      expect(keys).toEqual([`bspml:{${job.jobId}}:barrier:0`, `bspml:{${job.jobId}}:barrier:0:g:1`, `bspml:{${job.jobId}}:model:0`, `bspml:{${job.jobId}}:part:0:3`]);
      expect(await tableKeys(job.jobId)).toEqual([`JOB#${job.jobId}|META`, `JOB#${job.jobId}|ROUND#0000000000`]);
      expectBytes(await openRouted().store.getModel(job.jobId, 0), pattern(100, 1), 'model');
    } finally {
      inspect.disconnect();
    }
  });
});
