import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, threadsForMemory } from '../../src/aws/config.js';
import { parseS3Uri } from '../../src/util/s3uri.js';
import { SnsFanout } from '../../src/aws/SnsFanout.js';
import { SqsCompletion } from '../../src/aws/SqsCompletion.js';
import type { RoundTask } from '../../src/domain/job.js';
import { startAwsEmulators, CapturingSns, localSqsClient, type AwsEmulators } from '../helpers/aws-emulators.js';

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
