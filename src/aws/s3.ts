import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { awsClientTimeouts } from '../util/clients.js';

/**
 * An S3 client for AWS, or for an emulator at `endpoint` (s3rver): path-style addressing, and
 * checksums only where S3 requires them, since s3rver otherwise stores the aws-chunked framing as
 * the object's bytes.
 */
export function createS3Client(options: { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {}): S3Client {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (options.endpoint ? 'us-east-1' : undefined);
  return new S3Client({
    ...awsClientTimeouts(),
    region,
    ...(options.endpoint
      ? {
          endpoint: options.endpoint,
          forcePathStyle: true,
          credentials: options.credentials ?? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : options.credentials
        ? { credentials: options.credentials }
        : {}),
  });
}

/**
 * Reads objects as text through the SDK, undefined when there is none (NoSuchKey: the role must
 * be allowed to list the prefix, or S3 answers AccessDenied). The predict workers' and the start's
 * model reader (src/serve/modelStore.ts's ObjectReader).
 */
export function s3TextReader(client: Pick<S3Client, 'send'>): { get(bucket: string, key: string): Promise<string | undefined> } {
  return {
    async get(bucket, key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return out.Body ? await out.Body.transformToString('utf-8') : '';
      } catch (error) {
        if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound')) return undefined;
        throw error;
      }
    },
  };
}
