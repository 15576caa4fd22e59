import { ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { recoverJob } from '../../src/protocol/recover.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { barrierGroups } from '../../src/domain/groups.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { createDynamoDbClient } from '../../src/aws/dynamodb.js';
import { useDynaliteTable } from '../helpers/dynalite-table.js';
import { blobs } from '../helpers/data.js';
import { makeJob, uniqueJobId } from './contract.js';

/*
 * The DynamoDB layout meant for 1,000 workers: one partition key per partial, a two-level barrier
 * whose items each take about √W arrivals instead of W. Checked on dynalite, which has no
 * partition throughput limits: these tests check where the writes land, the simulator
 * (`bspml simulate`) what that does to throttling.
 */

const TABLE = 'bspml-scale-test';
const dynamo = useDynaliteTable(TABLE);
const openStore = () => dynamo.open();

async function itemsUnder(prefix: string): Promise<Record<string, AttributeValue>[]> {
  const client = createDynamoDbClient({ endpoint: dynamo.endpoint() });
  const items: Record<string, AttributeValue>[] = [];
  try {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: TABLE,
          FilterExpression: 'begins_with(pk, :p)',
          ExpressionAttributeValues: { ':p': { S: prefix } },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return items;
}

describe('DynamoDbStore at many workers', () => {
  it('spreads one round of a 16-worker job over at least 16 partition keys and trains the memory store’s model', async () => {
    // Prepare
    const datasets = new MemoryDatasetSource().add('blobs', blobs([[0, 0], [5, 5], [-5, 5]], 160, 1, 4));
    const spec = { algorithm: 'kmeans', k: 3, seed: 2, workers: 16, threads: 1, maxRounds: 2, tol: 0, data: { uri: 'blobs' } };
    const store = openStore();
    const onDynamo = new LocalRuntime({ store, datasets, defaultThreads: 1, concurrency: 4 });
    const onMemory = new LocalRuntime({ store: new MemoryStore(), datasets, defaultThreads: 1, concurrency: 4 });
    // The aggregator clears a round's partials and barrier once the job is past it: look just before.
    let round1: Record<string, AttributeValue>[] = [];
    let barrier1: Record<string, AttributeValue>[] = [];
    const clearRound = store.clearRound.bind(store);
    store.clearRound = async (jobId, round, shards) => {
      if (round === 1) [round1, barrier1] = await Promise.all([itemsUnder(`JOB#${jobId}#R#1#`), itemsUnder(`JOB#${jobId}#B#1#`)]);
      return clearRound(jobId, round, shards);
    };
    try {
      // Act
      const out = await onDynamo.train(spec);
      const reference = await onMemory.train(spec);

      // Assess
      expect(new Set(round1.map((item) => item.pk!.S)).size).toBeGreaterThanOrEqual(16);
      expect(barrier1).toHaveLength(barrierGroups(16));
      expect(out.result).toEqual(reference.result);
    } finally {
      await Promise.all([onDynamo.close(), onMemory.close()]);
      await store.close();
    }
  });

  it('counts 200 concurrent shards and their duplicates once, each barrier item taking at most ⌈√W⌉ arrivals', async () => {
    // Prepare
    const W = 200;
    const jobId = uniqueJobId();
    const store = openStore();
    const shards = Array.from({ length: W }, (_, i) => i);
    const calls = [...shards, ...shards.slice(0, 50).reverse()];
    try {
      // Act
      const results = await Promise.all(calls.map((shard) => store.arrive(jobId, 3, shard, W)));
      const arrived = await store.arrivals(jobId, 3, W);
      const groupItems = await itemsUnder(`JOB#${jobId}#B#3#`);

      // Assess
      expect(results.filter((r) => r.added)).toHaveLength(W);
      expect(results.filter((r) => r.added && r.count === W)).toHaveLength(1);
      expect(results.filter((r) => !r.added && r.count > W)).toHaveLength(0);
      expect(arrived).toEqual(shards);
      expect(groupItems).toHaveLength(15);
      for (const item of groupItems) expect(Number(item.arrived!.N)).toBeLessThanOrEqual(15);
      expect(groupItems.reduce((sum, item) => sum + Number(item.arrived!.N), 0)).toBe(W);
    } finally {
      await store.close();
    }
  });

  it('lets recovery finish a round whose group-filling arrival died before reaching the root', async () => {
    // Prepare: 4 shards in groups {0, 2} and {1, 3}; shard 3's group write lands, then it dies.
    const jobId = uniqueJobId();
    const store = openStore();
    const client = createDynamoDbClient({ endpoint: dynamo.endpoint() });
    const sent: number[] = [];
    try {
      await store.createJob(makeJob(jobId, { shards: 4, status: 'RUNNING', round: 0 }));
      const before = await Promise.all([0, 1, 2].map((shard) => store.arrive(jobId, 0, shard, 4)));
      await client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: { S: `JOB#${jobId}#B#0#G#1` }, sk: { S: 'BARRIER' } },
          UpdateExpression: 'ADD arrived :one, shards :s',
          ExpressionAttributeValues: { ':one': { N: '1' }, ':s': { SS: ['3'] } },
        }),
      );

      // Act
      const redelivered = await store.arrive(jobId, 0, 3, 4);
      const outcome = await recoverJob(
        { store, fanout: { publish: async () => undefined }, completion: { send: async (m) => void sent.push(m.round) } },
        jobId,
      );

      // Assess
      expect(before.every((r) => r.added && r.count < 4)).toBe(true);
      expect(redelivered.added).toBe(false);
      expect(redelivered.count).toBeLessThan(4);
      expect(await store.arrivals(jobId, 0, 4)).toEqual([0, 1, 2, 3]);
      expect(outcome).toEqual({ action: 'completion-resent' });
      expect(sent).toEqual([0]);
    } finally {
      client.destroy();
      await store.close();
    }
  });
});
