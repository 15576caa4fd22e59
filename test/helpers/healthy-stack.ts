import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect } from 'vitest';
import { startAwsEmulators, type AwsEmulators } from './aws-emulators.js';
import { pipeline, type Pipeline } from './aws-pipeline.js';

/** The job the fuzz tests keep running beside what they send: whatever arrives, it must still finish. */
export const HEALTHY = 'fuzz-healthy';

/**
 * The real handlers on the AWS emulators, with one healthy k-means job started before the file's
 * tests and everything closed after them. The returned object's fields are set by the time a test runs.
 */
export function stackWithHealthyJob(): { emulators: AwsEmulators; p: Pipeline } {
  const stack = {} as { emulators: AwsEmulators; p: Pipeline };
  beforeAll(async () => {
    stack.emulators = await startAwsEmulators();
    stack.p = pipeline(stack.emulators, { BSPML_THREADS: '1', BSPML_MAX_RECEIVES: '3' });
    const { bucket } = stack.emulators;
    await stack.p.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'datasets/fuzz.csv', Body: 'a,b\n1,2\n3,4\n5,6\n7,8\n9,9\n0,1\n' }));
    const [result] = await stack.p.start({ jobId: HEALTHY, spec: { algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 3, data: { uri: `s3://${bucket}/datasets/fuzz.csv` } } });
    expect(result!.status).toBe('RUNNING');
  });
  afterAll(async () => {
    await stack.p?.close();
    await stack.emulators?.close();
  });
  return stack;
}
