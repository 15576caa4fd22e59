import type { TrainJobRecord } from '../domain/job.js';

/**
 * Where a finished job's model file goes (on AWS: `models/NAME/JOBID.json` and `latest.json` in the
 * stack's bucket, src/aws/models.ts). The aggregation that ends a job writes it *before* it marks the
 * job SUCCEEDED, so no job is ever SUCCEEDED without its file: a write that fails leaves the job
 * RUNNING at its last round, whose completion is aggregated again (a redelivery, the inline
 * aggregation's fallback, the recovery sweep). `job` is the record as it will be stored (status
 * SUCCEEDED, its result). The write must be safe to repeat: concurrent or repeated aggregations of
 * the last round write the same bytes.
 */
export interface ModelFiles {
  write(job: TrainJobRecord): Promise<void>;
}
