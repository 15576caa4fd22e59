import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/s3.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { authorization, createS3Getter, encodeKey } from '../../src/serve/s3Get.js';

/*
 * The predict function's one signed GET (src/serve/s3Get.ts). s3rver does not check Signature V4,
 * so the signature is held to the AWS SDK's own signer: the SDK signs a GetObject (captured before
 * it is sent), and ours, over the same method, path, headers and time, must give the same header.
 */

/** The request the SDK's S3 client would send, signed, and never sent. */
async function sdkSigned(key: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  let captured: { method: string; path: string; query: Record<string, string>; headers: Record<string, string> } | undefined;
  const client = new S3Client({
    region: 'eu-west-1',
    credentials,
    requestHandler: {
      handle: async (request: { method: string; path: string; query: Record<string, string>; headers: Record<string, string> }) => {
        captured = request;
        throw new Error('captured');
      },
    } as never,
    maxAttempts: 1,
  });
  await client.send(new GetObjectCommand({ Bucket: 'bspml-models', Key: key })).catch(() => {});
  client.destroy();
  return captured!;
}

describe('the predict function\'s S3 GET', () => {
  it.each([
    ['a plain key', 'models/iris/latest.json', undefined],
    ['a key with spaces and reserved characters', "models/a b/(v1)!*'+=.json", undefined],
    ['a session token, as on Lambda', 'models/churn/churn-20261206T010000Z-0b9e8d.json', 'FwoGZXIvYXdzEXAMPLETOKEN//////////'],
  ])('signs as the AWS SDK signs (%s)', async (_, key, sessionToken) => {
    // Prepare
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', ...(sessionToken ? { sessionToken } : {}) };
    const request = await sdkSigned(key, credentials);
    const [, signedHeaders] = /SignedHeaders=([^,]+)/.exec(request.headers.authorization!)!;
    const headers = Object.fromEntries(signedHeaders!.split(';').map((name) => [name, request.headers[Object.keys(request.headers).find((h) => h.toLowerCase() === name)!]!]));

    // Act
    // The SDK adds ?x-id=GetObject, which it signs: so must we, here.
    const ours = authorization({ method: request.method, path: request.path, query: 'x-id=GetObject', headers, payloadHash: headers['x-amz-content-sha256']! }, credentials, 'eu-west-1', 's3', headers['x-amz-date']!);

    // Assess
    expect(Object.keys(request.query)).toEqual(['x-id']);
    expect(request.path).toBe(`/${encodeKey(key)}`);
    expect(ours).toBe(request.headers.authorization!);
  });
});

describe('the predict function\'s S3 GET against s3rver', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startS3rver(['bspml-get-test']);
    const client = createS3Client({ endpoint: s3.endpoint });
    await client.send(new PutObjectCommand({ Bucket: 'bspml-get-test', Key: 'models/a b/(1).json', Body: '{"ok":true}' }));
    client.destroy();
  }, 60_000);
  afterAll(async () => {
    await s3?.close();
  });

  it('reads an object by a key that needs encoding, and answers undefined for a missing one', async () => {
    // Prepare
    const getter = createS3Getter({ endpoint: s3.endpoint, env: {} });

    // Act
    const found = await getter.get('bspml-get-test', 'models/a b/(1).json');
    const missing = await getter.get('bspml-get-test', 'models/none/latest.json');
    const noBucket = await getter.get('no-such-bucket', 'models/x.json').catch((e: Error) => e);

    // Assess
    expect(found).toBe('{"ok":true}');
    expect(missing).toBeUndefined();
    expect((noBucket as Error).message).toBe('s3://no-such-bucket/models/x.json: NoSuchBucket');
  });
});
