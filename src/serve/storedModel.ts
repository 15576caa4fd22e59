import { parseS3Uri } from '../util/s3uri.js';
import { SpecError } from '../errors.js';
import { parseModel } from '../protocol/modelFile.js';
import type { ModelResult } from '../domain/results.js';
import { checkModelRef, LATEST } from './modelStore.js';

// The S3 client (the AWS SDK, ~0.2 s of CPU to load) loads when a stored model is first read, not
// when the CLI starts: `bspml predict --model FILE` and every other command do not pay for it.
const s3Commands = () => import('@aws-sdk/client-s3');

/*
 * `bspml predict --model s3://BUCKET/models/NAME/ [--model-version V]`: a published model (see
 * src/aws/models.ts), its latest or a pinned version, as the endpoint serves it. An object URI
 * ending in .json is that one file.
 */

export function isS3Uri(text: string): boolean {
  return text.startsWith('s3://');
}

/** The object a model URI and version name. */
export function storedModelLocation(uri: string, version?: string): { bucket: string; key: string } {
  const { bucket, key } = parseS3Uri(uri);
  if (key.endsWith('.json')) {
    if (version !== undefined) throw new SpecError(`--model-version ${version}: ${uri} is already one model file; give the model's prefix (s3://${bucket}/models/NAME/) to pin a version`, 'model-version');
    return { bucket, key };
  }
  const prefix = key.replace(/\/+$/, '');
  const slash = prefix.lastIndexOf('/');
  try {
    const ref = checkModelRef(prefix.slice(slash + 1), version ?? LATEST);
    return { bucket, key: `${prefix}/${ref.version}.json` };
  } catch (error) {
    throw new SpecError(`${uri}: ${(error as Error).message}`, 'model', { cause: error });
  }
}

export async function readStoredModel(uri: string, options: { modelVersion?: string; s3Endpoint?: string }): Promise<ModelResult> {
  const { bucket, key } = storedModelLocation(uri, options.modelVersion);
  const where = `s3://${bucket}/${key}`;
  const { createS3Client } = await import('../aws/s3.js');
  const s3 = createS3Client({ endpoint: options.s3Endpoint ?? process.env.AWS_ENDPOINT_URL_S3 });
  let text: string;
  try {
    const { GetObjectCommand } = await s3Commands();
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = await object.Body!.transformToString();
  } catch (error) {
    const code = (error as { name?: string }).name;
    const why = code === 'NoSuchKey' ? (options.modelVersion !== undefined ? `no version "${options.modelVersion}" of this model` : 'no such model') : (error as Error).message.split('\n')[0];
    throw new SpecError(`${where}: cannot read model: ${why}`, 'model', { cause: error });
  } finally {
    s3.destroy();
  }
  try {
    return parseModel(JSON.parse(text), where);
  } catch (error) {
    if (error instanceof SpecError) throw error;
    throw new SpecError(`${where}: not a bspml model: not valid JSON`, 'model', { cause: error });
  }
}
