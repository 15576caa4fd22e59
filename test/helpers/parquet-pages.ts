import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { parquetMetadata } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { openTableWriter } from '../../src/data/formats/write.js';

/** A Parquet file's pages: where each starts, its body, and the CRC its header holds (if any). */
export interface PageInfo {
  group: number;
  column: string;
  /** Byte offset of the page's first body byte in the file. */
  bodyStart: number;
  bodyEnd: number;
  crc?: number;
  actualCrc: number;
}

export async function parquetPages(path: string): Promise<PageInfo[]> {
  const bytes = new Uint8Array(await readFile(path));
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const pages: PageInfo[] = [];
  metadata.row_groups.forEach((group, g) => {
    for (const column of group.columns) {
      const meta = column.meta_data!;
      const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      const end = start + Number(meta.total_compressed_size);
      const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: start };
      while (reader.offset < end) {
        const header = parquetHeader(reader);
        const bodyStart = reader.offset;
        const bodyEnd = bodyStart + header.compressed_page_size;
        pages.push({ group: g, column: meta.path_in_schema.join('.'), bodyStart, bodyEnd, crc: header.crc, actualCrc: crc32(bytes.subarray(bodyStart, bodyEnd)) | 0 });
        reader.offset = bodyEnd;
      }
    }
  });
  return pages;
}

/** Writes `rows` rows of `cols` float columns (c0, c1, …) through our table writer; values from a simple seeded formula. */
export async function writeParquetTable(path: string, rows: number, cols: number): Promise<Float32Array> {
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = Math.fround(Math.sin(i * 12.9898) * 43.758);
  const writer = await openTableWriter(path, Array.from({ length: cols }, (_, c) => `c${c}`));
  await writer.write(values);
  await writer.close();
  return values;
}
