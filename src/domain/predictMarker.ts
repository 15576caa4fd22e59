import type { PredictPart, PredictState } from './job.js';

/*
 * A finished predict job's completion marker (docs/serving.md): `OUT/JOBID/_SUCCESS`, as Hadoop and
 * Spark write beside their parts, so that whatever reads the folder can wait for it instead of the
 * job record. Its body is JSON: the job, its model, and the parts in shard order with their rows
 * and bytes. It is written after the last part and before the record says SUCCEEDED; a job that does
 * not succeed leaves none. Its body depends on the parts alone, so writing it again changes nothing.
 */

export const SUCCESS_MARKER = '_SUCCESS';

/** One part as the marker lists it: its name in the job's folder, where it is, its shard, rows and bytes. */
export interface MarkerPart {
  name: string;
  uri: string;
  shard: number;
  rows: number;
  bytes: number;
}

export interface SuccessMarker {
  jobId: string;
  model: PredictState['model'];
  /** The data set predicted on (the spec's `data.uri`). */
  data: string;
  /** The job's folder, `OUT/JOBID/`: every part's uri starts with it. */
  out: string;
  rows: number;
  bytes: number;
  parts: MarkerPart[];
}

/** The marker of a job whose shards wrote `parts` (any order: listed in shard order). */
export function successMarker(job: { jobId: string; data: string; predict: Pick<PredictState, 'model' | 'out'> }, parts: readonly PredictPart[]): SuccessMarker {
  const sorted = [...parts].sort((a, b) => a.shard - b.shard);
  const listed = sorted.map((p) => ({ name: p.uri.startsWith(job.predict.out) ? p.uri.slice(job.predict.out.length) : p.uri, uri: p.uri, shard: p.shard, rows: p.rows, bytes: p.bytes }));
  return {
    jobId: job.jobId,
    model: job.predict.model,
    data: job.data,
    out: job.predict.out,
    rows: listed.reduce((sum, p) => sum + p.rows, 0),
    bytes: listed.reduce((sum, p) => sum + p.bytes, 0),
    parts: listed,
  };
}

/** Where a job's marker is: `OUT/JOBID/_SUCCESS`, given the job's folder. */
export function markerUri(out: string): string {
  return `${out.endsWith('/') ? out : `${out}/`}${SUCCESS_MARKER}`;
}

/** The marker's body, as stored. */
export function markerText(marker: SuccessMarker): string {
  return `${JSON.stringify(marker, null, 2)}\n`;
}
