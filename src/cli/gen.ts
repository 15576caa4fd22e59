import { streamBlobs, streamClassification, type RowStream } from '../data/generate.js';
import { openTableWriter } from '../data/formats/write.js';
import type { CliIo } from './io.js';

export interface GenOptions {
  rows: number;
  dims: number;
  centers: number;
  std?: number;
  margin?: number;
  seed: number;
  out: string;
}

/** Rows generated and written at a time: any number of rows in bounded memory. */
const BATCH_ROWS = 65536;

/** `bspml gen blobs|classification`: synthetic data, CSV, .csv.gz, binary (.bin, .f32) or Parquet (.parquet), streamed. */
export async function gen(kind: 'blobs' | 'classification', options: GenOptions, io: CliIo): Promise<void> {
  let stream: RowStream;
  let note: string;
  if (kind === 'blobs') {
    const blobs = streamBlobs({ rows: options.rows, dims: options.dims, centers: options.centers, std: options.std, seed: options.seed });
    stream = blobs;
    note = `${options.centers} blobs, std ${options.std ?? 1}, centres ${JSON.stringify(blobs.centers.map((c) => c.map((v) => +v.toFixed(3))))}`;
  } else {
    stream = streamClassification({ rows: options.rows, dims: options.dims, seed: options.seed, margin: options.margin });
    note = `linearly separable, margin ${options.margin ?? 0.5}, label column "label"`;
  }
  const writer = await openTableWriter(options.out, stream.columns);
  try {
    for (let batch = stream.next(BATCH_ROWS); batch; batch = stream.next(BATCH_ROWS)) await writer.write(batch);
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  io.stderr.write(`wrote ${options.out}: ${writer.rows} rows × ${stream.columns.length} columns (${describeFormat(writer.format)}); ${note}\n`);
}

export function describeFormat(format: string): string {
  return format === 'binary' ? 'binary float32' : format === 'parquet' ? 'Parquet' : format === 'csv.gz' ? 'gzipped CSV' : 'CSV';
}
