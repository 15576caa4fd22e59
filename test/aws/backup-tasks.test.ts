import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_CHECK_SOURCE } from '../../src/aws/SqsDelayed.js';
import { formatCsv } from '../../src/data/formats/csv-write.js';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { nextS3Event, snsEvent, sqsEvent } from '../helpers/aws-events.js';
import { deliverAll, pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { useTempDirs } from '../helpers/cli.js';
import { blobs } from '../helpers/data.js';
import { captureLogs } from '../helpers/logs.js';

/*
 * Backup tasks on the emulated stack (issue 18, item 5): with BSPML_BACKUP_TASKS=on the aggregator
 * sends each round a delayed check to a standard SQS queue (local-aws-sqs); the check, handed to the
 * aggregator as its event source mapping would, re-publishes a shard held back, and the job ends
 * with the local runtime's model.
 */

let emulators: AwsEmulators;
let p: Pipeline;
let backupQueueUrl: string;
const tempDir = useTempDirs('bspml-backup-');
const logs = captureLogs();

beforeAll(async () => {
  emulators = await startAwsEmulators();
  const sqs = (await import('../helpers/aws-emulators.js')).localSqsClient(emulators.sqsEndpoint);
  backupQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'backup-checks' }))).QueueUrl!;
  sqs.destroy();
  p = pipeline(emulators, { BSPML_THREADS: '1', BSPML_BACKUP_TASKS: 'on', BSPML_BACKUP_QUEUE_URL: backupQueueUrl });
});

afterAll(async () => {
  await p?.close();
  await emulators?.close();
});

describe('backup tasks on the emulated stack', () => {
  it('re-publishes a straggling shard from a delayed check, and the job ends with the local model', async () => {
    // Prepare: a k-means job on 5 shards (the quorum is 4); the preparation round runs.
    const data = blobs([[0, 0, 0], [6, 6, 1], [-6, 6, -1]], 100, 1.5, 3);
    const spec = { algorithm: 'kmeans', k: 3, workers: 5, seed: 9, maxRounds: 3, tol: 0 } as const;
    const bytes = formatCsv({ columns: data.featureNames, rows: data.rows, cols: data.dims, values: data.features, hasHeader: true, firstLine: 2 });
    const file = join(await tempDir(), 'stragglers.csv');
    await writeFile(file, bytes);
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: 'datasets/stragglers.job.json', Body: JSON.stringify(spec) }));
    const event = nextS3Event(emulators.s3.server, 'datasets/stragglers.csv');
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: 'datasets/stragglers.csv', Body: bytes }));
    const [started] = await p.start(await event);
    const jobId = started!.jobId;
    // Round 0 and its aggregation, which publishes round 1 and schedules its check.
    for (const task of p.sns.take()) await p.worker(snsEvent(task));
    const received = await p.sqs.send(new ReceiveMessageCommand({ QueueUrl: emulators.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    await p.aggregator(sqsEvent(received.Messages ?? []));
    for (const m of received.Messages ?? []) await p.sqs.send(new DeleteMessageCommand({ QueueUrl: emulators.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    const round1 = p.sns.take();
    const held = round1.find((t) => JSON.parse(t.message).shard === 3)!;
    for (const task of round1.filter((t) => t !== held)) await p.worker(snsEvent(task));

    // Act: the check comes due (SQS delays in whole seconds), and the aggregator handles it.
    let checks: Message[] = [];
    for (let i = 0; i < 10 && checks.length === 0; i++) {
      checks = (await p.sqs.send(new ReceiveMessageCommand({ QueueUrl: backupQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, AttributeNames: ['All'] }))).Messages ?? [];
    }
    await p.aggregator(sqsEvent(checks, 'arn:aws:sqs:us-east-1:123456789012:backup-checks'));
    for (const m of checks) await p.sqs.send(new DeleteMessageCommand({ QueueUrl: backupQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
    const backups = p.sns.take();
    for (const task of backups) await p.worker(snsEvent(task));
    await p.worker(snsEvent(held)); // the original, late: its partial loses
    await deliverAll(p, emulators.queueUrl);

    // Assess
    expect(checks.map((m) => JSON.parse(m.Body!))).toEqual([{ source: BACKUP_CHECK_SOURCE, jobId, round: 1, check: 1, delayMs: expect.any(Number) }]);
    expect(backups.map((t) => JSON.parse(t.message)).map((t: { round: number; shard: number }) => [t.round, t.shard])).toEqual([[1, 3]]);
    expect(logs.events('backup-check')).toMatchObject([{ jobId, round: 1, action: 'backups', shards: [3] }]);
    const job = await p.wiring.store.getJob(jobId);
    expect(job?.status, job?.error).toBe('SUCCEEDED');
    const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new FileDatasetSource(), defaultThreads: 1 });
    try {
      expect(job!.result).toEqual((await runtime.train({ ...spec, data: { uri: file } })).job.result);
    } finally {
      await runtime.close();
    }
  });
});
