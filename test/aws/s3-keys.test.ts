import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/s3.js';
import { S3DatasetSource } from '../../src/aws/S3DatasetSource.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { formatS3Uri, parseS3Uri } from '../../src/util/s3uri.js';

/* Issue 12 defects 15 (S3 keys with `#` or `?`) and 18 (the in-process s3rver and `../` keys). */

const BUCKET = 'keys-test';
let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  client = createS3Client({ endpoint: s3.endpoint });
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

describe('defect 15: valid S3 keys with # or ?', () => {
  it.each([
    ['s3://b/datasets/run#3.csv', { bucket: 'b', key: 'datasets/run#3.csv' }],
    ['s3://b/datasets/what?.csv', { bucket: 'b', key: 'datasets/what?.csv' }],
    ['s3://b/a?b#c.bin?versionId=v%2B1', { bucket: 'b', key: 'a?b#c.bin', versionId: 'v+1' }],
    ['s3://b/#', { bucket: 'b', key: '#' }],
  ])('parses %s', (uri, location) => {
    expect(parseS3Uri(uri)).toEqual(location);
    expect(parseS3Uri(formatS3Uri(location))).toEqual(location);
  });

  it('still refuses what is not an s3://bucket/key URI, and bad percent-encoding of a version', () => {
    expect(() => parseS3Uri('s3://b')).toThrow('s3://b: not an s3://bucket/key URI');
    expect(() => parseS3Uri('s3://b/')).toThrow(/not an s3:\/\/bucket\/key URI/);
    expect(() => parseS3Uri('s3://b/k?versionId=%E0%A4%A')).toThrow(/versionId "%E0%A4%A" is not valid percent-encoding/);
  });

  it('a data set whose key holds # and ? loads from S3', async () => {
    // Prepare
    const key = 'datasets/run #3?final.csv';
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'a,b\n1,2\n3,4\n5,6\n' }));

    // Act
    const source = new S3DatasetSource(client);
    const layout = await source.describe({ uri: `s3://${BUCKET}/${key}` });
    const data = await source.loadShard(layout, 0, 1);

    // Assess
    expect({ rows: data.rows, dims: data.dims, featureNames: layout.featureNames }).toEqual({ rows: 3, dims: 2, featureNames: ['a', 'b'] });
  });
});

describe('defect 18: the in-process s3rver keeps every object inside its directory', () => {
  it.each(['../escaped.txt', '../../escaped.txt', 'a/../../escaped.txt', 'a/./b.txt'])('refuses the key %j with 400, writing nothing outside', async (key) => {
    // Prepare
    const directory = (s3.server as unknown as { store: { rootDirectory: string } }).store.rootDirectory;
    const around = async () => (await readdir(dirname(directory))).filter((name) => name.includes('escaped')).sort();
    const before = await around();

    // Act
    const error = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' })).catch((err: unknown) => err);
    const read = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })).catch((err: unknown) => err);

    // Assess
    expect(error).toMatchObject({ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } });
    expect(read).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect(await around()).toEqual(before);
  });

  it('keeps ordinary keys with dots working', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a/..b/.c/d..e.txt', Body: 'ok' }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/..b/.c/d..e.txt' }));
    expect(await got.Body?.transformToString()).toBe('ok');
  });
});
