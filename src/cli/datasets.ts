import { FileDatasetSource } from '../data/sources/FileDatasetSource.js';
import type { PartsDatasetSource } from '../data/sources/PartsDatasetSource.js';

/**
 * Local files, or S3 for an s3:// URI: through `--s3-endpoint` or the SDK's own
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when set (path-style addressing, as emulators and IP
 * endpoints need; the emulator's credentials unless AWS_ACCESS_KEY_ID is set). The S3 client loads
 * only for s3:// data: imported at the CLI's start it cost every command ~0.2 s of CPU (the SDK).
 */
export async function datasetSource(uri: string, s3Endpoint?: string): Promise<{ datasets: PartsDatasetSource; close(): void }> {
  if (!uri.startsWith('s3://')) return { datasets: new FileDatasetSource(), close: () => {} };
  const [{ createS3Client }, { S3DatasetSource }] = await Promise.all([import('../aws/s3.js'), import('../aws/S3DatasetSource.js')]);
  const endpoint = s3Endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  const credentials = accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {};
  const client = createS3Client(endpoint ? { endpoint, ...credentials } : {});
  return { datasets: new S3DatasetSource(client), close: () => client.destroy() };
}
