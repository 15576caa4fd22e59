import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, threadsForMemory } from '../../src/aws/config.js';
import { createS3Client } from '../../src/aws/s3.js';
import { S3DatasetSource } from '../../src/aws/S3DatasetSource.js';
import { parseS3Uri } from '../../src/aws/s3uri.js';
import { SnsFanout } from '../../src/aws/SnsFanout.js';
import { SqsCompletion } from '../../src/aws/SqsCompletion.js';
import { encodeBinary } from '../../src/data/binary.js';
import { formatCsv } from '../../src/data/csv.js';
import { MemoryDatasetSource } from '../../src/data/MemoryDatasetSource.js';
import type { RoundTask } from '../../src/protocol/types.js';
import { startAwsEmulators, CapturingSns, localSqsClient, type AwsEmulators } from '../helpers/aws-emulators.js';
import { separable, wholeFileLayout } from '../helpers/data.js';

let emulators: AwsEmulators;

beforeAll(async () => {
  emulators = await startAwsEmulators();
});

afterAll(async () => {
  await emulators?.close();
});

function tasks(count: number, model?: string): RoundTask[] {
  return Array.from({ length: count }, (_, shard) => ({ jobId: 'job-1', round: 2, shard, shards: count, ...(model ? { model } : {}) }));
}

