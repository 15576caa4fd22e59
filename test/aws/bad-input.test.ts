import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { nextS3Event } from '../helpers/aws-events.js';
import { deliverAll, pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { captureLogs } from '../helpers/logs.js';

/*
 * Invariant 4 on the deployed path: a malformed upload or spec ends with the job FAILED, its
 * reason stored and logged, nothing published, and the model already trained on that data set
 * (models/NAME/latest.json) untouched.
 */

let emulators: AwsEmulators;
let p: Pipeline;
const logs = captureLogs();
const PREVIOUS = '{"algorithm":"kmeans","previous":true}\n';

beforeAll(async () => {
  emulators = await startAwsEmulators();
  p = pipeline(emulators, { BSPML_DEFAULT_SPEC: JSON.stringify({ algorithm: 'kmeans', k: 2, workers: 2 }) });
});

afterAll(async () => {
  await p?.close();
  await emulators?.close();
});

async function put(key: string, body: string) {
  await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: key, Body: body }));
}

async function text(key: string): Promise<string> {
  const out = await p.wiring.s3.send(new GetObjectCommand({ Bucket: emulators.bucket, Key: key }));
  return out.Body!.transformToString();
}

async function modelKeys(name: string): Promise<string[]> {
  const out = await p.wiring.s3.send(new ListObjectsV2Command({ Bucket: emulators.bucket, Prefix: `models/${name}/` }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

/** Uploads `datasets/NAME.csv` over an existing trained model and runs the start handler on the event. */
async function uploadOverModel(name: string, csv: string, spec?: string) {
  await put(`models/${name}/latest.json`, PREVIOUS);
  if (spec !== undefined) await put(`datasets/${name}.job.json`, spec);
  const event = nextS3Event(emulators.s3.server, `datasets/${name}.csv`);
  await put(`datasets/${name}.csv`, csv);
  const publishes = p.sns.calls.length;
  const [result] = await p.start(await event);
  return { result: result!, published: p.sns.calls.length - publishes };
}

/**
 * As `uploadOverModel`, then delivers every message until none is left: bad input is found by the
 * start step (a spec, an unreadable file) or by the preparation round (the rows). Returns the
 * round of every task published for the job.
 */
async function uploadAndRun(name: string, csv: string, spec?: string) {
  const before = p.sns.calls.length;
  const { result: started } = await uploadOverModel(name, csv, spec);
  if (started.status === 'RUNNING') await deliverAll(p, emulators.queueUrl);
  const job = await p.wiring.store.getJob(started.jobId);
  const tasks = p.sns.calls
    .slice(before)
    .flatMap((call) => (call.PublishBatchRequestEntries ?? []).map((e) => JSON.parse(e.Message!) as { jobId: string; round: number }))
    .filter((t) => t.jobId === started.jobId);
  return { result: { jobId: started.jobId, status: job?.status, error: job?.error }, rounds: tasks.map((t) => t.round) };
}

describe('a malformed upload', () => {
  const cases = [
    {
      name: 'ragged',
      what: 'a CSV row with a missing field',
      csv: 'a,b\n1,2\n3\n4,5\n',
      reason: 's3://bspml-test-data/datasets/ragged.csv: row 3, field "b": expected 2 fields, found 1',
    },
    {
      name: 'nan',
      what: 'a CSV field that is not a finite number',
      csv: 'a,b\n1,2\n3,NaN\n4,5\n',
      reason: 's3://bspml-test-data/datasets/nan.csv: row 3, field "b": NaN is not a finite number',
    },
    {
      name: 'badspec',
      what: 'a job spec with k = 0',
      csv: 'a,b\n1,2\n3,4\n',
      spec: '{"algorithm":"kmeans","k":0,"workers":1}',
      reason: 'invalid job spec: k: Too small: expected number to be >=1',
    },
    {
      name: 'notjson',
      what: 'a job spec that is not JSON',
      csv: 'a,b\n1,2\n3,4\n',
      spec: '{"algorithm": "kmeans", k: 2}',
      reason: /^s3:\/\/bspml-test-data\/datasets\/notjson\.job\.json: not valid JSON: /,
    },
    {
      name: 'toomany',
      what: 'a job spec asking for more workers than rows',
      csv: 'a,b\n1,2\n3,4\n',
      spec: '{"algorithm":"kmeans","k":1,"workers":3}',
      reason: 'workers = 3 is more than the 2 rows of s3://bspml-test-data/datasets/toomany.csv; every worker needs at least one row',
    },
    {
      name: 'oneclass',
      what: 'logistic-regression labels of one class (a classifier needs two)',
      csv: 'a,label\n1,yes\n2,yes\n3,yes\n4,yes\n',
      spec: '{"algorithm":"logreg","workers":2}',
      reason: 's3://bspml-test-data/datasets/oneclass.csv: field "label": every row has the class "yes": a classifier needs at least two classes',
    },
    {
      name: 'classfraction',
      what: 'a logistic-regression label that is not a class',
      csv: 'a,label\n1,0\n2,1\n3,1.5\n4,0\n',
      spec: '{"algorithm":"logreg","workers":2}',
      reason: "s3://bspml-test-data/datasets/classfraction.csv: field \"label\": label 1.5 is not a class: a classifier's labels are integers, strings or booleans (scikit-learn refuses continuous targets too)",
    },
  ];

  for (const c of cases) {
    it(`(${c.what}) ends FAILED with the reason stored and logged, and leaves latest.json untouched`, async () => {
      // Act
      const { result, rounds } = await uploadAndRun(c.name, c.csv, c.spec);

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error).toMatch(c.reason);
      const job = await p.wiring.store.getJob(result.jobId);
      expect(job?.status).toBe('FAILED');
      expect(job?.error).toBe(result.error);
      expect(logs.events('job-failed')).toEqual([{ level: 'error', event: 'job-failed', jobId: result.jobId, reason: result.error }]);
      // At most the preparation round's tasks went out: no training round was published.
      expect(rounds.every((r) => r === 0)).toBe(true);
      expect(await text(`models/${c.name}/latest.json`)).toBe(PREVIOUS);
      expect(await modelKeys(c.name)).toEqual([`models/${c.name}/latest.json`]);
    });
  }
});

describe('a data set of parts under a prefix', () => {
  it.each([1, 3])('with a bad field in part 3 (%i worker(s)) ends FAILED naming the part, its line and column, after the preparation round only; latest.json untouched', async (workers) => {
    // Prepare: four parts of 40 rows; line 32 of part-00003.csv (row 30 after its header) has "abc" in column b.
    const name = `badparts${workers}`;
    const part = (p: number) => ['a,b', ...Array.from({ length: 40 }, (_, i) => (p === 3 && i === 30 ? `${i},abc` : `${i},${p * 100 + i}`))].join('\n') + '\n';
    for (let p = 0; p < 4; p++) await put(`datasets/${name}/part-0000${p}.csv`, part(p));
    await put(`models/${name}/latest.json`, PREVIOUS);
    const before = p.sns.calls.length;

    // Act
    const [started] = await p.start({ jobId: `${name}-1`, spec: { algorithm: 'kmeans', k: 2, workers, data: { uri: `s3://${emulators.bucket}/datasets/${name}/` } } });
    await deliverAll(p, emulators.queueUrl);

    // Assess
    expect(started?.status).toBe('RUNNING');
    const job = await p.wiring.store.getJob(`${name}-1`);
    expect(job?.status).toBe('FAILED');
    expect(job?.error).toMatch(/^(.*\/)?part-00003\.csv: row 32, field "b": .*abc/);
    expect(logs.events('job-failed')).toEqual([expect.objectContaining({ jobId: `${name}-1`, reason: job?.error })]);
    const rounds = p.sns.calls.slice(before).flatMap((call) => (call.PublishBatchRequestEntries ?? []).map((e) => (JSON.parse(e.Message!) as { round: number }).round));
    expect(rounds).toEqual(Array.from({ length: workers }, () => 0));
    expect(await text(`models/${name}/latest.json`)).toBe(PREVIOUS);
    expect(await modelKeys(name)).toEqual([`models/${name}/latest.json`]);
  });
});

describe('the start handler', () => {
  it('uses the default spec when no NAME.job.json is uploaded', async () => {
    // Act
    const { result, published } = await uploadOverModel('defaults', 'a,b\n1,2\n3,4\n5,6\n');

    // Assess
    expect(result.status).toBe('RUNNING');
    const job = await p.wiring.store.getJob(result.jobId);
    expect(job?.spec).toMatchObject({ algorithm: 'kmeans', k: 2, workers: 2, data: { uri: 's3://bspml-test-data/datasets/defaults.csv' } });
    expect(published).toBe(1);
    // The preparation round: each worker loads and summarises its shard.
    expect(p.sns.take().map((m) => JSON.parse(m.message))).toEqual([
      { jobId: result.jobId, round: 0, phase: 'prepare', shard: 0, shards: 2 },
      { jobId: result.jobId, round: 0, phase: 'prepare', shard: 1, shards: 2 },
    ]);
  });

  it('starts a redelivered upload event once: the retry finds the job the first delivery started', async () => {
    // Prepare
    await put('datasets/twice.job.json', '{"algorithm":"kmeans","k":1,"workers":1}');
    const event = nextS3Event(emulators.s3.server, 'datasets/twice.csv');
    await put('datasets/twice.csv', 'a\n1\n2\n');
    const delivered = await event;
    const [first] = await p.start(delivered);
    p.sns.take();

    // Act
    const [second] = await p.start(structuredClone(delivered));

    // Assess
    expect(second).toEqual({ jobId: first!.jobId, status: 'RUNNING' });
    expect(p.sns.take()).toEqual([]);
    expect(logs.events('duplicate-start')).toEqual([expect.objectContaining({ jobId: first!.jobId, status: 'RUNNING' })]);
  });

  it('takes a direct invocation with a spec, and refuses a bad one with its reason', async () => {
    // Prepare
    await put('datasets/direct.csv', 'a,b\n1,2\n3,4\n');

    // Act
    const [ok] = await p.start({ spec: { algorithm: 'kmeans', k: 1, data: { uri: 's3://bspml-test-data/datasets/direct.csv' } } });
    const [bad] = await p.start({ jobId: 'direct-bad', spec: { algorithm: 'forest', data: { uri: 's3://bspml-test-data/datasets/direct.csv' } } });

    // Assess
    expect(ok!.status).toBe('RUNNING');
    expect(ok!.jobId).toMatch(/^direct-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(bad).toEqual({ jobId: 'direct-bad', status: 'FAILED', error: expect.stringMatching(/^invalid job spec: algorithm: /) });
    expect((await p.wiring.store.getJob('direct-bad'))?.status).toBe('FAILED');
    p.sns.take();
  });

  it('refuses a spec naming a backend a stack does not offer, with the choices', async () => {
    // Act
    const [refused] = await p.start({ jobId: 'direct-memory', spec: { algorithm: 'kmeans', k: 1, backend: 'memory', data: { uri: 's3://bspml-test-data/datasets/direct.csv' } } });

    // Assess
    expect(refused).toEqual({ jobId: 'direct-memory', status: 'FAILED', error: 'invalid job spec: backend: Invalid option: expected one of "dynamodb"|"s3"|"redis"' });
    expect((await p.wiring.store.getJob('direct-memory'))?.status).toBe('FAILED');
    expect(p.sns.take()).toEqual([]);
  });
});
