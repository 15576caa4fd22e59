import { open, rename, rm } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { DataError } from '../../errors.js';

/*
 * Parquet page checksums (issue 20 defect 2). The format's PageHeader has an optional `crc`: the
 * CRC-32 (zlib's) of the page's bytes after its header (for v2 data pages: levels and compressed
 * values), as a signed 32-bit integer (parquet-format, PageHeader.crc). Without one, a flipped
 * byte in a FLOAT page is just another float: the model trains on it silently.
 *
 * Writing: hyparquet-writer leaves `crc` unset, and its page offsets are taken as it writes, so
 * the file is rewritten once after it is complete: each page header again with its CRC, the
 * offsets in the footer moved by the bytes the CRCs add. Our writer writes no page indexes, so no
 * other offset moves. Memory: one column chunk (one row group's column) at a time.
 *
 * Reading: every byte range the reader fetches that holds a whole column chunk has its pages'
 * CRCs checked, where a page has one (files from other writers may not); a mismatch is a
 * DataError naming the file, row group and column.
 */

type ColumnMeta = NonNullable<FileMetaData['row_groups'][number]['columns'][number]['meta_data']>;

/** The signed CRC the header stores. */
function pageCrc(bytes: Uint8Array): number {
  return crc32(bytes) | 0;
}

/** [start, end) of a column chunk in the file: its dictionary page (if any) through its last data page. */
export function chunkRange(meta: ColumnMeta): [number, number] {
  const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
  return [start, start + Number(meta.total_compressed_size)];
}

/** A column chunk's pages with a CRC in each header; `bytes` is the whole chunk. */
function withCrcs(bytes: Uint8Array): Uint8Array {
  const out = new ByteWriter();
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  while (reader.offset < bytes.byteLength) {
    const header = parquetHeader(reader);
    const body = bytes.subarray(reader.offset, reader.offset + header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    writePageHeader(out, { ...header, crc: pageCrc(body) });
    out.appendBytes(body);
  }
  return out.getBytes();
}

/**
 * Rewrites the complete Parquet file at `path` (written by hyparquet-writer, whose footer is
 * `metadata`) with a CRC in every page header, in place (through a temp file beside it).
 */
export async function addPageCrcs(path: string, metadata: FileMetaData): Promise<void> {
  const temp = `${path}.crc`;
  const source = await open(path, 'r');
  const target = await open(temp, 'w');
  try {
    let offset = 0;
    const put = async (bytes: Uint8Array) => {
      await target.write(bytes, 0, bytes.byteLength, offset);
      offset += bytes.byteLength;
    };
    await put(new TextEncoder().encode('PAR1'));
    for (const group of metadata.row_groups) {
      const groupStart = offset;
      for (const column of group.columns) {
        const meta = column.meta_data!;
        const [start, end] = chunkRange(meta);
        const bytes = new Uint8Array(end - start);
        await source.read(bytes, 0, bytes.byteLength, start);
        const moved = offset - start;
        const rewritten = withCrcs(bytes);
        meta.data_page_offset += BigInt(moved);
        if (meta.dictionary_page_offset !== undefined) meta.dictionary_page_offset += BigInt(moved);
        meta.total_compressed_size = BigInt(rewritten.byteLength);
        column.file_offset = BigInt(offset);
        await put(rewritten);
      }
      group.total_compressed_size = BigInt(offset - groupStart);
      group.file_offset = BigInt(groupStart);
    }
    const footer = new ByteWriter();
    writeMetadata(footer, metadata);
    footer.appendUint32(0x31524150); // PAR1
    await put(footer.getBytes());
  } catch (error) {
    await target.close();
    await source.close();
    await rm(temp, { force: true });
    throw error;
  }
  await target.close();
  await source.close();
  await rename(temp, path);
}

/**
 * `file`, checking the page CRCs of every column chunk that a fetched range holds whole. A header
 * that does not parse, or a page that runs past its chunk, is corruption too.
 */
export function crcCheckedFile(file: AsyncBuffer, metadata: FileMetaData, name: string, columns: string[]): AsyncBuffer {
  const chunks: { start: number; end: number; group: number; column: string }[] = [];
  metadata.row_groups.forEach((group, g) =>
    group.columns.forEach((column, c) => {
      if (!column.meta_data) return;
      const [start, end] = chunkRange(column.meta_data);
      chunks.push({ start, end, group: g, column: column.meta_data.path_in_schema.join('.') || columns[c]! });
    }),
  );
  const checked = new Set<number>();
  return {
    byteLength: file.byteLength,
    slice(start: number, end?: number) {
      const read = (async () => {
        // A flipped byte in the footer can turn an offset into NaN or past the end: corruption, not a RangeError.
        const bad = (n: number) => !Number.isSafeInteger(n) || n < 0 || n > file.byteLength;
        if (bad(start) || (end !== undefined && (bad(end) || end < start))) {
          throw new DataError(name, `the footer asks for bytes ${start}..${end ?? 'end'} of a ${file.byteLength}-byte file: the file is corrupted`);
        }
        const buffer = await file.slice(start, end);
        const stop = start + buffer.byteLength;
        chunks.forEach((chunk, i) => {
          if (checked.has(i) || chunk.start < start || chunk.end > stop) return;
          verifyChunk(new Uint8Array(buffer, chunk.start - start, chunk.end - chunk.start), name, chunk.group, chunk.column);
          checked.add(i);
        });
        return buffer;
      })();
      // hyparquet may start reads it never awaits once another read has failed: the failure reaches
      // whoever awaits this read, never the process as an unhandled rejection.
      read.catch(() => undefined);
      return read;
    },
  };
}

function verifyChunk(bytes: Uint8Array, name: string, group: number, column: string): void {
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  const corrupted = (what: string) => new DataError(name, `row group ${group}, column "${column}": ${what}: the file is corrupted`);
  for (let page = 0; reader.offset < bytes.byteLength; page++) {
    const at = reader.offset;
    let header;
    try {
      header = parquetHeader(reader);
    } catch (error) {
      throw corrupted(`page ${page} (byte ${at} of the chunk) has an unreadable header (${(error as Error).message})`);
    }
    const size = header.compressed_page_size;
    if (!Number.isInteger(size) || size < 0 || reader.offset + size > bytes.byteLength) {
      throw corrupted(`page ${page} (byte ${at} of the chunk) claims ${size} bytes, past the end of its column chunk`);
    }
    const body = bytes.subarray(reader.offset, reader.offset + size);
    reader.offset += size;
    if (header.crc !== undefined && header.crc !== pageCrc(body)) {
      throw corrupted(`page ${page} fails its checksum (CRC-32 ${(pageCrc(body) >>> 0).toString(16)}, header says ${(header.crc >>> 0).toString(16)})`);
    }
  }
}