describe('SnsFanout', () => {
  it('publishes one message per shard, ten per PublishBatch call', async () => {
    // Prepare
    const sns = new CapturingSns();
    const fanout = new SnsFanout(sns, 'arn:aws:sns:us-east-1:123456789012:rounds');

    // Act
    await fanout.publish(tasks(25));

    // Assess
    expect(sns.calls.map((c) => c.PublishBatchRequestEntries!.length)).toEqual([10, 10, 5]);
    expect(sns.calls.every((c) => c.TopicArn === 'arn:aws:sns:us-east-1:123456789012:rounds')).toBe(true);
    expect(sns.take().map((m) => (JSON.parse(m.message) as RoundTask).shard)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('keeps each call under 256 KiB when the model rides inside every message', async () => {
    // Prepare: a model near the inline cap (200,000 base64 characters) fits one message per call.
    const sns = new CapturingSns();
    const fanout = new SnsFanout(sns, 'arn:aws:sns:us-east-1:123456789012:rounds');

    // Act
    await fanout.publish(tasks(3, 'A'.repeat(199_996)));
    await fanout.publish(tasks(4, 'A'.repeat(60_000)));

    // Assess
    expect(sns.calls.map((c) => c.PublishBatchRequestEntries!.length)).toEqual([1, 1, 1, 4]);
  });

  it('retries entries SNS failed on its side, and gives up on a sender fault', async () => {
    // Prepare
    const sns = new CapturingSns();
    const fanout = new SnsFanout(sns, 'arn:aws:sns:us-east-1:123456789012:rounds');

    // Act
    sns.failNext = { entries: 2 };
    await fanout.publish(tasks(4));
    sns.failNext = { entries: 1, senderFault: true };
    const refused = fanout.publish(tasks(2));

    // Assess
    expect(sns.calls.map((c) => c.PublishBatchRequestEntries!.map((e) => e.Id))).toEqual([
      ['r2-s0', 'r2-s1', 'r2-s2', 'r2-s3'],
      ['r2-s0', 'r2-s1'],
      ['r2-s0', 'r2-s1'],
    ]);
    await expect(refused).rejects.toThrow('SNS rejected task r2-s0: InvalidParameter: stubbed failure');
    expect(sns.take().map((m) => m.id)).toEqual(['r2-s2', 'r2-s3', 'r2-s0', 'r2-s1', 'r2-s1']);
  });
});

describe('SqsCompletion on local-aws-sqs (FIFO)', () => {
  it('sends a round once per deduplication id, grouped by job', async () => {
    // Prepare
    const sqs = localSqsClient(emulators.sqsEndpoint);
    const completion = new SqsCompletion(sqs, emulators.queueUrl);

    // Act: the filling arrival's completion, its duplicate, and the next round's.
    await completion.send({ jobId: 'job-a', round: 0 });
    await completion.send({ jobId: 'job-a', round: 0 });
    await completion.send({ jobId: 'job-a', round: 1 });
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: emulators.queueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );

    // Assess
    const messages = received.Messages ?? [];
    expect(messages.map((m) => JSON.parse(m.Body!))).toEqual([
      { jobId: 'job-a', round: 0 },
      { jobId: 'job-a', round: 1 },
    ]);
    expect(messages.map((m) => [m.Attributes?.MessageGroupId, m.Attributes?.MessageDeduplicationId])).toEqual([
      ['job-a', 'job-a-0'],
      ['job-a', 'job-a-1'],
    ]);
    for (const m of messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: emulators.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    sqs.destroy();
  });
});

describe('S3DatasetSource on s3rver', () => {
  const data = separable(103, 3, 5);
  const table = (() => {
    const cols = data.dims + 1;
    const values = new Float32Array(data.rows * cols);
    for (let r = 0; r < data.rows; r++) {
      values.set(data.features.subarray(r * data.dims, (r + 1) * data.dims), r * cols);
      values[r * cols + data.dims] = data.labels![r]!;
    }
    return { columns: ['x0', 'x1', 'x2', 'label'], rows: data.rows, cols, values, hasHeader: true, firstLine: 2 };
  })();

  async function put(key: string, body: Uint8Array | string): Promise<string> {
    const s3 = createS3Client({ endpoint: emulators.s3.endpoint });
    await s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: key, Body: body }));
    s3.destroy();
    return `s3://${emulators.bucket}/${key}`;
  }

  it('reads a binary shard with ranged GETs of whole rows, equal to slicing the whole set', async () => {
    // Prepare: 16-byte rows, 5 rows per part, so 103 rows in 4 shards take 6 parts each.
    const uri = await put('datasets/shards.bin', encodeBinary(table));
    const s3 = createS3Client({ endpoint: emulators.s3.endpoint });
    const source = new S3DatasetSource(s3, { partBytes: 5 * 16 + 7, parallel: 3 });
    const ref = { uri, labelColumn: 'label' };
    const whole = await source.load(ref);
    const reference = new MemoryDatasetSource().add(uri, whole);
    const before = source.reads.requests;

    // Act
    const shards = await Promise.all([0, 1, 2, 3].map((shard) => source.loadShard(wholeFileLayout(ref), shard, 4)));

    // Assess
    for (const [i, shard] of shards.entries()) {
      const expected = await reference.loadShard(wholeFileLayout(ref), i, 4);
      expect({ ...shard, buffer: undefined }).toEqual({ ...expected, buffer: undefined });
      expect(shard.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    expect(whole.labels).toEqual(data.labels);
    // A probe per shard, then ceil(rows / 5) parts for shards of 25, 26, 26 and 26 rows.
    expect(source.reads.requests - before).toBe(4 + 5 + 6 + 6 + 6);
    expect(source.reads.bytes).toBeLessThan(2 * encodeBinary(table).byteLength + 4 * 4096);
    s3.destroy();
  });

  it('slices a CSV shard from the whole object', async () => {
    // Prepare
    const uri = await put('datasets/shards.csv', formatCsv(table));
    const s3 = createS3Client({ endpoint: emulators.s3.endpoint });
    const source = new S3DatasetSource(s3);
    const ref = { uri, labelColumn: 'label' };

    // Act
    const shard = await source.loadShard(wholeFileLayout(ref), 2, 4);

    // Assess
    expect({ first: shard.first, rows: shard.rows, dims: shard.dims }).toEqual({ first: 51, rows: 26, dims: 3 });
    expect(Array.from(shard.features.subarray(0, 3))).toEqual(Array.from(data.features.subarray(51 * 3, 52 * 3)));
    expect(Array.from(shard.labels!)).toEqual(Array.from(data.labels!.subarray(51, 77)));
    s3.destroy();
  });

  it('names the object, the row and the field of bad data, counting rows in the whole file', async () => {
    // Prepare: a label of 2 in row 90, which falls in shard 3 of 4.
    const bad = { ...table, values: table.values.slice() };
    bad.values[89 * 4 + 3] = 2;
    const uri = await put('datasets/badlabel.bin', encodeBinary(bad));
    const s3 = createS3Client({ endpoint: emulators.s3.endpoint });
    const source = new S3DatasetSource(s3, { partBytes: 64 });

    // Act
    const shard = await source.loadShard(wholeFileLayout({ uri, labelColumn: 'label' }), 3, 4).catch((error: Error) => error);
    const missing = await source.load({ uri: `s3://${emulators.bucket}/datasets/none.csv` }).catch((error: Error) => error);

    // Assess
    expect(shard).toHaveProperty('message', `${uri}: row 90, field "label": label 2 is not 0 or 1`);
    expect(missing).toHaveProperty('message', `s3://${emulators.bucket}/datasets/none.csv: no such object`);
    s3.destroy();
  });
});

describe('configuration', () => {
  it('gives a worker one thread per vCPU its memory buys', () => {
    expect([128, 1769, 1770, 3008, 10240].map(threadsForMemory)).toEqual([1, 1, 2, 2, 6]);
    expect(loadConfig({ BSPML_TABLE: 't', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240' }).threads).toBe(6);
    expect(loadConfig({ BSPML_TABLE: 't', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240', BSPML_THREADS: '3' }).threads).toBe(3);
  });

  it('names the variable that is missing or malformed', () => {
    expect(() => loadConfig({})).toThrow(/^environment variable BSPML_TABLE: /);
    expect(() => loadConfig({ BSPML_TABLE: 't', BSPML_QUEUE_URL: 'not a url' })).toThrow(/^environment variable BSPML_QUEUE_URL: /);
    expect(() => loadConfig({ BSPML_TABLE: 't', BSPML_DEFAULT_SPEC: '{k:1}' })).toThrow(/^environment variable BSPML_DEFAULT_SPEC: not JSON/);
  });

  it('takes a Redis endpoint only as a redis:// or rediss:// URL, an empty one meaning none', () => {
    expect(loadConfig({ BSPML_TABLE: 't' })).toMatchObject({ redisUrl: undefined, statePrefix: 'state/' });
    expect(loadConfig({ BSPML_TABLE: 't', BSPML_REDIS_URL: '' }).redisUrl).toBeUndefined();
    expect(loadConfig({ BSPML_TABLE: 't', BSPML_REDIS_URL: 'rediss://cache.example:6379' }).redisUrl).toBe('rediss://cache.example:6379');
    expect(() => loadConfig({ BSPML_TABLE: 't', BSPML_REDIS_URL: 'cache.example:6379' })).toThrow(
      'environment variable BSPML_REDIS_URL: must be a redis:// or rediss:// URL',
    );
  });

  it('parses s3:// URIs, with a pinned version', () => {
    expect(parseS3Uri('s3://b/datasets/x.csv')).toEqual({ bucket: 'b', key: 'datasets/x.csv' });
    expect(parseS3Uri('s3://b/k.bin?versionId=a%2Bb')).toEqual({ bucket: 'b', key: 'k.bin', versionId: 'a+b' });
    expect(() => parseS3Uri('s3://b')).toThrow('s3://b: not an s3://bucket/key URI');
  });
});
