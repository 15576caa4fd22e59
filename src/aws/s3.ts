import { S3Client } from '@aws-sdk/client-s3';
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
