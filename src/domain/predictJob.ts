import type { JobRecord, PredictPart, PredictState } from './job.js';
import type { PredictSpec } from './predictSpec.js';

/*
 * A predict job's record (issue 24): the fields every job has, `kind: 'predict'`, its PredictSpec in
 * `spec`, and the model, output folder and parts in `predict`. Stores keep it as any job record;
 * these two functions are the one place a record is read as, or written from, a predict job.
 */

export type PredictJobRecord = Omit<JobRecord, 'kind' | 'spec' | 'predict' | 'result' | 'data'> & {
  kind: 'predict';
  spec: PredictSpec;
  /** Absent while STARTING, and in a job refused before its model was resolved. */
  predict?: PredictState;
};

/** The record as a predict job, or undefined when it is a training job. */
export function asPredictJob(job: JobRecord): PredictJobRecord | undefined {
  return job.kind === 'predict' ? (job as unknown as PredictJobRecord) : undefined;
}

/** The predict job as the stores take a record. */
export function predictRecord(job: PredictJobRecord): JobRecord {
  return job as unknown as JobRecord;
}

/** The task's partial: the part it wrote and its rows, as JSON (the barrier's partials are bytes). */
export function encodePredictPart(part: PredictPart): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(part));
}

export function decodePredictPart(bytes: Uint8Array): PredictPart {
  const part = JSON.parse(new TextDecoder().decode(bytes)) as Partial<PredictPart>;
  const counts = [part.shard, part.rows, part.bytes, part.modelReads];
  if (typeof part.uri !== 'string' || !counts.every((n) => Number.isInteger(n) && n! >= 0) || typeof part.ms !== 'number' || !(part.ms >= 0)) {
    throw new SyntaxError('not a predict part: {shard, uri, rows, bytes, ms, modelReads}');
  }
  return part as PredictPart;
}

/** A predict job's own folder: the spec's `out` and the job id, so no run overwrites another's parts. */
export function predictOutFolder(out: string, jobId: string): string {
  return `${out.endsWith('/') ? out : `${out}/`}${jobId}/`;
}
