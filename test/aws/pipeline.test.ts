import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBinary } from '../../src/data/formats/binary.js';
import { formatCsv } from '../../src/data/formats/csv-write.js';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { findRedisServer, startRedisServer } from '../../src/emulators/redis-server.js';
import { enforceConditionalWrites } from '../../src/emulators/s3-local.js';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { nextS3Event } from '../helpers/aws-events.js';
import { deliverAll, pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { captureLogs } from '../helpers/logs.js';
import { blobs, separable, toTable } from '../helpers/data.js';

/*
 * The deployed path end to end on emulators: an upload into s3rver triggers the start handler,
 * SNS messages (captured at the SNS boundary) invoke the worker handler, which reads its shard from
 * S3 and writes DynamoDB (dynalite) and the FIFO queue (local-aws-sqs); received batches invoke the
 * aggregator, which writes the model to S3. The model must be the one the local runtime trains,
 * whichever backend the spec puts the job's data plane on (s3rver; redis-server where installed).
 */

const hasRedis = findRedisServer() !== undefined;
if (!hasRedis) console.warn('SKIPPED: the Redis-backed pipeline run needs redis-server on PATH (apt-get install -y redis-server)');

let emulators: AwsEmulators;
let p: Pipeline;
const tempDir = useTempDirs('bspml-aws-');
const logs = captureLogs();

beforeAll(async () => {
  emulators = await startAwsEmulators();
  // As S3 does, and as S3-backed jobs' barriers need: conditional PUTs honoured, objects never torn.
  enforceConditionalWrites(emulators.s3.server);
  // Two threads per worker, as the local runtime gets below: the same row splits, the same sums.
  p = pipeline(emulators, { BSPML_THREADS: '2' });
});

afterAll(async () => {
  await p?.close();
  await emulators?.close();
});


async function upload(s3: S3Client, key: string, body: Uint8Array | string) {
  const event = nextS3Event(emulators.s3.server, key);
  await s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: key, Body: body }));
  return event;
}

