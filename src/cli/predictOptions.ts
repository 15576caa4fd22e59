export interface PredictOptions {
  model: string;
  data: string;
  out?: string;
  /** A column copied to each output row, first, to tell rows apart (as text, exactly as written). */
  idColumn?: string;
  /** Columns copied to each output row after the id. */
  keep?: string[];
  /** Ignore columns that are neither features, the label, the id nor kept (default: an error). */
  allowExtraColumns?: boolean;
  /** Match the model's features to the file's columns by position, whatever their names. */
  byPosition?: boolean;
  /** With an s3:// model prefix: the version (job id) to use instead of the latest. */
  modelVersion?: string;
  /** For s3:// models, data and output parts. */
  s3Endpoint?: string;
  /** Parts out: shards of the data set (default: one per part). */
  shards?: number;
  /** Parts out: threads parsing CSV and formatting the parts (default: one per core). */
  threads?: number;
}
