import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyUpload, isJobOf, jobIdFor } from '../../src/aws/uploads.js';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { nextS3Event, snsEvent, sqsEventOf } from '../helpers/aws-events.js';
import { pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { captureLogs } from '../helpers/logs.js';

/*
 * The edges of the deployed functions: which uploads start a job (every accepted format in any
 * case; data sets in parts on their _SUCCESS or spec), malformed events logged and dropped instead
 * of thrown (issue 12 defect 16), a duplicated upload event while the first start runs (defect 7),
 * and one job's failing completion beside another job's in one SQS batch (defect 10).
 */

let emulators: AwsEmulators;
let p: Pipeline;
const logs = captureLogs();

beforeAll(async () => {
  emulators = await startAwsEmulators();
  p = pipeline(emulators, { BSPML_THREADS: '1', BSPML_DEFAULT_SPEC: JSON.stringify({ algorithm: 'kmeans', k: 1, workers: 1, maxRounds: 2 }) });
});

afterAll(async () => {
  await p?.close();
  await emulators?.close();
});

async function put(key: string, body: string) {
  await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: key, Body: body }));
}

/** Uploads `key` and runs the start handler on the event S3 sends for it. */
async function upload(key: string, body: string) {
  const event = nextS3Event(emulators.s3.server, key);
  await put(key, body);
  return p.start(await event);
}

describe('which uploads start a job', () => {
  it('classifies keys: data files of every format in any case, _SUCCESS and specs of data sets in parts', () => {
    const cases: [string, ReturnType<typeof classifyUpload>['kind'], string?][] = [
      ['datasets/a.csv', 'file', 'a'],
      ['datasets/a.CSV', 'file', 'a'],
      ['datasets/a.csv.gz', 'file', 'a'],
      ['datasets/a.CSV.GZ', 'file', 'a'],
      ['datasets/a.bin', 'file', 'a'],
      ['datasets/a.F32', 'file', 'a'],
      ['datasets/a.parquet', 'file', 'a'],
      ['datasets/a.Parquet', 'file', 'a'],
      ['datasets/big/_SUCCESS', 'prefix', 'big'],
      ['datasets/team/big/_SUCCESS', 'prefix', 'team/big'],
      ['datasets/big.job.json', 'spec', 'big'],
      ['datasets/big/part-00000.csv', 'ignored'],
      ['datasets/big/part-00001.parquet', 'ignored'],
      ['datasets/notes.txt', 'ignored'],
      ['datasets/.csv', 'ignored'],
      ['datasets/_SUCCESS', 'ignored'],
      ['elsewhere/a.csv', 'ignored'],
    ];
    for (const [key, kind, name] of cases) {
      const upload = classifyUpload(key, 'datasets/');
      expect([key, upload.kind, 'name' in upload ? upload.name : undefined]).toEqual([key, kind, name]);
    }
  });

  it('gives jobs ids that name their data set, and tells one data set\'s jobs from another\'s', () => {
    const id = jobIdFor('team/big', new Date('2026-11-30T01:02:03Z'), 'seed');
    expect(id).toMatch(/^team_big-20261130T010203Z-[0-9a-f]{6}$/);
    expect(isJobOf(id, 'team/big')).toBe(true);
    expect(isJobOf(id, 'team')).toBe(false);
    expect(isJobOf(jobIdFor('team-big'), 'team')).toBe(false);
  });

  it('starts on an upload with an upper-case extension', async () => {
    // Act
    const [result] = await upload('datasets/upper.CSV', 'a,b\n1,2\n3,4\n');

    // Assess
    expect(result!.status).toBe('RUNNING');
    expect(result!.jobId).toMatch(/^upper-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect((await p.wiring.store.getJob(result!.jobId))?.spec.data.uri).toMatch(/^s3:\/\/bspml-test-data\/datasets\/upper\.CSV/);
    p.sns.take();
  });

  it('starts a data set in parts on its _SUCCESS, reading the folder, and ignores its parts and an early spec', async () => {
    // Act
    const early = await upload('datasets/parts.job.json', '{"algorithm":"kmeans","k":1,"workers":2}');
    const part = await upload('datasets/parts/part-00000.csv', 'a,b\n1,2\n3,4\n');
    const [started] = await upload('datasets/parts/_SUCCESS', '');

    // Assess
    expect(early).toEqual([]);
    expect(part).toEqual([]);
    expect(logs.events('upload-ignored').map((l) => l.key)).toEqual(['datasets/parts.job.json', 'datasets/parts/part-00000.csv']);
    expect(started!.jobId).toMatch(/^parts-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const job = await p.wiring.store.getJob(started!.jobId);
    expect(job?.spec).toMatchObject({ k: 1, workers: 2, data: { uri: 's3://bspml-test-data/datasets/parts/' } });
    p.sns.take();
  });

  it('starts a data set in parts again when its spec is uploaded after the parts', async () => {
    // Act
    const [again] = await upload('datasets/parts.job.json', '{"algorithm":"kmeans","k":1,"workers":1}');

    // Assess
    const job = await p.wiring.store.getJob(again!.jobId);
    expect(job?.spec).toMatchObject({ workers: 1, data: { uri: 's3://bspml-test-data/datasets/parts/' } });
    p.sns.take();
  });
});

describe('malformed events (issue 12 defect 16)', () => {
  const s3Record = (object: unknown, eventTime: unknown = '2026-11-30T00:00:00.000Z') => ({
    Records: [{ eventName: 'ObjectCreated:Put', eventTime, s3: { bucket: { name: emulators.bucket }, ...(object === undefined ? {} : { object }) } }],
  });
  const cases: { what: string; run: () => Promise<unknown>; result: unknown }[] = [
    { what: 'start: null', run: () => p.start(null), result: [] },
    { what: 'start: a number', run: () => p.start(42), result: [] },
    { what: 'start: {Records: [{}]}', run: () => p.start({ Records: [{}] }), result: [] },
    { what: 'start: no s3.object', run: () => p.start(s3Record(undefined)), result: [] },
    { what: 'start: bad %-encoding', run: () => p.start(s3Record({ key: 'datasets/bad%E0%A4%A.csv' })), result: [] },
    { what: 'start: bad eventTime', run: () => p.start(s3Record({ key: 'datasets/a.csv' }, 'yesterday')), result: [] },
    { what: 'start: an invocation without a spec', run: () => p.start({ jobId: 'x' }), result: [] },
    { what: 'worker: {}', run: () => p.worker({}), result: undefined },
    { what: 'worker: {Records: [{}]}', run: () => p.worker({ Records: [{}] }), result: undefined },
    { what: 'on-failure: {}', run: () => p.workerFailed({}), result: undefined },
    { what: 'aggregator: {}', run: () => p.aggregator({}), result: { batchItemFailures: [] } },
    {
      what: 'aggregator: a record without attributes',
      run: () => p.aggregator({ Records: [{ messageId: 'm1', body: JSON.stringify({ jobId: 'j', round: 0 }) }] }),
      result: { batchItemFailures: [] },
    },
  ];
  for (const c of cases) {
    it(`${c.what}: logged and dropped`, async () => {
      // Act
      const result = await c.run();

      // Assess
      expect(result).toEqual(c.result);
      expect(logs.events('malformed-event')).toHaveLength(1);
      expect(p.sns.take()).toEqual([]);
    });
  }

  it('a spec nested 100,000 levels deep leaves a FAILED job with the reason, from an invocation and from an upload', async () => {
    // Prepare
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    await put('datasets/deep.job.json', `{"algorithm":"kmeans","k":1,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);

    // Act
    const [invoked] = await p.start({ jobId: 'deep-invoked', spec: { algorithm: 'kmeans', data: { uri: `s3://${emulators.bucket}/datasets/deep.csv` }, deep } });
    const [uploaded] = await upload('datasets/deep.csv', 'a\n1\n2\n');

    // Assess
    for (const result of [invoked!, uploaded!]) {
      expect(result).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/^invalid job spec: nested more than 32 levels deep/) });
      const job = await p.wiring.store.getJob(result.jobId);
      expect(job).toMatchObject({ status: 'FAILED', error: result.error });
    }
    expect(p.sns.take()).toEqual([]);
  });
});

