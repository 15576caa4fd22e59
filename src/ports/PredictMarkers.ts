import type { SuccessMarker } from '../domain/predictMarker.js';

/**
 * Where a predict job's completion marker goes (`OUT/JOBID/_SUCCESS`, src/domain/predictMarker.ts;
 * on AWS an S3 object, src/aws/S3PredictMarkers.ts). The step that finishes the job writes it
 * before it marks the job SUCCEEDED: a write that fails leaves the job RUNNING, to be finished again
 * (a redelivered completion, the recovery sweep). Both calls must be safe to repeat.
 */
export interface PredictMarkers {
  write(marker: SuccessMarker): Promise<void>;
  /** Takes back a marker written by a finish that then found the job ended otherwise (FAILED meanwhile). */
  remove(out: string): Promise<void>;
}
