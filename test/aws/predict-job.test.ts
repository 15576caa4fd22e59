import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecoverHandler } from '../../handlers/recover.js';
import { estimatePredictCost } from '../../src/costs/predictEstimate.js';
import { asPredictJob } from '../../src/domain/predictJob.js';
import { SUCCESS_MARKER, type SuccessMarker } from '../../src/domain/predictMarker.js';
import { failJob } from '../../src/protocol/failJob.js';
import { predictJobDeps } from '../../src/serve/predictWiring.js';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { asyncFailureEvent, nextS3Event, snsEvent, sqsEventOf } from '../helpers/aws-events.js';
import { deliverAll, pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { captureLogs } from '../helpers/logs.js';
import { multinomialModel, randomRows } from '../helpers/served-models.js';

/*
 * Predict jobs on the emulated stack (issue 24, docs/serving.md): started by `bspml submit predict`
 * (the start function invoked through a local Lambda Invoke endpoint) and by an upload of
 * predictions/NAME.job.json; one fan-out round of predict workers (SNS captured at its boundary),
 * each writing its part to s3rver; the filling arrival marks the job SUCCEEDED in dynalite with its
 * parts. Their parts are `bspml predict --out`'s byte for byte; bad models and bad data end the
 * job FAILED with one line; duplicates and a lost task change nothing.
 */

const V1 = 'iris-20261206T010000Z-000001';
const V2 = 'iris-20261206T020000Z-000002';
const DATA_PARTS = [30, 11, 19];

let emulators: AwsEmulators;
let p: Pipeline;
let bucket: string;
let lambda: Server;
let lambdaEndpoint: string;
let modelFiles: Record<string, string>;
/** The whole data set in one local file. */
let wholeFile: string;
const tempDir = useTempDirs('bspml-predict-job-');
const logs = captureLogs();

beforeAll(async () => {
  emulators = await startAwsEmulators();
  bucket = emulators.bucket;
  p = pipeline(emulators, { BSPML_THREADS: '1' });
  const put = (Key: string, Body: string) => p.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
  // Three CSV parts, the model's features in another order, with an id column the model does not know.
  const all: string[] = [];
  for (const [i, rows] of DATA_PARTS.entries()) {
    const x = randomRows(rows, 4, i + 3);
    const lines = Array.from({ length: rows }, (_, r) => `r${i}-${r},${[3, 1, 0, 2].map((j) => Math.round(x[r * 4 + j]! * 1000) / 1000).join(',')}`);
    await put(`datasets/iris/part-${i}.csv`, `id,f3,f1,f0,f2\n${lines.join('\n')}\n`);
    all.push(...lines);
  }
  const dir = await tempDir();
  wholeFile = join(dir, 'iris.csv');
  await writeFile(wholeFile, `id,f3,f1,f0,f2\n${all.join('\n')}\n`);
  // Two versions of the model, as the aggregator publishes them: the newer one is latest.
  modelFiles = {};
  for (const [version, seed] of [[V1, 7], [V2, 9]] as const) {
    const text = JSON.stringify({ ...multinomialModel(4, ['setosa', 'versicolor', 'virginica'], seed), jobId: version });
    await put(`models/iris/${version}.json`, text);
    modelFiles[version] = join(dir, `${version}.json`);
    await writeFile(modelFiles[version]!, text);
  }
  await put('models/iris/latest.json', await (await p.wiring.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `models/iris/${V2}.json` }))).Body!.transformToString());
  // `bspml predict --out` with each version, in one process: what the jobs' parts must equal.
  for (const version of [V1, V2]) {
    const cli = await runBspml(['predict', '--model', modelFiles[version]!, '--data', `s3://${bucket}/datasets/iris/`, '--out', `s3://${bucket}/reference/${version}/`, '--s3-endpoint', emulators.s3.endpoint]);
    if (cli.code !== 0) throw new Error(cli.stderr);
  }
  // Lambda's Invoke API for `bspml submit`: the payload handed to the start handler, its answer returned.
  lambda = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = await p.start(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
  lambdaEndpoint = `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  lambda?.closeAllConnections();
  await new Promise((resolve) => lambda?.close(resolve));
  await p?.close();
  await emulators?.close();
});

/** Every object under `prefix`, as `name\ncontent`, sorted by key. */
async function objects(prefix: string): Promise<string[]> {
  const listed = await p.wiring.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
  return Promise.all(keys.map(async (Key) => `${Key.slice(prefix.length)}\n${await (await p.wiring.s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToString()}`));
}

/** The parts under `prefix` (as objects() gives them), less the `_SUCCESS` marker beside them. */
async function partsUnder(prefix: string): Promise<string[]> {
  return (await objects(prefix)).filter((o) => !o.startsWith(`${SUCCESS_MARKER}\n`));
}

/** The `_SUCCESS` marker in a job's folder, parsed; undefined when there is none. */
async function markerOf(folder: string): Promise<SuccessMarker | undefined> {
  const found = (await objects(folder)).find((o) => o.startsWith(`${SUCCESS_MARKER}\n`));
  return found === undefined ? undefined : (JSON.parse(found.slice(SUCCESS_MARKER.length + 1)) as SuccessMarker);
}

/** Rows of each part `bspml predict --out` wrote with `version` (shards split the rows, not the files). */
async function referenceRows(version: string): Promise<number[]> {
  return (await objects(`reference/${version}/`)).map((o) => o.split('\n').filter((line) => line !== '').length - 2);
}

const table = () => ['--endpoint', emulators.env.BSPML_DYNAMODB_ENDPOINT!, '--table', emulators.table, '--region', 'us-east-1'];
const submit = (args: string[]) => runBspml(['submit', 'predict', '--function', 'bspml-test-start', '--endpoint', lambdaEndpoint, '--region', 'us-east-1', ...args]);
const spec = (model: Record<string, string>, data = `s3://${emulators.bucket}/datasets/iris/`) => ({ kind: 'predict', model, data: { uri: data }, out: `s3://${emulators.bucket}/predictions/iris/` });
const jobOf = async (jobId: string) => asPredictJob((await p.wiring.store.getJob(jobId))!);

describe('a predict job on the emulated stack', () => {
  it('started by bspml submit predict with a pinned version: its parts are bspml predict --out\'s, byte for byte, listed in order, then its _SUCCESS marker and its cost', async () => {
    // Prepare
    const reads = predictJobDeps(p.wiring).models.gets;
    const published = p.sns.calls.length;

    // Act
    const submitted = await submit(['--model', V1, '--data', `s3://${bucket}/datasets/iris/`, '--out', `s3://${bucket}/predictions/iris/`]);
    const jobId = /^job (\S+): RUNNING$/m.exec(submitted.stdout)?.[1] ?? '';
    const delivered = await deliverAll(p, emulators.queueUrl);
    const status = await runBspml(['status', jobId, ...table()]);
    const statusJson = await runBspml(['status', jobId, '--json', '--predict-worker-memory', '2048', ...table()]);
    const local = await runBspml(['predict', '--model', modelFiles[V1]!, '--data', wholeFile, '--id-column', 'id']);

    // Assess
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(jobId).toMatch(/^iris-predict-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const job = await jobOf(jobId);
    const out = `s3://${bucket}/predictions/iris/${jobId}/`;
    const referenceParts = await objects(`reference/${V1}/`);
    const partBytes = referenceParts.map((o) => Buffer.byteLength(o.slice(o.indexOf('\n') + 1)));
    const partRows = await referenceRows(V1);
    expect(job).toMatchObject({ kind: 'predict', status: 'SUCCEEDED', shards: 3, predict: { model: { name: 'iris', version: V1 }, out, rows: 60, bytes: partBytes.reduce((a, b) => a + b, 0) } });
    expect(job?.predict?.parts?.map(({ ms: _ms, modelReads: _reads, ...part }) => part)).toEqual(partRows.map((rows, shard) => ({ shard, uri: `${out}part-0000${shard}.csv`, rows, bytes: partBytes[shard] })));
    expect(await partsUnder(`predictions/iris/${jobId}/`)).toEqual(referenceParts);
    // The marker: every part in shard order with its rows and bytes, as stored.
    expect(await markerOf(`predictions/iris/${jobId}/`)).toEqual({
      jobId,
      model: { name: 'iris', version: V1 },
      data: `s3://${bucket}/datasets/iris/`,
      out,
      rows: 60,
      bytes: partBytes.reduce((a, b) => a + b, 0),
      parts: partRows.map((rows, shard) => ({ name: `part-0000${shard}.csv`, uri: `${out}part-0000${shard}.csv`, shard, rows, bytes: partBytes[shard] })),
    });
    // Read one after another, the parts are local `bspml predict` on the whole file, row for row (less its id column).
    expect(local.code, local.stderr).toBe(0);
    const rows = (await partsUnder(`predictions/iris/${jobId}/`)).flatMap((o) => o.trim().split('\n').slice(2));
    expect(rows).toEqual(local.stdout.trim().split('\n').slice(1).map((line) => line.split(',').slice(1).join(',')));
    expect(rows).toHaveLength(60);
    // One fan-out round, on the predict topic: one task per part, the model read once by the workers' environment.
    expect(p.sns.calls.slice(published).map((c) => c.TopicArn)).toEqual([emulators.env.BSPML_PREDICT_TOPIC_ARN]);
    expect(delivered.workerInvocations).toBe(3);
    expect(predictJobDeps(p.wiring).models.gets - reads).toBe(1);
    expect(job?.predict?.parts?.map((part) => part.modelReads)).toEqual([1, 0, 0]);
    // The cost the finish recorded is the estimate of the record as stored, with the default 1,024 MB workers.
    const estimate = estimatePredictCost(job!);
    expect(job?.costUsd).toBe(estimate.total);
    expect(job?.predict?.usdPerMillionRows).toBeCloseTo((estimate.total / 60) * 1e6, 12);
    expect(estimate.lambda).toBeGreaterThan(4 * 0.2e-6); // the tasks' GB-s on top of 4 requests
    expect(status.code, status.stderr).toBe(0);
    const lines = status.stdout.split('\n');
    expect(lines.slice(0, 9)).toEqual([
      `job        ${jobId}: SUCCEEDED (predictions with model iris version ${V1}, 3 shards)`,
      `data       s3://${bucket}/datasets/iris/`,
      `out        ${out}`,
      'parts      3 parts, 60 rows, in order:',
      ...partRows.map((rows, shard) => `           ${out}part-0000${shard}.csv  ${rows} rows`),
      `marker     ${out}_SUCCESS`,
      `cost       ≈ $${estimate.total.toFixed(6)}: Lambda $${estimate.lambda.toFixed(6)}, DynamoDB $${estimate.dynamodb.toFixed(6)}, SNS $${estimate.sns.toFixed(6)}, S3 $${estimate.s3.toFixed(6)}`,
    ]);
    expect(lines[9]).toBe(`           60 rows predicted: ≈ $${estimate.usdPerMillionRows!.toFixed(4)} per million rows`);
    expect(lines[10]).toMatch(/^ {11}\(estimated from the parts' task times at 1024 MB arm64 predict workers, with/);
    // --json, at 2,048 MB: the same estimate with the workers' GB-s doubled.
    expect(statusJson.code, statusJson.stderr).toBe(0);
    const json = JSON.parse(statusJson.stdout) as { rows: number; bytes: number; marker: string; costUsd: Record<string, number>; usdPerMillionRows: number };
    const at2048 = estimatePredictCost(job!, 2048);
    expect(json).toMatchObject({ rows: 60, marker: `${out}_SUCCESS`, costUsd: { lambda: at2048.lambda, dynamodb: at2048.dynamodb, sns: at2048.sns, s3: at2048.s3, total: at2048.total }, usdPerMillionRows: at2048.usdPerMillionRows });
    expect(at2048.lambda - 4 * 0.2e-6).toBeCloseTo(2 * (estimate.lambda - 4 * 0.2e-6), 15);
  });

  it('started by an upload of predictions/NAME.job.json naming the model only: the latest version, resolved once', async () => {
    // Prepare
    const key = 'predictions/iris-nightly.job.json';
    const event = nextS3Event(emulators.s3.server, key);
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify({ model: { name: 'iris' }, data: { uri: `s3://${bucket}/datasets/iris/` } }) }));

    // Act
    const [started] = await p.start(await event);
    await deliverAll(p, emulators.queueUrl);
    const watched = await runBspml(['watch', '--latest', 'iris-nightly', '--interval', '0.1', ...table()]);

    // Assess
    expect(started).toEqual({ jobId: expect.stringMatching(/^iris-nightly-\d{8}T\d{6}Z-[0-9a-f]{6}$/), status: 'RUNNING' });
    const job = await jobOf(started!.jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', predict: { model: { name: 'iris', version: V2 }, out: `s3://${bucket}/predictions/iris-nightly/${started!.jobId}/` } });
    expect(await partsUnder(`predictions/iris-nightly/${started!.jobId}/`)).toEqual(await objects(`reference/${V2}/`));
    expect((await markerOf(`predictions/iris-nightly/${started!.jobId}/`))?.parts.map((part) => part.name)).toEqual(['part-00000.csv', 'part-00001.csv', 'part-00002.csv']);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(`job        ${started!.jobId}: SUCCEEDED (predictions with model iris version ${V2}, 3 shards)`);
    expect(watched.stdout).toContain('parts      3 parts, 60 rows, in order:');
    // A part written under the prefix starts nothing (the bucket's rule takes only NAME.job.json; the handler checks too).
    expect(await p.start(await (async () => {
      const partEvent = nextS3Event(emulators.s3.server, `predictions/iris-nightly/${started!.jobId}/part-00000.csv`);
      await p.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `predictions/iris-nightly/${started!.jobId}/part-00000.csv`, Body: (await objects(`reference/${V2}/`))[0]!.split('\n').slice(1).join('\n') }));
      return partEvent;
    })())).toEqual([]);
  });

  it.each([
    ['an unknown version', { name: 'iris', version: 'iris-20260101T000000Z-ffffff' }, `model "iris": no version "iris-20260101T000000Z-ffffff" (nothing at models/iris/iris-20260101T000000Z-ffffff.json)`],
    ['an unknown model', { name: 'roses' }, 'model "roses": no such model (nothing at models/roses/latest.json)'],
  ])('with %s: FAILED with one line, nothing published', async (_, model, reason) => {
    // Prepare
    const published = p.sns.calls.length;
    const jobId = `predict-unknown-${model.name}`;

    // Act
    const results = await p.start({ jobId, spec: spec(model) });
    const status = await runBspml(['status', jobId, ...table()]);

    // Assess
    expect(results).toEqual([{ jobId, status: 'FAILED', error: reason }]);
    expect(await jobOf(jobId)).toMatchObject({ kind: 'predict', status: 'FAILED', error: reason, errorCode: 'E_SPEC' });
    expect(p.sns.calls.length).toBe(published);
    expect(status.stdout).toContain(`error      ${reason}\n`);
  });

  it('refuses, before the job exists, an out prefix the predict workers may not write and a spec that does not parse', async () => {
    // Act
    const elsewhere = await p.start({ jobId: 'predict-elsewhere', spec: { ...spec({ name: 'iris' }), out: `s3://${bucket}/models/iris/` } });
    const submitted = await submit(['--model', 'iris', '--data', `s3://${bucket}/datasets/iris/`, '--out', `s3://${bucket}/predictions`]);

    // Assess
    expect(elsewhere).toEqual([{ jobId: 'predict-elsewhere', status: 'FAILED', error: `invalid predict spec: out: s3://${bucket}/models/iris/ is not where this stack writes predictions (under s3://${bucket}/predictions/)` }]);
    expect(submitted).toMatchObject({ code: 1, stderr: 'bspml: error: --out: must be an S3 prefix ending in /, s3://BUCKET/PREFIX/\n' });
  });

  it.each([
    ['a field the model object does not have', 'predictions/typo.job.json', { model: { name: 'iris', verison: V1 }, data: { uri: 's3://BUCKET/datasets/iris/' } }, 's3://BUCKET/predictions/typo.job.json: invalid predict spec: model.verison: not a field of model (name, version)'],
    ['no model', 'predictions/no-model.job.json', { data: { uri: 's3://BUCKET/datasets/iris/' } }, 's3://BUCKET/predictions/no-model.job.json: invalid predict spec: model: is required (expected object)'],
    ['a data uri that is not a string', 'predictions/bad-uri.job.json', { model: { name: 'iris' }, data: { uri: 5 } }, 's3://BUCKET/predictions/bad-uri.job.json: invalid predict spec: data.uri: Invalid input: expected string, received number'],
    ['a training kind', 'predictions/train.job.json', { kind: 'train', algorithm: 'kmeans', k: 2, data: { uri: 's3://BUCKET/datasets/iris/' } }, 's3://BUCKET/predictions/train.job.json: invalid predict spec: kind: a spec under predictions/ is a predict spec (kind predict, or left out), not "train"'],
  ])('uploaded with %s: FAILED at once with one line naming the file and the field, nothing published', async (_, key, body, reason) => {
    // Prepare
    const published = p.sns.calls.length;
    const event = nextS3Event(emulators.s3.server, key);
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(body).replaceAll('BUCKET', bucket) }));

    // Act
    const [result] = await p.start(await event);
    const status = await runBspml(['status', result!.jobId, ...table()]);

    // Assess
    const line = reason.replaceAll('BUCKET', bucket);
    expect(result).toEqual({ jobId: expect.any(String), status: 'FAILED', error: line });
    expect(await jobOf(result!.jobId)).toMatchObject({ kind: 'predict', status: 'FAILED', error: line });
    expect(status.stdout).toContain(`error      ${line}\n`);
    expect(p.sns.calls.length).toBe(published);
  });

  it('refuses a spec of neither kind, and bspml submit predict options that make a bad spec, naming the field or the option', async () => {
    // Act
    const [bogus] = await p.start({ jobId: 'predict-bogus-kind', spec: { kind: 'inference', model: { name: 'iris' } } });
    const badName = await submit(['--model', '../iris', '--data', `s3://${bucket}/datasets/iris/`, '--out', `s3://${bucket}/predictions/iris/`]);
    const badVersion = await submit(['--model', 'iris', '--model-version', 'v 1', '--data', `s3://${bucket}/datasets/iris/`, '--out', `s3://${bucket}/predictions/iris/`]);
    const withAlgorithm = await submit(['--model', 'iris', '--algorithm', 'kmeans', '--data', `s3://${bucket}/datasets/iris/`, '--out', `s3://${bucket}/predictions/iris/`]);

    // Assess
    expect(bogus).toEqual({ jobId: 'predict-bogus-kind', status: 'FAILED', error: 'invalid job spec: kind: must be train (or left out) or predict, not "inference"' });
    expect(badName).toMatchObject({ code: 1, stderr: 'bspml: error: --model: not a model name (letters, digits, . _ - and /)\n' });
    expect(badVersion).toMatchObject({ code: 1, stderr: 'bspml: error: --model-version: not a model version (a job id such as iris-20261206T010000Z-0b9e8d, or latest)\n' });
    expect(withAlgorithm).toMatchObject({ code: 1, stderr: 'bspml: error: --algorithm is for training: a predict job uses a trained model (--model)\n' });
  });

  it.each([
    ['a value that is not a number', (lines: string[]) => lines.map((l, i) => (i === 5 ? l.replace(/^([^,]*,[^,]*,)[^,]*/, '$1abc') : l)), 'part-1.csv: row 6, field "f1": "abc" is not a number'],
    ['a row with a field missing', (lines: string[]) => lines.map((l, i) => (i === 3 ? l.replace(/,[^,]*$/, '') : l)), 'part-1.csv: row 4, field "f2": expected 5 fields, found 4'],
  ])('over data with %s: FAILED with the line naming file, row and field; a previous run\'s parts under the same out are all kept', async (name, spoil, reason) => {
    // Prepare
    const folder = `datasets/bad-${name.length}/`;
    const good = (await objects('datasets/iris/')).map((o) => o.split('\n').slice(1).join('\n'));
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}part-0.csv`, Body: good[0] }));
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}part-1.csv`, Body: spoil(good[1]!.split('\n')).join('\n') }));
    const before = await objects('predictions/iris/');
    const jobId = `predict-bad-${name.length}`;

    // Act
    const [started] = await p.start({ jobId, spec: spec({ name: 'iris', version: V1 }, `s3://${bucket}/${folder}`) });
    await deliverAll(p, emulators.queueUrl);
    const watched = await runBspml(['watch', jobId, '--interval', '0.1', ...table()]);

    // Assess
    expect(started).toEqual({ jobId, status: 'RUNNING' });
    const job = await jobOf(jobId);
    expect(job).toMatchObject({ status: 'FAILED', errorCode: 'E_DATA' });
    expect(job?.error).toBe(`s3://${bucket}/${folder}${reason}`);
    expect(logs.events('job-failed')).toContainEqual(expect.objectContaining({ jobId, reason: job?.error }));
    expect(watched.code).toBe(1);
    expect(watched.stdout).toContain(`error      ${job?.error}`);
    // Every part and marker of the earlier runs under predictions/iris/ is there, unchanged; this run wrote only into its own folder, and no marker.
    const after = await objects('predictions/iris/');
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.filter((o) => o.split('\n')[0]!.endsWith(`/${SUCCESS_MARKER}`)).length).toBeGreaterThanOrEqual(1);
    expect(after.filter((o) => !o.startsWith(`${jobId}/`))).toEqual(before);
    expect(await markerOf(`predictions/iris/${jobId}/`)).toBeUndefined();
  });

  it('takes duplicate deliveries, a task after the end and a redelivered completion without change; a lost task is re-published by the sweep', async () => {
    // Prepare
    const jobId = 'predict-duplicates';
    const reads = predictJobDeps(p.wiring).models.gets;
    await p.start({ jobId, spec: spec({ name: 'iris', version: V1 }) });
    const tasks = p.sns.take();
    const sweep = createRecoverHandler(() => p.wiring, () => Date.now() + 20 * 60_000);

    // Act
    // A predict task delivered to the training workers (a forged publish) is theirs to refuse.
    await p.worker(snsEvent(tasks[0]!));
    // Shard 0 twice at once, shard 1 twice one after the other; shard 2's task is lost.
    await Promise.all([p.predictWorker(snsEvent(tasks[0]!)), p.predictWorker(snsEvent(tasks[0]!))]);
    await p.predictWorker(snsEvent(tasks[1]!));
    await p.predictWorker(snsEvent(tasks[1]!));
    const runningAfterDuplicates = (await jobOf(jobId))?.status;
    const swept = await sweep();
    const republished = p.sns.take();
    for (const task of republished) await p.predictWorker(snsEvent(task));
    // After the end: a late duplicate, and a completion as the sweep would re-send it.
    await p.predictWorker(snsEvent(tasks[2]!));
    await p.aggregator(sqsEventOf([{ body: { jobId, round: 0 }, groupId: jobId }]));

    // Assess
    expect(runningAfterDuplicates).toBe('RUNNING');
    expect(swept).toContainEqual({ jobId, action: 'republished', detail: 'shards 2' });
    expect(republished.map((m) => [m.topicArn, JSON.parse(m.message)])).toEqual([[emulators.env.BSPML_PREDICT_TOPIC_ARN, { jobId, round: 0, phase: 'predict', shard: 2, shards: 3 }]]);
    const job = await jobOf(jobId);
    expect(job?.status).toBe('SUCCEEDED');
    expect(job?.predict?.parts?.map((part) => part.rows)).toEqual(await referenceRows(V1));
    expect(await partsUnder(`predictions/iris/${jobId}/`)).toEqual(await objects(`reference/${V1}/`));
    expect((await markerOf(`predictions/iris/${jobId}/`))?.rows).toBe(60);
    const done = logs.events('predict-done').filter((e) => e.jobId === jobId);
    expect(done.filter((e) => e.arrived === true).map((e) => e.shard).sort()).toEqual([0, 1, 2]);
    expect(done.filter((e) => e.arrived === false)).toHaveLength(2);
    expect(done.filter((e) => e.finished === true)).toHaveLength(1);
    expect(logs.events('task-rejected')).toContainEqual(expect.objectContaining({ jobId, shard: 2, reason: `predict task for job ${jobId}, which is SUCCEEDED` }));
    expect(logs.events('task-rejected')).toContainEqual(expect.objectContaining({ jobId, shard: 0, reason: `task for predict job ${jobId}: predict tasks go to the predict workers` }));
    expect(logs.events('aggregated')).toContainEqual(expect.objectContaining({ jobId, status: 'ignored', reason: 'job is SUCCEEDED' }));
    // V1 was read by the workers' environment in the first test: these tasks read no model.
    expect(predictJobDeps(p.wiring).models.gets).toBe(reads);
  });

  it('ends FAILED with the reason when a task failed its retries (the on-failure destination, as for a training worker)', async () => {
    // Prepare
    const jobId = 'predict-timed-out';
    await p.start({ jobId, spec: spec({ name: 'iris', version: V1 }) });
    const [task] = p.sns.take();

    // Act
    await p.workerFailed(asyncFailureEvent(snsEvent(task!), 'Task timed out after 900.00 seconds'));

    // Assess
    expect(await jobOf(jobId)).toMatchObject({ status: 'FAILED', error: 'worker for shard 0 of round 0 failed after 3 attempts: Task timed out after 900.00 seconds' });
  });

  it('writes the _SUCCESS marker after the last part and before SUCCEEDED; a failed marker write leaves the job RUNNING until the sweep\'s re-sent completion finishes it in the aggregator; a re-run into the same out leaves the first run\'s folder as it was; the workers read a version once', async () => {
    // Prepare
    // A version no environment here has read yet (the model of V1 under another version).
    const V3 = 'iris-20261206T030000Z-000003';
    await p.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `models/iris/${V3}.json`, Body: JSON.stringify({ ...JSON.parse(await (await p.wiring.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `models/iris/${V1}.json` }))).Body!.transformToString()), jobId: V3 }) }));
    const real = p.wiring.deps.predictMarkers!;
    const seen: { status: string | undefined; objects: string[] }[] = [];
    let failNext = true;
    p.wiring.deps.predictMarkers = {
      async write(marker) {
        const folder = marker.out.slice(`s3://${bucket}/`.length);
        seen.push({ status: (await p.wiring.store.getJob(marker.jobId))?.status, objects: (await objects(folder)).map((o) => o.split('\n')[0]!) });
        if (failNext) {
          failNext = false;
          throw new Error('S3 unavailable');
        }
        await real.write(marker);
      },
      remove: (out) => real.remove(out),
    };
    // The S3 GETs of models/… while the predict workers run (the start reads the model afresh, on purpose).
    let workerModelGets = 0;
    let counting = false;
    p.wiring.s3.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (counting && context.commandName === 'GetObjectCommand' && input.Key?.startsWith('models/')) workerModelGets++;
        return next(args);
      },
      { step: 'initialize', name: 'countModelGets' },
    );
    const run = async (jobId: string, retryLast: boolean) => {
      await p.start({ jobId, spec: spec({ name: 'iris', version: V3 }) });
      const tasks = p.sns.take();
      counting = true;
      try {
        for (const task of tasks.slice(0, -1)) await p.predictWorker(snsEvent(task));
        const last = snsEvent(tasks.at(-1)!);
        if (!retryLast) return await p.predictWorker(last);
        const failed = await p.predictWorker(last).then(() => undefined, (error: unknown) => error);
        const between = (await jobOf(jobId))?.status;
        const folderBetween = await objects(`predictions/iris/${jobId}/`);
        // Every shard has arrived: the sweep re-sends the completion, and the aggregator finishes the job.
        const swept = await createRecoverHandler(() => p.wiring, () => Date.now() + 20 * 60_000)();
        const delivered = await deliverAll(p, emulators.queueUrl);
        return { failed, between, folderBetween, swept: swept.filter((s) => s.jobId === jobId), aggregatorBatches: delivered.aggregatorBatches };
      } finally {
        counting = false;
      }
    };

    // Act
    let first;
    let firstFolder: string[];
    let secondFolder: string[];
    let afterSecond: string[];
    try {
      first = await run('predict-marker-1', true);
      firstFolder = await objects('predictions/iris/predict-marker-1/');
      await run('predict-marker-2', false);
      secondFolder = await objects('predictions/iris/predict-marker-2/');
      afterSecond = await objects('predictions/iris/predict-marker-1/');
    } finally {
      p.wiring.deps.predictMarkers = real;
      p.wiring.s3.middlewareStack.remove('countModelGets');
    }

    // Assess
    // The first finish's marker write failed: thrown (to be retried), the job RUNNING, its three parts and no marker.
    expect(first?.failed).toEqual(new Error('S3 unavailable'));
    expect(first?.between).toBe('RUNNING');
    expect(first?.folderBetween.map((o) => o.split('\n')[0])).toEqual(['part-00000.csv', 'part-00001.csv', 'part-00002.csv']);
    expect(first?.swept).toEqual([{ jobId: 'predict-marker-1', action: 'completion-resent' }]);
    expect(first?.aggregatorBatches).toBe(1);
    expect(logs.events('aggregated')).toContainEqual(expect.objectContaining({ jobId: 'predict-marker-1', status: 'predicted' }));
    // Each write found every part in place and the job still RUNNING; then the job SUCCEEDED with it.
    expect(seen).toEqual([
      { status: 'RUNNING', objects: ['part-00000.csv', 'part-00001.csv', 'part-00002.csv'] },
      { status: 'RUNNING', objects: ['part-00000.csv', 'part-00001.csv', 'part-00002.csv'] },
      { status: 'RUNNING', objects: ['part-00000.csv', 'part-00001.csv', 'part-00002.csv'] },
    ]);
    for (const jobId of ['predict-marker-1', 'predict-marker-2']) {
      expect((await jobOf(jobId))?.status).toBe('SUCCEEDED');
      expect((await markerOf(`predictions/iris/${jobId}/`))?.parts.map((part) => part.uri)).toEqual([0, 1, 2].map((i) => `s3://${bucket}/predictions/iris/${jobId}/part-0000${i}.csv`));
    }
    expect(firstFolder!.map((o) => o.split('\n')[0])).toEqual(['_SUCCESS', 'part-00000.csv', 'part-00001.csv', 'part-00002.csv']);
    expect(secondFolder!.map((o) => o.split('\n')[0])).toEqual(['_SUCCESS', 'part-00000.csv', 'part-00001.csv', 'part-00002.csv']);
    // The second run into the same out changed nothing of the first's.
    expect(afterSecond!).toEqual(firstFolder!);
    // Two jobs, six tasks in one warm environment: V3 read from S3 once, by the first task.
    expect(workerModelGets).toBe(1);
    expect((await jobOf('predict-marker-2'))?.predict?.parts?.map((part) => part.modelReads)).toEqual([0, 0, 0]);
  });

  it('takes its marker back when the job ended FAILED while the finish ran: a FAILED job has no _SUCCESS', async () => {
    // Prepare
    const jobId = 'predict-failed-meanwhile';
    const real = p.wiring.deps.predictMarkers!;
    p.wiring.deps.predictMarkers = {
      async write(marker) {
        await real.write(marker);
        // As a shard's on-failure destination would, between the marker and the finishing write.
        await failJob(p.wiring.store, marker.jobId, 'worker for shard 1 of round 0 failed after 3 attempts: Task timed out after 900.00 seconds');
      },
      remove: (out) => real.remove(out),
    };
    await p.start({ jobId, spec: spec({ name: 'iris', version: V1 }) });

    // Act
    try {
      await deliverAll(p, emulators.queueUrl);
    } finally {
      p.wiring.deps.predictMarkers = real;
    }

    // Assess
    expect(await jobOf(jobId)).toMatchObject({ status: 'FAILED', error: 'worker for shard 1 of round 0 failed after 3 attempts: Task timed out after 900.00 seconds' });
    expect((await objects(`predictions/iris/${jobId}/`)).map((o) => o.split('\n')[0])).toEqual(['part-00000.csv', 'part-00001.csv', 'part-00002.csv']);
    expect(logs.events('marker-removed')).toContainEqual(expect.objectContaining({ marker: `s3://${bucket}/predictions/iris/${jobId}/_SUCCESS` }));
  });
});
