import { GetObjectCommand, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { DataError } from '../errors.js';
import { BINARY_PREAMBLE_BYTES, binaryHeader, binaryHeaderLength, binaryLayout, decodeBinary, decodeBinaryRows, isBinary } from '../data/binary.js';
import { parseCsv } from '../data/csv.js';
import { toTrainingData } from '../data/load.js';
import type { Table } from '../data/table.js';
import { shardRange, sliceShard, type DatasetRef, type ShardData, type TrainingData } from '../data/types.js';
import type { DatasetLayout } from '../data/layout.js';
import { refOfLayout, wholeLayout } from '../data/wholeLayout.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import { parseS3Uri, type S3Location } from './s3uri.js';

/** First read of a shard: the binary preamble and, usually, all column names with it. */
const PROBE_BYTES = 4096;

export interface S3Like {
  send(command: GetObjectCommand): Promise<Pick<GetObjectCommandOutput, 'Body' | 'ContentRange'>>;
}

export interface S3DatasetSourceOptions {
  /** Bytes per ranged GET of a binary shard; the parts are fetched in parallel. Default 8 MiB. */
  partBytes?: number;
  /** Ranged GETs in flight at once for one shard. Default 8. */
  parallel?: number;
}

/** What this source fetched, for the worker's log line (cache hits are counted by its container). */
export interface S3ReadCounts {
  requests: number;
  bytes: number;
}

/**
 * Data sets in S3. `load` (the start handler) reads and validates the whole object, CSV or binary.
 * `loadShard` (a worker, once per warm container) reads a binary data set's shard with ranged GETs
 * aligned to row boundaries (the fixed-width rows make the byte range of any row range known from
 * the header alone) and a CSV data set whole, then keeps only its shard's rows.
 */
export class S3DatasetSource implements DatasetSource {
  readonly reads: S3ReadCounts = { requests: 0, bytes: 0 };
  private readonly partBytes: number;
  private readonly parallel: number;

  constructor(
    private readonly s3: S3Like,
    options: S3DatasetSourceOptions = {},
  ) {
    this.partBytes = options.partBytes ?? 8 * 1024 * 1024;
    this.parallel = options.parallel ?? 8;
  }

  async load(ref: DatasetRef): Promise<TrainingData> {
    const location = parseS3Uri(ref.uri);
    const { bytes } = await this.get(ref.uri, location);
    return toTrainingData(decodeTable(bytes, ref.uri), ref.uri, ref.labelColumn);
  }

  /** Reads and validates the whole object (this source has no metadata-only read yet). */
  async describe(ref: DatasetRef): Promise<DatasetLayout> {
    return wholeLayout(ref, await this.load(ref));
  }

  async loadShard(dataset: DatasetLayout, shard: number, shards: number): Promise<ShardData> {
    const ref = refOfLayout(dataset);
    if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
      throw new RangeError(`shard ${shard} of ${shards} does not exist`);
    }
    const location = parseS3Uri(ref.uri);
    const probe = await this.get(ref.uri, location, { start: 0, end: PROBE_BYTES });
    if (!isBinary(probe.bytes)) {
      // CSV rows have no fixed width: a shard's bytes cannot be found without reading what precedes it.
      const whole = probe.total !== undefined && probe.bytes.byteLength >= probe.total ? probe.bytes : (await this.get(ref.uri, location)).bytes;
      return sliceShard(toTrainingData(decodeTable(whole, ref.uri), ref.uri, ref.labelColumn), shard, shards);
    }

    let head = probe.bytes;
    if (head.byteLength >= BINARY_PREAMBLE_BYTES) {
      const headerBytes = binaryHeaderLength(head, ref.uri);
      if (head.byteLength < headerBytes) head = (await this.get(ref.uri, location, { start: 0, end: headerBytes })).bytes;
    }
    const header = binaryHeader(head, ref.uri);
    const layout = binaryLayout(header);
    if (probe.total !== undefined && probe.total !== layout.totalBytes) {
      throw new DataError(ref.uri, `expected ${layout.totalBytes} bytes for ${header.rows} rows × ${header.cols} columns, found ${probe.total}`);
    }
    const { start, end } = shardRange(header.rows, shard, shards);
    const values = await this.readRows(ref.uri, location, header, layout, start, end);
    // Row numbers in errors stay those of the whole file: the table starts at the shard's first row.
    const table: Table = { columns: header.columns, rows: end - start, cols: header.cols, values, hasHeader: true, firstLine: start + 1 };
    const data = toTrainingData(table, ref.uri, ref.labelColumn);
    const local = sliceShard(data, 0, 1);
    return { ...local, shard, shards, first: start };
  }

  /** Rows [start, end) as float32 values, fetched as parallel ranged GETs of whole rows. */
  private async readRows(
    uri: string,
    location: S3Location,
    header: ReturnType<typeof binaryHeader>,
    layout: ReturnType<typeof binaryLayout>,
    start: number,
    end: number,
  ): Promise<Float32Array> {
    const values = new Float32Array((end - start) * header.cols);
    const rowsPerPart = Math.max(1, Math.floor(this.partBytes / layout.rowBytes));
    const parts: { first: number; last: number }[] = [];
    for (let row = start; row < end; row += rowsPerPart) parts.push({ first: row, last: Math.min(end, row + rowsPerPart) });
    let next = 0;
    const lanes = Array.from({ length: Math.min(this.parallel, parts.length) }, async () => {
      while (next < parts.length) {
        const part = parts[next++]!;
        const range = layout.byteRange(part.first, part.last);
        const { bytes } = await this.get(uri, location, range);
        if (bytes.byteLength !== range.end - range.start) {
          throw new DataError(uri, `rows ${part.first + 1}..${part.last}: expected ${range.end - range.start} bytes, read ${bytes.byteLength}`);
        }
        values.set(decodeBinaryRows(header, bytes, part.first, uri), (part.first - start) * header.cols);
      }
    });
    await Promise.all(lanes);
    return values;
  }

  /**
   * One GET, whole or of bytes [start, end). `total` is the object's size when a range response
   * tells it. Objects that are missing or forbidden are data errors (the job fails with the uri);
   * anything else (throttling, network) is thrown as is, for the invocation to be retried.
   */
  private async get(uri: string, location: S3Location, range?: { start: number; end: number }): Promise<{ bytes: Uint8Array; total?: number }> {
    let out: Pick<GetObjectCommandOutput, 'Body' | 'ContentRange'>;
    try {
      out = await this.s3.send(
        new GetObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          ...(location.versionId ? { VersionId: location.versionId } : {}),
          // An explicit first-last range: s3rver answers suffix ranges (bytes=-n) wrongly.
          ...(range ? { Range: `bytes=${range.start}-${Math.max(range.start, range.end - 1)}` } : {}),
        }),
      );
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket') throw new DataError(uri, 'no such object', {}, { cause: error });
      if (name === 'AccessDenied') throw new DataError(uri, 'access denied (is it outside the data prefix?)', {}, { cause: error });
      // An empty object has no byte 0: S3 refuses the range. It is a data set with no rows.
      if (name === 'InvalidRange') throw new DataError(uri, 'no data rows (the object is empty)', {}, { cause: error });
      throw error;
    }
    const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    this.reads.requests++;
    this.reads.bytes += bytes.byteLength;
    const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
    return { bytes, ...(total !== undefined ? { total: Number(total) } : {}) };
  }
}

function decodeTable(bytes: Uint8Array, uri: string): Table {
  if (isBinary(bytes)) return decodeBinary(bytes, uri);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new DataError(uri, 'neither a bspml binary file nor UTF-8 CSV text', {}, { cause: error });
  }
  return parseCsv(text, uri);
}
