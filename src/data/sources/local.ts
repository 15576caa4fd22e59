import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from '../../errors.js';
import { dataParts, type ByteSource, type PartEntry } from '../byteSource.js';

/** Reads in chunks of this size: large enough for few system calls, small next to any shard. */
const CHUNK_BYTES = 1 << 20;

/** Local files: a file, or a directory whose files (recursively, in path order) are the parts. */
export class LocalFiles implements ByteSource {
  async list(uri: string): Promise<PartEntry[]> {
    const path = localPath(uri);
    const info = await stat(path).catch((err: unknown) => {
      throw new DataError(uri, `cannot read file: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
    });
    if (!info.isDirectory()) return [{ name: uri, uri: path, bytes: info.size }];
    const files = (await readdir(path, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    const entries = await Promise.all(
      files.map(async (e) => {
        const full = join(e.parentPath ?? e.path, e.name);
        return { name: full, relative: relative(path, full).split(sep).join('/'), uri: full, bytes: (await stat(full)).size };
      }),
    );
    return dataParts(entries).map(({ name, uri, bytes }) => ({ name, uri, bytes }));
  }

  async read(part: PartEntry, start: number, end: number): Promise<Uint8Array> {
    const handle = await open(part.uri, 'r').catch((err: unknown) => {
      throw new DataError(part.name, `cannot read: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
    });
    try {
      const length = Math.max(0, Math.min(end, part.bytes) - start);
      const bytes = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(bytes, done, length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === length ? bytes : bytes.subarray(0, done);
    } finally {
      await handle.close();
    }
  }

  async *stream(part: PartEntry, start: number, end: number): AsyncIterable<Uint8Array> {
    if (end <= start) return;
    // createReadStream's `end` is inclusive.
    for await (const chunk of createReadStream(part.uri, { start, end: end - 1, highWaterMark: CHUNK_BYTES })) {
      yield chunk as Buffer;
    }
  }
}

export function localPath(uri: string): string {
  if (uri.startsWith('s3://')) throw new DataError(uri, 'FileDatasetSource reads local files; an s3:// URI needs the S3 dataset source');
  return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
}
