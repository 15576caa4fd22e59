/**
 * The byte-level port the data plane reads through: list a data set's parts, read a byte range
 * of one, or stream one. Local files and S3 objects implement it; the formats (src/data/formats)
 * only ever see bytes, so every format works from every source.
 */

/** One file or object found under a data set's URI. */
export interface PartEntry {
  /** For messages: the file's path or object's URI (`s3://bucket/datasets/x/part-00003.csv`); a single file's as the user gave it. */
  name: string;
  /** A local path or `s3://bucket/key`. */
  uri: string;
  bytes: number;
  versionId?: string;
}

export interface ByteSource {
  /** The parts of a data set: the file itself, or a directory's/prefix's files in key order. */
  list(uri: string): Promise<PartEntry[]>;
  /** Bytes [start, min(end, size)) of a part, in one read. */
  read(part: PartEntry, start: number, end: number): Promise<Uint8Array>;
  /** Bytes [start, end) of a part as chunks, so that no step holds the whole range at once. */
  stream(part: PartEntry, start: number, end: number): AsyncIterable<Uint8Array>;
}

/**
 * What a many-part data set is made of: files with data, in key order; not empty ones, nor those
 * whose names (relative to the directory or prefix) have a segment starting with `_` or `.` (the
 * `_SUCCESS` markers, `_temporary/` folders and `.crc` files Spark/Hadoop writers leave).
 */
export function dataParts<T extends { bytes: number; relative: string }>(entries: T[]): T[] {
  return entries
    .filter((e) => e.bytes > 0 && !e.relative.split('/').some((segment) => segment.startsWith('_') || segment.startsWith('.')))
    .sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}
