import type { TrainJobRecord } from '../domain/job.js';
import type { ModelFiles } from '../ports/ModelFiles.js';
import { log } from './messages.js';
import { publishModel, type S3PutLike } from './models.js';

/**
 * A finished job's model file in the stack's bucket (`models/NAME/JOBID.json`, then `latest.json`:
 * src/aws/models.ts), written by the aggregation that ends the job before it marks it SUCCEEDED
 * (src/ports/ModelFiles.ts). The bucket is resolved at the write: a stack without one fails the
 * aggregation with the variable's name, and the job ends FAILED with it rather than SUCCEEDED
 * without a file.
 */
export class S3ModelFiles implements ModelFiles {
  constructor(
    private readonly s3: S3PutLike,
    private readonly bucket: () => string,
    private readonly prefixes: { dataPrefix?: string; modelPrefix?: string },
  ) {}

  async write(job: TrainJobRecord): Promise<void> {
    const bucket = this.bucket();
    const { key, latest } = await publishModel(this.s3, bucket, job, this.prefixes);
    log('info', 'model-written', { jobId: job.jobId, model: `s3://${bucket}/${key}`, latest: `s3://${bucket}/${latest}`, rounds: job.result?.rounds });
  }
}
