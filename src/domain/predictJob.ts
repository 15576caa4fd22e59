import type { JobRecord, PredictJobRecord, PredictPart } from './job.js';

/*
 * A predict job's record (issue 24) is the JobRecord of kind `predict` (src/domain/job.ts): the
 * fields every job has, its PredictSpec in `spec`, and the model, output folder and parts in
 * `predict`. These helpers read its partials and name its folder.
 */

export type { PredictJobRecord } from './job.js';

/** The record as a predict job, or undefined when it is a training job (narrowed on `kind`). */
export function asPredictJob(job: JobRecord): PredictJobRecord | undefined {
  return job.kind === 'predict' ? job : undefined;
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
