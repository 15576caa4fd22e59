import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/s3.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { binaryModel, kmeansModel, multinomialModel, randomRows, svmOvrModel } from '../helpers/served-models.js';

/*
 * Batch predictions over a data set in parts in S3 (s3rver), through the training data plane:
 * one output part per shard, in order, and read one after another they are what `bspml predict`
 * writes for the whole set as one local file, row for row.
 */

const BUCKET = 'bspml-batch-test';
let s3: LocalS3;
let client: S3Client;

/** 3 parts of 40, 7 and 25 rows: id, the four features in another order than the model's, and a text label. */
const PARTS = [40, 7, 25];
const HEADER = 'id,f3,f1,species,f0,f2';
let partsCsv: string[];

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  client = createS3Client({ endpoint: s3.endpoint });
  let id = 0;
  partsCsv = PARTS.map((rows, p) => {
    const x = randomRows(rows, 4, p + 1);
    const lines = Array.from({ length: rows }, (_, i) => {
      const v = (j: number) => Math.round(x[i * 4 + j]! * 1000) / 1000;
      return `r${id++},${v(3)},${v(1)},${['setosa', 'versicolor', 'virginica'][i % 3]},${v(0)},${v(2)}`;
    });
    return `${HEADER}\n${lines.join('\n')}\n`;
  });
  for (const [p, body] of partsCsv.entries()) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `datasets/iris/part-${p}.csv`, Body: body }));
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

async function listKeys(prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

async function text(key: string): Promise<string> {
  return (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
}

describe('bspml predict over a data set in S3', () => {
  const tempDir = useTempDirs('bspml-batch-');

  it.each([
    ['multinomial', 'one per part', multinomialModel()],
    ['binary', '5', { ...binaryModel(4), featureNames: ['f0', 'f1', 'f2', 'f3'], labelName: 'species' }],
    ['k-means', '2', { ...kmeansModel(4, 3), featureNames: ['f0', 'f1', 'f2', 'f3'] }],
    ['one-vs-rest SVM', '2', svmOvrModel()],
  ])('writes one part per shard, in order, equal to local predict row for row (%s, shards: %s)', async (kind, shardOption, model) => {
    const shards = shardOption === 'one per part' ? undefined : shardOption;
    // Prepare
    const dir = await tempDir();
    const modelFile = join(dir, 'model.json');
    await writeFile(modelFile, JSON.stringify(model));
    const whole = join(dir, 'all.csv');
    await writeFile(whole, `${HEADER}\n${partsCsv.map((p) => p.split('\n').slice(1).join('\n').trim()).join('\n')}\n`);
    const out = `preds/${kind}/`;

    // Act
    const batch = await runBspml(['predict', '--model', modelFile, '--data', `s3://${BUCKET}/datasets/iris/`, '--out', `s3://${BUCKET}/${out}`, '--s3-endpoint', s3.endpoint, ...(shards ? ['--shards', shards] : [])]);
    // Locally the text columns are carried (the id first), then left out below to compare.
    const carried = kind === 'k-means' ? ['--id-column', 'id', '--keep', 'species'] : ['--id-column', 'id'];
    const local = await runBspml(['predict', '--model', modelFile, '--data', whole, ...carried]);

    // Assess
    expect(batch.code, batch.stderr).toBe(0);
    expect(local.code, local.stderr).toBe(0);
    const keys = await listKeys(out);
    const count = shards ? Number(shards) : PARTS.length;
    expect(keys).toEqual(Array.from({ length: count }, (_, i) => `${out}part-0000${i}.csv`));
    const parts = await Promise.all(keys.map(text));
    const drop = (line: string) => line.split(',').slice(kind === 'k-means' ? 2 : 1).join(',');
    const [header, ...expected] = local.stdout.trim().split('\n').map(drop);
    expect(parts.every((p) => p.startsWith(`${header}\n`))).toBe(true);
    const rows = parts.flatMap((p) => p.trim().split('\n').slice(1));
    expect(rows).toHaveLength(PARTS.reduce((a, b) => a + b, 0));
    expect(rows).toEqual(expected);
    expect(batch.stderr).toMatch(new RegExp(`^predicted 72 rows in ${count} parts under s3://${BUCKET}/${out}`));
  });

  it('refuses S3 data without --out parts, and a model feature the data lacks, with one line', async () => {
    // Prepare
    const dir = await tempDir();
    const modelFile = join(dir, 'model.json');
    await writeFile(modelFile, JSON.stringify({ ...multinomialModel(), featureNames: ['f0', 'f1', 'f2', 'petal'] }));

    // Act
    const noOut = await runBspml(['predict', '--model', modelFile, '--data', `s3://${BUCKET}/datasets/iris/`, '--s3-endpoint', s3.endpoint]);
    const missing = await runBspml(['predict', '--model', modelFile, '--data', `s3://${BUCKET}/datasets/iris/`, '--out', `s3://${BUCKET}/preds/x/`, '--s3-endpoint', s3.endpoint]);

    // Assess
    expect(noOut.code).toBe(1);
    expect(noOut.stderr).toMatch(/^bspml: error: --data s3:\/\/.*: predictions over a data set in S3 are written as parts: give --out/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^bspml: error: s3:\/\/bspml-batch-test\/datasets\/iris\/.*features: no column "petal"/);
    expect(await listKeys('preds/x/')).toEqual([]);
  });
});
