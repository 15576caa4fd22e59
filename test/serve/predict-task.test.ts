import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/s3.js';
import { datasetSource } from '../../src/cli/datasets.js';
import { isPredictSpec, parsePredictSpec } from '../../src/domain/predictSpec.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { s3Sink } from '../../src/serve/partSink.js';
import { describeForModel, prepareModel, runPredictTask } from '../../src/serve/predictTask.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { multinomialModel, randomRows } from '../helpers/served-models.js';

/*
 * The tasks of a predict job's fan-out round (src/serve/predictTask.ts), on s3rver: run out of
 * order and at once, their parts are `bspml predict --out s3://…/`'s, byte for byte. And the
 * predict spec (src/domain/predictSpec.ts): one-line refusals naming the field.
 */

const BUCKET = 'bspml-predict-task-test';
let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  client = createS3Client({ endpoint: s3.endpoint });
  for (const [p, rows] of [30, 11, 19].entries()) {
    const x = randomRows(rows, 4, p + 3);
    const lines = Array.from({ length: rows }, (_, i) => `r${p}-${i},${[3, 1, 0, 2].map((j) => Math.round(x[i * 4 + j]! * 1000) / 1000).join(',')}`);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `datasets/iris/part-${p}.csv`, Body: `id,f3,f1,f0,f2\n${lines.join('\n')}\n` }));
  }
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

async function parts(prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!).sort();
  return Promise.all(keys.map(async (Key) => `${Key.slice(prefix.length)}\n${await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body!.transformToString()}`));
}

describe('a predict job\'s tasks', () => {
  const tempDir = useTempDirs('bspml-predict-task-');

  it('write, run in reverse order and at once, the parts bspml predict --out writes, byte for byte', async () => {
    // Prepare
    const model = multinomialModel();
    const modelFile = join(await tempDir(), 'model.json');
    await writeFile(modelFile, JSON.stringify(model));
    const data = `s3://${BUCKET}/datasets/iris/`;
    const cli = await runBspml(['predict', '--model', modelFile, '--data', data, '--out', `s3://${BUCKET}/preds/cli/`, '--s3-endpoint', s3.endpoint, '--shards', '4']);
    const { datasets, close } = await datasetSource(data, s3.endpoint);

    // Act
    const layout = await describeForModel(model, data, datasets);
    const prepared = prepareModel(model, layout);
    const sink = s3Sink(client, `s3://${BUCKET}/preds/tasks/`);
    const results = await Promise.all([3, 2, 1, 0].map((shard) => runPredictTask(prepared, { layout, shard, shards: 4 }, datasets, sink)));
    close();

    // Assess
    expect(cli.code, cli.stderr).toBe(0);
    expect(results.map((r) => r.part)).toEqual([3, 2, 1, 0].map((s) => `s3://${BUCKET}/preds/tasks/part-0000${s}.csv`));
    expect(results.reduce((sum, r) => sum + r.rows, 0)).toBe(60);
    const ours = await parts('preds/tasks/');
    expect(ours).toHaveLength(4);
    expect(ours).toEqual(await parts('preds/cli/'));
  });

  it('refuses a shard outside the job', async () => {
    // Prepare
    const model = multinomialModel();
    const { datasets, close } = await datasetSource(`s3://${BUCKET}/datasets/iris/`, s3.endpoint);
    const layout = await describeForModel(model, `s3://${BUCKET}/datasets/iris/`, datasets);

    // Act
    const run = runPredictTask(prepareModel(model, layout), { layout, shard: 4, shards: 4 }, datasets, s3Sink(client, `s3://${BUCKET}/preds/bad/`));

    // Assess
    await expect(run).rejects.toThrow('predict task for shard 4 of 4: no such shard');
    close();
    expect(await parts('preds/bad/')).toEqual([]);
  });
});

describe('a predict spec', () => {
  it('takes a model by name (and version), a data set and an S3 prefix', () => {
    // Act
    const spec = parsePredictSpec({ kind: 'predict', model: { name: 'iris' }, data: { uri: 's3://b/datasets/new/' }, out: 's3://bucket/preds/iris/', workers: 3 });

    // Assess
    expect(spec).toEqual({ kind: 'predict', model: { name: 'iris' }, data: { uri: 's3://b/datasets/new/' }, out: 's3://bucket/preds/iris/', workers: 3 });
    expect(isPredictSpec(spec)).toBe(true);
    expect(isPredictSpec({ algorithm: 'kmeans' })).toBe(false);
  });

  it.each([
    [{ model: { name: '../x' } }, 'invalid predict spec: model.name: not a model name (letters, digits, . _ - and /)'],
    [{ model: { name: 'iris', version: 'a b' } }, 'invalid predict spec: model.version: not a model version (a job id such as iris-20261206T010000Z-0b9e8d, or latest)'],
    [{ out: 's3://bucket/preds' }, 'invalid predict spec: out: must be an S3 prefix ending in /, s3://BUCKET/PREFIX/'],
    [{ workers: 0 }, 'invalid predict spec: workers: Too small: expected number to be >=1'],
    [{ algorithm: 'kmeans' }, 'invalid predict spec: algorithm: not a field of a predict spec (kind, model, data, out, workers)'],
  ])('refuses %j in one line naming the field', (change, message) => {
    // Prepare
    const spec = { kind: 'predict', model: { name: 'iris' }, data: { uri: 's3://b/d/' }, out: 's3://bucket/preds/', ...change };

    // Act + Assess
    expect(() => parsePredictSpec(spec)).toThrow(message);
  });
});
