import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { asyncFailureEvent, snsEvent, sqsEventOf } from '../helpers/aws-events.js';
import { deliverAll, pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { createRecoverHandler } from '../../handlers/recover.js';
import { captureLogs } from '../helpers/logs.js';

/*
 * The failure paths of the deployed functions, one at a time: what Lambda's retries end in
 * (the on-failure destination, the aggregator's last receive before the dead-letter queue), FIFO
 * order within a partial batch failure, and messages that are not ours.
 */

let emulators: AwsEmulators;
let p: Pipeline;
const logs = captureLogs();

beforeAll(async () => {
  emulators = await startAwsEmulators();
  p = pipeline(emulators, { BSPML_THREADS: '1', BSPML_MAX_RECEIVES: '3' });
  await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: 'datasets/points.csv', Body: 'a,b\n1,2\n3,4\n5,6\n7,8\n' }));
});

afterAll(async () => {
  await p?.close();
  await emulators?.close();
});

async function startJob(jobId: string, workers: number, maxRounds = 5) {
  const [result] = await p.start({ jobId, spec: { algorithm: 'kmeans', k: 2, workers, maxRounds, data: { uri: `s3://${emulators.bucket}/datasets/points.csv` } } });
  expect(result!.status).toBe('RUNNING');
  return p.sns.take().filter((m) => JSON.parse(m.message).jobId === jobId);
}

describe('the worker on-failure destination', () => {
  it('fails the job, naming the shard, the round, the attempts and the last error', async () => {
    // Prepare
    const [, shard1] = await startJob('onfailure', 2);

    // Act
    await p.workerFailed(asyncFailureEvent(snsEvent(shard1!), 'inner worker died: exited with code 1'));

    // Assess
    const job = await p.wiring.store.getJob('onfailure');
    expect(job?.status).toBe('FAILED');
    expect(job?.error).toBe('worker for shard 1 of round 0 failed after 3 attempts: inner worker died: exited with code 1');
    expect(logs.events('job-failed')).toEqual([expect.objectContaining({ jobId: 'onfailure', changed: true })]);
  });
});

describe('the aggregator', () => {
  it('reports a failed record and the later records of its job, and goes on with other jobs', async () => {
    // Prepare: job "stuck" is at training round 1 without its data summary, so aggregating it throws;
    // job "fine" has passed its preparation round (round 0) and its worker has done round 1.
    const now = Date.now();
    await p.wiring.store.createJob({
      jobId: 'stuck',
      spec: { algorithm: 'kmeans', k: 2, initSample: 100, workers: 2, maxRounds: 5, tol: 0, seed: 1, data: { uri: 's3://b/datasets/x.csv' } },
      status: 'RUNNING',
      round: 1,
      shards: 2,
      fanoutRound: 1,
      recoveries: 0,
      roundStartedAt: now,
      createdAt: now,
      updatedAt: now,
    });
    for (const task of await startJob('fine', 1, 1)) await p.worker(snsEvent(task));
    expect((await p.aggregator(sqsEventOf([{ body: { jobId: 'fine', round: 0 }, groupId: 'fine' }]))).batchItemFailures).toEqual([]);
    for (const task of p.sns.take()) await p.worker(snsEvent(task));
    const event = sqsEventOf([
      { body: { jobId: 'stuck', round: 1 }, groupId: 'stuck' },
      { body: { jobId: 'stuck', round: 2 }, groupId: 'stuck' },
      { body: { jobId: 'fine', round: 1 }, groupId: 'fine' },
    ]);

    // Act
    const response = await p.aggregator(event);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }, { itemIdentifier: event.Records[1]!.messageId }]);
    expect((await p.wiring.store.getJob('stuck'))?.status).toBe('RUNNING');
    // One training round at most: its aggregation finishes the job.
    expect(await p.wiring.store.getJob('fine')).toMatchObject({ status: 'SUCCEEDED', round: 1 });
    expect(logs.events('model-written')).toEqual([expect.objectContaining({ jobId: 'fine', model: `s3://${emulators.bucket}/models/points/fine.json` })]);
    expect(logs.events('aggregate-failed')).toEqual([
      expect.objectContaining({ jobId: 'stuck', round: 1, receives: 1, error: 'job stuck is RUNNING without its data summary' }),
    ]);
  });

  it('fails the job on the last receive before the dead-letter queue', async () => {
    // Act: the same completion, received for the third time (maxReceiveCount = 3).
    const response = await p.aggregator(sqsEventOf([{ body: { jobId: 'stuck', round: 1 }, groupId: 'stuck', receiveCount: 3 }]));

    // Assess
    expect(response.batchItemFailures).toHaveLength(1);
    const job = await p.wiring.store.getJob('stuck');
    expect(job?.status).toBe('FAILED');
    expect(job?.error).toBe('aggregator for round 1 failed after 3 attempts: job stuck is RUNNING without its data summary');
  });
});

describe('the scheduled recovery sweep', () => {
  const MINUTE = 60_000;

  it('fails a job whose start died, and leaves jobs that moved recently alone', async () => {
    // Prepare: a record left STARTING 30 minutes ago, as a start function that timed out leaves it.
    const sweep = createRecoverHandler(() => p.wiring);
    const then = Date.now() - 30 * MINUTE;
    await p.wiring.store.createJob({
      jobId: 'halfstarted',
      spec: { algorithm: 'kmeans', k: 2, initSample: 100, workers: 1, maxRounds: 5, tol: 0, seed: 1, data: { uri: 's3://b/datasets/x.csv' } },
      status: 'STARTING',
      round: 0,
      shards: 1,
      fanoutRound: -1,
      recoveries: 0,
      roundStartedAt: then,
      createdAt: then,
      updatedAt: then,
    });
    await startJob('recent', 1);

    // Act
    const results = await sweep();

    // Assess
    expect(results).toEqual([{ jobId: 'halfstarted', action: 'failed', detail: 'the start did not finish within 15 minutes; upload the data set again' }]);
    expect((await p.wiring.store.getJob('halfstarted'))?.status).toBe('FAILED');
    expect((await p.wiring.store.getJob('recent'))?.status).toBe('RUNNING');
  });

  it('re-publishes the shard whose message was lost, and the job then finishes', async () => {
    // Prepare: shard 1's task never reaches a worker.
    const [shard0] = await startJob('lost', 2);
    await p.worker(snsEvent(shard0!));
    const sweep = createRecoverHandler(() => p.wiring, () => Date.now() + 16 * MINUTE);

    // Act
    const results = await sweep();
    const republished = p.sns.pending.filter((m) => JSON.parse(m.message).jobId === 'lost').map((m) => JSON.parse(m.message));
    await deliverAll(p, emulators.queueUrl);

    // Assess
    expect(results).toContainEqual({ jobId: 'lost', action: 'republished', detail: 'shards 1' });
    expect(republished).toEqual([expect.objectContaining({ jobId: 'lost', round: 0, shard: 1 })]);
    expect((await p.wiring.store.getJob('lost'))?.status).toBe('SUCCEEDED');
  });
});

describe('messages that are not ours', () => {
  it('are logged and dropped, not retried', async () => {
    // Act
    await p.worker(snsEvent({ topicArn: 'arn:aws:sns:us-east-1:123456789012:rounds', id: 'x', message: '{"hello":"world"}' }));
    const response = await p.aggregator(sqsEventOf([{ body: 'not a completion', groupId: 'g' }]));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(logs.events('malformed-task')).toHaveLength(1);
    expect(logs.events('malformed-completion')).toHaveLength(1);
  });
});
