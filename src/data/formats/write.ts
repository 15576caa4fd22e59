import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { BspmlError } from '../../errors.js';
import { removeStaleTemps, tempPathFor } from '../../util/files.js';
import { formatCsvHeader, formatCsvRows } from './csv-write.js';
import { BINARY_ROWS_OFFSET, encodeBinaryHeader, encodeFloats } from './binary.js';
import { addPageCrcs } from './parquet-crc.js';

/** Rows per Parquet row group: ~4 MB for 16 float32 columns, so shards can be balanced by groups. */
export const PARQUET_ROW_GROUP = 65536;

export type OutputFormat = 'csv' | 'csv.gz' | 'binary' | 'parquet';

/** The format a file name asks for: .bin/.f32 binary, .parquet/.pq Parquet, .csv.gz, else CSV. */
export function outputFormat(path: string): OutputFormat {
  const name = path.toLowerCase();
  if (/\.(bin|f32)$/.test(name)) return 'binary';
  if (/\.(parquet|pq)$/.test(name)) return 'parquet';
  if (name.endsWith('.gz')) return 'csv.gz';
  return 'csv';
}

/**
 * Writes a table in batches of rows, never holding more than one batch: to a temporary file
 * beside `path`, renamed over it by `close` (a failed run leaves what was there before).
 */
export interface TableWriter {
  readonly format: OutputFormat;
  rows: number;
  /** Row-major float32 values, a whole number of rows. */
  write(values: Float32Array): Promise<void>;
  close(): Promise<void>;
  /** Removes the temporary file. */
  abort(): Promise<void>;
}

export async function openTableWriter(path: string, columns: string[], options: { header?: boolean } = {}): Promise<TableWriter> {
  const format = outputFormat(path);
  // Our temp name (with this pid); a dead run's temp of the same output goes first (issue 20 defect 13).
  const temp = tempPathFor(path);
  await removeStaleTemps(path);
  const fail = (error: unknown): never => {
    throw new BspmlError('E_WRITE', `${path}: cannot write: ${(error as Error).message.replace(/\s+/g, ' ')}`, { cause: error });
  };
  const cols = columns.length;
  const finishTo = async (finish: () => Promise<void>) => {
    try {
      await finish();
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      fail(error);
    }
  };

  if (format === 'parquet') {
    const writer = new ParquetWriter({
      writer: fileWriter(temp),
      schema: [{ name: 'root', num_children: cols }, ...columns.map((name) => ({ name, type: 'FLOAT' as const, repetition_type: 'REQUIRED' as const }))],
    });
    // hyparquet-writer appends to the file synchronously as it goes: once aborted, nothing more may
    // be written, or a batch still queued would create the removed temp file again.
    let aborted = false;
    const w: TableWriter = {
      format,
      rows: 0,
      async write(values) {
        if (aborted) throw new BspmlError('E_WRITE', `${path}: the write was aborted`);
        const n = values.length / cols;
        const columnData = columns.map((name, c) => {
          const data = new Float32Array(n);
          for (let r = 0; r < n; r++) data[r] = values[r * cols + c]!;
          // No offset index: the CRC pass (parquet-crc.ts) moves the pages, and it would point past them.
          return { name, data, type: 'FLOAT' as const, nullable: false, offsetIndex: false };
        });
        await writer.write({ columnData, rowGroupSize: PARQUET_ROW_GROUP });
        w.rows += n;
      },
      close: () =>
        finishTo(async () => {
          if (aborted) throw new Error('the write was aborted');
          await writer.finish();
          // Every page header gets its CRC-32, so that a reader can refuse a corrupted page (issue 20).
          const { schema, num_rows, row_groups, kvMetadata: key_value_metadata, createdBy: created_by } = writer;
          await addPageCrcs(temp, { version: 2, created_by, schema, num_rows, row_groups, key_value_metadata, metadata_length: 0 });
        }),
      // The CRC pass's copy too (parquet-crc.ts), should it be under way.
      abort: async () => {
        aborted = true;
        await rm(temp, { force: true });
        await rm(`${temp}.crc`, { force: true });
      },
    };
    return w;
  }

  const file = createWriteStream(temp);
  let out: WriteStream | Gzip = file;
  if (format === 'csv.gz') {
    const gzip = createGzip();
    gzip.pipe(file);
    out = gzip;
  }
  const errors: unknown[] = [];
  file.on('error', (e) => errors.push(e));
  out.on('error', (e: Error) => errors.push(e));
  const put = async (chunk: string | Uint8Array) => {
    if (errors.length > 0) fail(errors[0]);
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const end = async () => {
    out.end();
    if (!file.writableFinished) await once(file, 'finish');
    if (errors.length > 0) throw errors[0];
  };
  if (format === 'binary') await put(encodeBinaryHeader(columns, 0));
  else if (options.header !== false) await put(`${formatCsvHeader(columns)}\n`);
  const w: TableWriter = {
    format,
    rows: 0,
    async write(values) {
      // A copy for the binary bytes: the stream may hold the chunk after write returns.
      await put(format === 'binary' ? encodeFloats(values).slice() : formatCsvRows(values, cols));
      w.rows += values.length / cols;
    },
    close() {
      const rows = w.rows;
      return finishTo(async () => {
        await end();
        if (format === 'binary') {
          // The row count is known only now: patch it into the header.
          const handle = await open(temp, 'r+');
          try {
            const count = new Uint8Array(4);
            new DataView(count.buffer).setUint32(0, rows, true);
            await handle.write(count, 0, 4, BINARY_ROWS_OFFSET);
          } finally {
            await handle.close();
          }
        }
      });
    },
    async abort() {
      out.destroy();
      file.destroy();
      await rm(temp, { force: true });
    },
  };
  return w;
}
