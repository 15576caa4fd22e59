import { randomUUID } from 'node:crypto';
import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { CHUNK_BYTES } from '../../src/stores/dynamodb/layout.js';
import { DynamoDbStore } from '../../src/stores/DynamoDbStore.js';
import { createStateTable } from '../../src/stores/dynamodb/createTable.js';
import { createDynamoDbClient } from '../../src/aws/dynamodb.js';
import { openDynamoDbStore, startDynalite } from '../../src/emulators/dynalite.js';
import { metered } from '../../src/util/io-meter.js';
import { useDynaliteTable } from '../helpers/dynalite-table.js';
import { expectAllBytes, expectBytes, makeJob, makeMetrics, pattern, stateStoreContract, uniqueJobId } from './contract.js';

const TABLE = 'bspml-test';
const dynamo = useDynaliteTable(TABLE);
const openStore = dynamo.open;

/** Every item of a partition, read around the store, to see what it left behind. */
async function partition(client: DynamoDBClient, pk: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: pk } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

stateStoreContract('dynamodb (dynalite)', async () => openStore());

describe('DynamoDbStore on dynalite', () => {
  it('wraps SDK errors in StoreError, keeping the SDK error and its metadata as cause', async () => {
    // Prepare
    const store = openStore({ tableName: `missing-${randomUUID()}` });
    try {
      // Act
      const error = await store.getJob(uniqueJobId()).catch((err: unknown) => err);

      // Assess
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'E_STORE', cause: { name: 'ResourceNotFoundException' } });
      expect((error as StoreError).message).toMatch(/getJob GetItem on table missing-/);
      expect((error as { cause: { $metadata?: { httpStatusCode?: number } } }).cause.$metadata?.httpStatusCode).toBe(400);
    } finally {
      await store.close();
    }
  });

  it("keeps the winner's partial intact beside a losing duplicate's orphaned chunks", async () => {
    // Prepare
    const jobId = uniqueJobId();
    const size = 900 * 1024;
    const store = openStore();
    const other = openStore();
    const inspect = createDynamoDbClient({ endpoint: dynamo.endpoint() });
    try {
      // Act: two writers race on shard 0; on shard 1 the loser's chunks land after the winner's head.
      const raced = await Promise.all([store.putPartial(jobId, 0, 0, pattern(size, 1)), other.putPartial(jobId, 0, 0, pattern(size, 2))]);
      const first = await store.putPartial(jobId, 0, 1, pattern(size, 3));
      const late = await other.putPartial(jobId, 0, 1, pattern(size, 4));
      const partials = await other.getPartials(jobId, 0, 2);
      const items = [...(await partition(inspect, `JOB#${jobId}#R#0#S#0`)), ...(await partition(inspect, `JOB#${jobId}#R#0#S#1`))];

      // Assess
      expect(raced.filter(Boolean)).toHaveLength(1);
      const winner = raced[0] ? pattern(size, 1) : pattern(size, 2);
      expectBytes(partials[0], winner, 'raced shard');
      expect([first, late]).toEqual([true, false]);
      expectBytes(partials[1], pattern(size, 3), 'late duplicate shard');
      const chunksPerWrite = Math.ceil(size / CHUNK_BYTES);
      // Four writers' chunks (two of them orphans) plus two heads: the orphans were really written.
      expect(items).toHaveLength(4 * chunksPerWrite + 2);
    } finally {
      inspect.destroy();
      await Promise.all([store.close(), other.close()]);
    }
  });

  it('round-trips payloads at the chunk boundary', async () => {
    // Prepare
    const jobId = uniqueJobId();
    const sizes = [CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES];
    const store = openStore();
    try {
      // Act
      for (const [shard, size] of sizes.entries()) await store.putPartial(jobId, 0, shard, pattern(size, shard));
      for (const [round, size] of sizes.entries()) await store.putModel(jobId, round, pattern(size, 10 + round));
      const partials = await store.getPartials(jobId, 0, sizes.length);
      const models = await Promise.all(sizes.map((_, round) => store.getModel(jobId, round)));

      // Assess
      expectAllBytes(partials, sizes.map((size, shard) => pattern(size, shard)));
      expectAllBytes(models.map((m) => m!), sizes.map((size, round) => pattern(size, 10 + round)));
    } finally {
      await store.close();
    }
  });

  it('reads more partials than one batch holds, retrying unprocessed keys', async () => {
    // Prepare: 150 heads exceed BatchGetItem's 100 keys; 4 MB of chunks exceed one response.
    const jobId = uniqueJobId();
    const store = openStore();
    const big = new Set([3, 77, 120, 149]);
    const sizeOf = (shard: number) => (big.has(shard) ? 1024 * 1024 : 24);
    try {
      for (let shard = 0; shard < 150; shard += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.putPartial(jobId, 0, shard + i, pattern(sizeOf(shard + i), shard + i))),
        );
      }

      // Act
      const { value: partials, io } = await metered(() => store.getPartials(jobId, 0, 150));

      // Assess: two head batches, then 12 chunks that dynalite serves about 4 to a response.
      expect(io.requests).toBeGreaterThan(4);
      expectAllBytes(partials, Array.from({ length: 150 }, (_, shard) => pattern(sizeOf(shard), shard)));
    } finally {
      await store.close();
    }
  });

  it('puts an expiresAt on every item when ttlSeconds is set', async () => {
    // Prepare
    const jobId = uniqueJobId();
    const store = openStore({ ttlSeconds: 3600 });
    const inspect = createDynamoDbClient({ endpoint: dynamo.endpoint() });
    const now = Math.floor(Date.now() / 1000);
    try {
      // Act
      await store.createJob(makeJob(jobId));
      await store.updateJob(jobId, { round: 0, status: 'RUNNING' }, { fanoutRound: 0 });
      await store.putModel(jobId, 0, pattern(CHUNK_BYTES + 10, 1));
      await store.putPartial(jobId, 0, 0, pattern(CHUNK_BYTES + 10, 2));
      await store.putPartial(jobId, 0, 1, pattern(10, 3));
      await store.arrive(jobId, 0, 0, 1);
      await store.putRoundMetrics(jobId, makeMetrics(0));
      const items = [];
      for (const pk of [`JOB#${jobId}`, `JOB#${jobId}#R#0#S#0`, `JOB#${jobId}#R#0#S#1`, `JOB#${jobId}#B#0#G#0`]) items.push(...(await partition(inspect, pk)));

      // Assess: META, model head + 2 chunks, metrics; 2 partial heads + 2 chunks; the barrier's one group (W = 1: no root).
      expect(items).toHaveLength(10);
      for (const item of items) {
        const expiresAt = Number(item.expiresAt?.N);
        expect(expiresAt, item.sk?.S).toBeGreaterThanOrEqual(now + 3600);
        expect(expiresAt, item.sk?.S).toBeLessThan(now + 3700);
      }
    } finally {
      inspect.destroy();
      await store.close();
    }
  });

  it('meters one request per AWS call with approximate bytes', async () => {
    // Prepare
    const jobId = uniqueJobId();
    const size = 900 * 1024;
    const store = openStore();
    try {
      // Act
      const write = await metered(() => store.putPartial(jobId, 0, 0, pattern(size, 1)));
      const read = await metered(() => store.getPartials(jobId, 0, 1));

      // Assess: three chunks and a head; one batch of heads and one of chunks.
      expect(write.io.requests).toBe(Math.ceil(size / CHUNK_BYTES) + 1);
      expect(write.io.bytesWritten).toBeGreaterThanOrEqual(size);
      expect(read.io.requests).toBe(2);
      expect(read.io.bytesRead).toBeGreaterThanOrEqual(size);
    } finally {
      await store.close();
    }
  });

  it('opens a store on its own dynalite, or on an endpoint creating the table once', async () => {
    // Prepare
    const tableName = `opened-${randomUUID()}`;
    const job = makeJob(uniqueJobId());

    // Act
    const own = await openDynamoDbStore();
    try {
      await own.createJob(job);
      expect(await own.getJob(job.jobId)).toEqual(job);
    } finally {
      await own.close();
    }
    const first = await openDynamoDbStore({ endpoint: dynamo.endpoint(), tableName });
    const second = await openDynamoDbStore({ endpoint: dynamo.endpoint(), tableName });
    try {
      await first.createJob(job);

      // Assess
      expect(own.kind).toBe('dynamodb');
      expect(second.tableName).toBe(tableName);
      expect(await second.getJob(job.jobId)).toEqual(job);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