describe('an upload event delivered twice while the first start runs (issue 12 defect 7)', () => {
  it('starts the job once and fails nothing', async () => {
    // Prepare: hold the first start at its STARTING → RUNNING step until the duplicate has been handled.
    const store = p.wiring.store;
    const updateJob = store.updateJob.bind(store);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = true;
    store.updateJob = async (jobId, expect, patch) => {
      if (holding && expect.status === 'STARTING') {
        holding = false;
        await held;
      }
      return updateJob(jobId, expect, patch);
    };
    const event = nextS3Event(emulators.s3.server, 'datasets/twice.csv');
    await put('datasets/twice.csv', 'a\n1\n2\n3\n');
    const delivered = await event;

    try {
      // Act
      const first = p.start(delivered);
      while (holding) await new Promise((r) => setTimeout(r, 5));
      const [second] = await p.start(structuredClone(delivered));
      release();
      const [started] = await first;

      // Assess
      expect(second).toEqual({ jobId: started!.jobId, status: 'STARTING' });
      expect(started).toEqual({ jobId: second!.jobId, status: 'RUNNING' });
      expect((await store.getJob(started!.jobId))?.status).toBe('RUNNING');
      expect(p.sns.take().map((m) => JSON.parse(m.message).jobId)).toEqual([started!.jobId]);
    } finally {
      store.updateJob = updateJob;
      release();
    }
  });
});

describe('one SQS batch holding two jobs\' completions (issue 12 defect 10)', () => {
  it('processes the healthy job\'s completion when the other\'s fails on its last delivery, even failing to record it', async () => {
    // Prepare: job "broken" has a record no store read can decode, so both aggregating it and failing it throw.
    await p.wiring.dynamodb.send(
      new PutItemCommand({
        TableName: p.wiring.config.table,
        Item: { pk: { S: 'JOB#broken' }, sk: { S: 'META' }, status: { S: 'RUNNING' }, round: { N: '0' }, spec: { S: '@spilled:FIELD#gone' } },
      }),
    );
    await put('datasets/healthy.csv', 'a\n1\n2\n');
    const [healthy] = await p.start({ jobId: 'healthy', spec: { algorithm: 'kmeans', k: 1, workers: 1, maxRounds: 1, data: { uri: `s3://${emulators.bucket}/datasets/healthy.csv` } } });
    expect(healthy!.status).toBe('RUNNING');
    for (const task of p.sns.take()) await p.worker(snsEvent(task));
    const event = sqsEventOf([
      { body: { jobId: 'broken', round: 0 }, groupId: 'broken', receiveCount: 3 },
      { body: { jobId: 'healthy', round: 0 }, groupId: 'healthy' },
    ]);

    // Act
    const response = await p.aggregator(event);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    // Its round 0 (the preparation round) was aggregated: the job moved on to round 1.
    expect(await p.wiring.store.getJob('healthy')).toMatchObject({ status: 'RUNNING', round: 1 });
    expect(logs.events('aggregate-failed')).toEqual([expect.objectContaining({ jobId: 'broken', receives: 3 })]);
  });
});
