import type { DatasetLayout } from '../../src/data/layout.js';
import type { PieceReport } from '../../src/data/types.js';
import { shardRange, type DatasetRef, type ShardData, type TrainingData } from '../../src/data/types.js';
import { DataError } from '../../src/errors.js';
import type { DatasetSource } from '../../src/ports/DatasetSource.js';

/*
 * A data set of several in-memory parts, sharded over the concatenation of their rows, as the
 * file and S3 sources shard parts: a shard's rows come from one or more pieces of parts, each row
 * knows its position in its part, and a bad value is thrown with its location in the piece. Lets
 * the protocol's tests cover many-part data sets apart from any file format.
 */

export interface MemoryPart {
  name: string;
  data: TrainingData;
  /** A row (0-based in the part) whose `field` the reader refuses with `detail`. */
  bad?: { row: number; field: string; detail: string };
}

export class MemoryPartsSource implements DatasetSource {
  private readonly sets = new Map<string, MemoryPart[]>();
  /** Every describe and shard load, to show the start step reads no rows. */
  readonly calls: string[] = [];

  add(uri: string, parts: MemoryPart[]): this {
    this.sets.set(uri, parts);
    return this;
  }

  async describe(ref: DatasetRef): Promise<DatasetLayout> {
    this.calls.push(`describe ${ref.uri}`);
    const parts = this.parts(ref.uri);
    const first = parts[0]!.data;
    return {
      uri: ref.uri,
      // Each part as a CSV file with a header: its first data line is line 2.
      parts: parts.map((p) => ({ name: p.name, uri: `${ref.uri}/${p.name}`, format: 'csv' as const, bytes: 0, dataOffset: 0, firstLine: 2 })),
      columns: first.labelName !== undefined ? [...first.featureNames, first.labelName] : [...first.featureNames],
      featureNames: [...first.featureNames],
      ...(first.labelName !== undefined ? { labelName: first.labelName, labelIndex: first.dims } : {}),
      bytes: 0,
    };
  }

  async loadShard(layout: DatasetLayout, shard: number, shards: number): Promise<ShardData> {
    this.calls.push(`shard ${shard} of ${shards}`);
    const parts = this.parts(layout.uri);
    const total = parts.reduce((n, p) => n + p.data.rows, 0);
    const { start, end } = shardRange(total, shard, shards);
    const rows = end - start;
    const dims = layout.featureNames.length;
    const hasLabels = layout.labelName !== undefined;
    const buffer = new SharedArrayBuffer(rows * dims * 4 + (hasLabels ? rows * 4 : 0));
    const features = new Float32Array(buffer, 0, rows * dims);
    const labels = hasLabels ? new Float32Array(buffer, rows * dims * 4, rows) : undefined;
    const positions = new Float64Array(rows);
    const pieces: PieceReport[] = [];
    let offset = 0; // first global row of part p
    let out = 0;
    for (const [p, part] of parts.entries()) {
      const from = Math.max(start, offset) - offset;
      const to = Math.min(end, offset + part.data.rows) - offset;
      offset += part.data.rows;
      if (from >= to) continue;
      const piece = { part: p, start: from, end: to };
      if (part.bad && part.bad.row >= from && part.bad.row < to) {
        // As the CSV reader does: the line itself when the piece starts the part, else only the
        // 0-based line in the piece (a reader starting mid-part cannot count the lines before it).
        throw new DataError(part.name, part.bad.detail, {
          ...(from === 0 ? { row: 2 + part.bad.row } : {}),
          field: part.bad.field,
          location: { part: p, pieceStart: from, lineInPiece: part.bad.row - from, field: part.bad.field },
        });
      }
      features.set(part.data.features.subarray(from * dims, to * dims), out * dims);
      if (labels) labels.set(part.data.labels!.subarray(from, to), out);
      for (let r = from; r < to; r++) positions[out + r - from] = r;
      pieces.push({ piece, rows: to - from, lines: to - from });
      out += to - from;
    }
    return { shard, shards, first: start, rows, dims, buffer, features, labels, positions, pieces };
  }

  private parts(uri: string): MemoryPart[] {
    const parts = this.sets.get(uri);
    if (!parts) throw new DataError(uri, 'no such data set');
    return parts;
  }
}

/** `data` cut into parts of the given row counts, named part-00000.csv, part-00001.csv, … */
export function splitIntoParts(data: TrainingData, sizes: number[]): MemoryPart[] {
  const parts: MemoryPart[] = [];
  let at = 0;
  for (const [i, n] of sizes.entries()) {
    const features = data.features.slice(at * data.dims, (at + n) * data.dims);
    const labels = data.labels?.slice(at, at + n);
    parts.push({ name: `part-${String(i).padStart(5, '0')}.csv`, data: { ...data, rows: n, features, ...(labels ? { labels } : {}) } });
    at += n;
  }
  if (at !== data.rows) throw new RangeError(`parts of ${at} rows for ${data.rows}`);
  return parts;
}