async function readJson(key: string): Promise<Record<string, unknown>> {
  const out = await p.wiring.s3.send(new GetObjectCommand({ Bucket: emulators.bucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString()) as Record<string, unknown>;
}

/** The local runtime the cases compare against: one for the file, its warm containers reused from job to job. */
let localRuntime: LocalRuntime | undefined;

afterAll(async () => {
  await localRuntime?.close();
});

async function trainLocally(file: string, spec: Record<string, unknown>) {
  localRuntime ??= new LocalRuntime({ store: new MemoryStore(), datasets: new FileDatasetSource(), defaultThreads: 2 });
  return await localRuntime.train({ ...spec, data: { ...(spec.data as object), uri: file } });
}

const CASES = [
  {
    name: 'k-means on a CSV upload',
    dataset: 'blobs',
    extension: 'csv',
    data: blobs([[0, 0, 0], [6, 6, 1], [-6, 6, -1]], 200, 1.5, 3),
    spec: { algorithm: 'kmeans', k: 3, workers: 3, seed: 9, maxRounds: 20, tol: 0 },
  },
  {
    name: 'logistic regression on a binary upload (shards read by ranged GETs)',
    dataset: 'churn',
    extension: 'bin',
    data: separable(500, 4, 21),
    spec: { algorithm: 'logreg', workers: 4, lr: 0.5, maxRounds: 6, data: { labelColumn: 'label' } },
  },
  {
    name: 'k-means on a CSV upload, its models, partials and barrier in the data bucket ("backend": "s3")',
    dataset: 'blobs-s3',
    extension: 'csv',
    data: blobs([[0, 0, 0], [6, 6, 1], [-6, 6, -1]], 200, 1.5, 3),
    spec: { algorithm: 'kmeans', k: 3, workers: 3, seed: 9, maxRounds: 20, tol: 0, backend: 's3' },
  },
  {
    name: 'k-means with a holdout: the held-out inertia scored by the last aggregation (issue 19)',
    dataset: 'blobs-holdout',
    extension: 'csv',
    data: blobs([[0, 0, 0], [6, 6, 1], [-6, 6, -1]], 200, 1.5, 3),
    spec: { algorithm: 'kmeans', k: 3, workers: 3, seed: 9, maxRounds: 20, tol: 0, holdout: 0.2 },
  },
] as const;

/** Sort keys of a job's items in the state table (its own partition and its round-0 partials'). */
async function tableKeys(jobId: string): Promise<string[]> {
  const keys: string[] = [];
  for (const pk of [`JOB#${jobId}`, `JOB#${jobId}#R#0#S#0`]) {
    const page = await p.wiring.dynamodb.send(new QueryCommand({ TableName: emulators.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: pk } } }));
    keys.push(...(page.Items ?? []).map((item) => item.sk!.S!.replace(/#\d+$/, '#n')));
  }
  return [...new Set(keys)].sort();
}

async function bucketKeys(prefix: string): Promise<string[]> {
  const page = await p.wiring.s3.send(new ListObjectsCommand({ Bucket: emulators.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!);
}

describe('the AWS handlers on emulators', () => {
  for (const c of CASES) {
    it(`train ${c.name} into s3://BUCKET/models/NAME/, equal to the local runtime's model`, async () => {
      // Prepare
      const table = toTable(c.data);
      const bytes = c.extension === 'csv' ? formatCsv(table) : encodeBinary(table);
      const file = join(await tempDir(), `${c.dataset}.${c.extension}`);
      await writeFile(file, bytes);
      const local = await trainLocally(file, c.spec);
      await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: `datasets/${c.dataset}.job.json`, Body: JSON.stringify(c.spec) }));
      const callsBefore = p.sns.calls.length;

      // Act
      const event = await upload(p.wiring.s3, `datasets/${c.dataset}.${c.extension}`, bytes);
      const [started] = await p.start(event);
      const delivered = await deliverAll(p, emulators.queueUrl);

      // Assess
      expect(started!.status).toBe('RUNNING');
      expect(started!.jobId).toMatch(new RegExp(`^${c.dataset}-\\d{8}T\\d{6}Z-[0-9a-f]{6}$`));
      const job = await p.wiring.store.getJob(started!.jobId);
      expect(job?.status).toBe('SUCCEEDED');
      // Job items carry the expiry the table's TTL acts on: 7 days (BSPML_TTL_DAYS) after their last write.
      const meta = await p.wiring.dynamodb.send(new GetItemCommand({ TableName: emulators.table, Key: { pk: { S: `JOB#${started!.jobId}` }, sk: { S: 'META' } } }));
      expect(Number(meta.Item?.expiresAt?.N) - Date.now() / 1000).toBeGreaterThan(7 * 86_400 - 600);
      expect(Number(meta.Item?.expiresAt?.N) - Date.now() / 1000).toBeLessThanOrEqual(7 * 86_400);
      const model = await readJson(`models/${c.dataset}/${started!.jobId}.json`);
      const latest = await readJson(`models/${c.dataset}/latest.json`);
      expect(latest).toEqual(model);
      const { jobId, data, ...result } = model;
      expect(jobId).toBe(started!.jobId);
      expect(data).toBe(`s3://${emulators.bucket}/datasets/${c.dataset}.${c.extension}`);
      // Held-out figures (a spec with holdout): the same as the local run's, but for the data set's name.
      const { validation: heldOut, ...model1 } = result as typeof local.result;
      const { validation: localHeldOut, ...model2 } = local.result;
      expect(model1).toEqual(model2);
      expect(heldOut === undefined).toBe(!('holdout' in c.spec));
      if (heldOut) expect({ ...heldOut, uri: data }).toEqual({ ...localHeldOut, uri: data });
      expect(local.result.rounds).toBeGreaterThan(1);
      // One PublishBatch per round (W ≤ 10), one worker invocation per shard per round, the
      // preparation round (round 0) included.
      expect(p.sns.calls.length - callsBefore).toBe(local.result.rounds + 1);
      expect(delivered.workerInvocations).toBe((local.result.rounds + 1) * c.spec.workers);
      expect(delivered.responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
      const [prepare, ...rounds] = await p.wiring.store.listRoundMetrics(started!.jobId);
      expect(prepare).toMatchObject({ round: 0, phase: 'prepare', cacheHits: 0, computeMs: 0 });
      expect(rounds.map((r) => r.objective)).toEqual(local.rounds.map((r) => r.objective));
      // One warm container served every shard: each shard loaded once, by the preparation round,
      // then hit in every training round.
      expect(rounds.every((r) => r.cacheHits === c.spec.workers)).toBe(true);
      expect(logs.events('model-written')).toEqual([
        expect.objectContaining({ jobId: started!.jobId, latest: `s3://${emulators.bucket}/models/${c.dataset}/latest.json`, rounds: local.result.rounds }),
      ]);
      // The job's record and rounds are in the table whatever its backend; its data plane only where the spec says.
      const state = await bucketKeys(`state/jobs/${started!.jobId}/`);
      // Every round's partials and barrier were deleted once it was aggregated; models (with the
      // workers' views where a model is stored split: logistic regression's, src/protocol/modelView.ts) and metrics stay.
      const split = c.spec.algorithm === 'logreg';
      if ('backend' in c.spec) {
        expect(await tableKeys(started!.jobId)).toEqual(['META', 'ROUND#n']);
        expect(state.filter((k) => k.includes('/models/'))).toHaveLength(local.result.rounds + 1);
        expect(state.filter((k) => k.includes('/views/'))).toHaveLength(split ? local.result.rounds + 1 : 0);
        expect(state.filter((k) => !k.includes('/models/') && !k.includes('/views/'))).toEqual([]);
      } else {
        expect(await tableKeys(started!.jobId)).toEqual(['META', 'MODEL#n', 'ROUND#n', ...(split ? ['VIEW#n'] : [])]);
        expect(state).toEqual([]);
      }
      // A person who uploaded the data set finds the job by its name and sees it finished.
      const watched = await runBspml(['watch', '--latest', c.dataset, '--endpoint', emulators.env.BSPML_DYNAMODB_ENDPOINT!, '--table', emulators.table, '--region', 'us-east-1']);
      expect(watched.code).toBe(0);
      expect(watched.stdout).toContain(`job        ${started!.jobId}: SUCCEEDED`);
      expect(watched.stdout).toContain(`result     ${local.result.rounds} rounds`);
      if (heldOut) expect(watched.stdout).toContain(`validation ${String(data)} (held out: 20% of the rows, seed 9): ${heldOut.rows} rows; held-out inertia`);
    });
  }

  it('fails a job whose spec asks for Redis on a stack deployed without it, with the reason, publishing nothing', async () => {
    // Prepare
    const spec = { algorithm: 'kmeans', k: 2, workers: 2, backend: 'redis', data: { uri: `s3://${emulators.bucket}/datasets/blobs.csv` } };
    const callsBefore = p.sns.calls.length;
    const reason = 'backend redis: this stack has no Redis endpoint; deploy it with BSPML_REDIS_URL set (see "Deploy to AWS" in README.md)';

    // Act
    const results = await p.start({ spec, jobId: 'wants-redis-1' });

    // Assess
    expect(results).toEqual([{ jobId: 'wants-redis-1', status: 'FAILED', error: reason }]);
    expect(await p.wiring.store.getJob('wants-redis-1')).toMatchObject({ status: 'FAILED', error: reason, spec });
    expect(p.sns.calls.length).toBe(callsBefore);
    expect(logs.events('job-failed')).toEqual([expect.objectContaining({ jobId: 'wants-redis-1', reason })]);
  });

  it.skipIf(!hasRedis)('trains a job with "backend": "redis" on a stack given a Redis endpoint, equal to the local model', async () => {
    // Prepare
    const redis = await startRedisServer();
    const withRedis = pipeline(emulators, { BSPML_THREADS: '2', BSPML_REDIS_URL: redis.url });
    try {
      const data = blobs([[0, 0], [5, 5], [-5, 5]], 150, 1.2, 8);
      const bytes = formatCsv(toTable(data));
      const file = join(await tempDir(), 'blobs-redis.csv');
      await writeFile(file, bytes);
      const spec = { algorithm: 'kmeans', k: 3, workers: 3, seed: 4, maxRounds: 15, tol: 0, backend: 'redis' };
      const local = await trainLocally(file, spec);
      await withRedis.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: 'datasets/blobs-redis.csv', Body: bytes }));

      // Act
      const [started] = await withRedis.start({ spec: { ...spec, data: { uri: `s3://${emulators.bucket}/datasets/blobs-redis.csv` } }, jobId: 'blobs-redis-1' });
      const delivered = await deliverAll(withRedis, emulators.queueUrl);

      // Assess
      expect(started).toEqual({ jobId: 'blobs-redis-1', status: 'RUNNING' });
      expect(await withRedis.wiring.store.getJob('blobs-redis-1')).toMatchObject({ status: 'SUCCEEDED' });
      const { jobId, data: uri, ...result } = await readJson('models/blobs-redis/blobs-redis-1.json');
      expect(jobId).toBe('blobs-redis-1');
      expect(uri).toBe(`s3://${emulators.bucket}/datasets/blobs-redis.csv`);
      expect(result).toEqual(local.result);
      expect(delivered.workerInvocations).toBe((local.result.rounds + 1) * 3);
      expect(await tableKeys('blobs-redis-1')).toEqual(['META', 'ROUND#n']);
      expect(await bucketKeys('state/jobs/blobs-redis-1/')).toEqual([]);
    } finally {
      await withRedis.close();
      await redis.close();
    }
  });
});
