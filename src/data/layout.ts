/*
 * The data plane's contract (issue 9): what the start step learns from metadata alone, and what a
 * worker reads for its shard. The start step calls `DatasetSource.describe` (headers and footers
 * only); the preparation round's workers call `DatasetSource.loadShard` with the layout, each
 * reading only its pieces; the summaries they return are merged by the preparation round's
 * aggregator (see summary.ts).
 */


export type PartFormat = 'csv' | 'csv.gz' | 'binary' | 'parquet';

/** One file or object of a data set. */
export interface DatasetPart {
  /** For messages: the file's or object's name as a person knows it (`part-00003.csv`). */
  name: string;
  /** A local path or `s3://bucket/key`. */
  uri: string;
  /** The S3 object version the job reads (a versioned bucket). */
  versionId?: string;
  format: PartFormat;
  bytes: number;
  /** Rows, when the part's metadata states them (binary, Parquet); unknown for CSV until read. */
  rows?: number;
  /** Rows per row group, in order (Parquet). */
  rowGroups?: number[];
  /** Compressed bytes per row group, in order (Parquet): what a worker reads for it. */
  rowGroupBytes?: number[];
  /** Whether the part's first line names the columns (CSV). */
  hasHeader?: boolean;
  /** Byte offset of the first data line (CSV: after the header line, if any; binary: after its header). */
  dataOffset: number;
  /** 1-based line number of the part's first data line (2 after a header, else 1). */
  firstLine: number;
}

/** What the start step knows of a data set: its parts and columns, no rows. */
export interface DatasetLayout {
  /** As the user gave it: a file, a directory, `s3://bucket/key` or `s3://bucket/prefix/`. */
  uri: string;
  parts: DatasetPart[];
  /** Every column of the parts, in file order. */
  columns: string[];
  featureNames: string[];
  labelName?: string;
  /** Index of the label in `columns`; absent without a label. */
  labelIndex?: number;
  /**
   * Columns read past, neither feature nor label: left out by `features`/`drop`, or an unnamed
   * leading index column (pandas' default `to_csv`). Not parsed, so they may hold text.
   */
  skipColumns?: number[];
  /** Total bytes of all parts. */
  bytes: number;
}

/** Where a data set is read from; `describe` lists it, `loadShard` reads pieces of its parts. */

/**
 * A contiguous piece of one part that a shard owns: bytes [start, end) of a CSV part (it owns every
 * line that starts inside the range), rows [start, end) of a binary part, row groups [start, end)
 * of a Parquet part; a gzip part is always one whole piece.
 */
export interface ShardPiece {
  part: number;
  start: number;
  end: number;
}

