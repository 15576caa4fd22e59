import { encodeBinary } from '../data/formats/binary.js';
import { formatCsv } from '../data/csv.js';
import { generateBlobs, generateClassification } from '../data/generate.js';
import type { Table } from '../data/table.js';
import { writeFileAtomic } from '../util/files.js';
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

/** `bspml gen blobs|classification`: synthetic data, CSV or (for .bin / .f32 names) binary. */
export async function gen(kind: 'blobs' | 'classification', options: GenOptions, io: CliIo): Promise<void> {
  let table: Table;
  let note: string;
  if (kind === 'blobs') {
    const blobs = generateBlobs({ rows: options.rows, dims: options.dims, centers: options.centers, std: options.std, seed: options.seed });
    table = blobs.table;
    note = `${options.centers} blobs, std ${options.std ?? 1}, centres ${JSON.stringify(blobs.centers.map((c) => c.map((v) => +v.toFixed(3))))}`;
  } else {
    const data = generateClassification({ rows: options.rows, dims: options.dims, seed: options.seed, margin: options.margin });
    table = data.table;
    note = `linearly separable, margin ${options.margin ?? 0.5}, label column "label"`;
  }
  const binary = /\.(bin|f32)$/i.test(options.out);
  await writeFileAtomic(options.out, binary ? encodeBinary(table) : formatCsv(table));
  io.stderr.write(`wrote ${options.out}: ${table.rows} rows × ${table.cols} columns (${binary ? 'binary float32' : 'CSV'}); ${note}\n`);
}
