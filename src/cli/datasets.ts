import { createS3Client } from '../aws/s3.js';
import { S3DatasetSource } from '../aws/S3DatasetSource.js';
import { FileDatasetSource } from '../data/sources/FileDatasetSource.js';
import type { PartsDatasetSource } from '../data/sources/PartsDatasetSource.js';

/**
 * Local files, or S3 for an s3:// URI: through `--s3-endpoint` or the SDK's own
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when set (path-style addressing, as emulators and IP
 * endpoints need; the emulator's credentials unless AWS_ACCESS_KEY_ID is set).
 */
export function datasetSource(uri: string, s3Endpoint?: string): { datasets: PartsDatasetSource; close(): void } {
  if (!uri.startsWith('s3://')) return { datasets: new FileDatasetSource(), close: () => {} };
  const endpoint = s3Endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  const credentials = accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {};
  const client = createS3Client(endpoint ? { endpoint, ...credentials } : {});
  return { datasets: new S3DatasetSource(client), close: () => client.destroy() };
}
