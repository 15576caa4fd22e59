import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictMultinomial } from '../../src/algorithms/index.js';
import { createS3Client } from '../../src/aws/s3.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { multinomialModel } from '../helpers/served-models.js';

/*
 * Model versions: the stack keeps every trained model as models/NAME/VERSION.json (the version is
 * the job id) and the newest as latest.json; `bspml predict` reads either from S3 (s3rver here)
 * and pins one with --model-version.
 */

const BUCKET = 'bspml-versions-test';
let s3: LocalS3;
let client: S3Client;
const newer = multinomialModel();
const older = { ...multinomialModel(4, ['setosa', 'versicolor', 'virginica'], 99), jobId: '20261201T000000Z-000000' };
const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  client = createS3Client({ endpoint: s3.endpoint });
  for (const [key, body] of [
    [`models/iris/${older.jobId}.json`, older],
    [`models/iris/${newer.jobId}.json`, newer],
    ['models/iris/latest.json', newer],
  ] as const) {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(body) }));
  }
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

/** The predicted labels and probabilities `bspml predict` writes, as numbers. */
function table(csv: string): { labels: string[]; probabilities: number[] } {
  const [, ...lines] = csv.trim().split('\n');
  return { labels: lines.map((l) => l.split(',')[0]!), probabilities: lines.flatMap((l) => l.split(',').slice(1).map(Number)) };
}

function expected(model: typeof newer): { labels: string[]; probabilities: number[] } {
  const r = predictMultinomial(model, Float32Array.from(rows.flat()), rows.length);
  return { labels: Array.from(r.label, (k) => String(model.classes[k])), probabilities: Array.from(r.probabilities) };
}

describe('bspml predict with a published model', () => {
  const tempDir = useTempDirs('bspml-versions-');

  it('reads the latest version from models/NAME/, and a pinned one with --model-version', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'rows.csv');
    await writeFile(data, `f0,f1,f2,f3\n${rows.map((r) => r.join(',')).join('\n')}\n`);

    // Act
    const latest = await runBspml(['predict', '--model', `s3://${BUCKET}/models/iris/`, '--s3-endpoint', s3.endpoint, '--data', data]);
    const pinned = await runBspml(['predict', '--model', `s3://${BUCKET}/models/iris`, '--model-version', older.jobId, '--s3-endpoint', s3.endpoint, '--data', data]);
    const file = await runBspml(['predict', '--model', `s3://${BUCKET}/models/iris/${older.jobId}.json`, '--s3-endpoint', s3.endpoint, '--data', data]);

    // Assess
    for (const run of [latest, pinned, file]) expect(run.code, run.stderr).toBe(0);
    expect(table(latest.stdout)).toEqual(expected(newer));
    expect(table(pinned.stdout)).toEqual(expected(older));
    expect(table(file.stdout)).toEqual(expected(older));
    expect(expected(older)).not.toEqual(expected(newer));
  });

  it('refuses an unknown version, a version with a local file, and a version that is not one, with one line', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'rows.csv');
    await writeFile(data, `f0,f1,f2,f3\n${rows[0]!.join(',')}\n`);
    const local = join(dir, 'model.json');
    await writeFile(local, JSON.stringify(newer));

    // Act
    const unknown = await runBspml(['predict', '--model', `s3://${BUCKET}/models/iris/`, '--model-version', '20991231T000000Z-ffffff', '--s3-endpoint', s3.endpoint, '--data', data]);
    const withFile = await runBspml(['predict', '--model', local, '--model-version', older.jobId, '--data', data]);
    const path = await runBspml(['predict', '--model', `s3://${BUCKET}/models/iris/`, '--model-version', '../latest', '--s3-endpoint', s3.endpoint, '--data', data]);

    // Assess
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`bspml: error: s3://${BUCKET}/models/iris/20991231T000000Z-ffffff.json: cannot read model: no version "20991231T000000Z-ffffff" of this model\n`);
    expect(withFile.code).toBe(1);
    expect(withFile.stderr).toMatch(/^bspml: error: --model-version: pins a published model: give --model s3:\/\/BUCKET\/models\/NAME\/\n$/);
    expect(path.code).toBe(1);
    expect(path.stderr).toMatch(/^bspml: error: s3:\/\/.*: version "\.\.\/latest": not a model version/);
  });
});
