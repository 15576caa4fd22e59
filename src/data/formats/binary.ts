import { DataError } from '../../errors.js';
import { checkColumnNames } from './csv.js';
import { RowProblem } from '../rowProblem.js';
import { type RowTarget } from '../rows.js';
import type { Table } from '../table.js';

/*
 * Layout (all integers u32 little-endian):
 *   0  magic "BSPMLF32" (8 bytes)
 *   8  version (1)
 *   12 rows
 *   16 cols
 *   20 byte length N of the column names, a UTF-8 JSON array of strings
 *   24 the JSON, then zero padding to a multiple of 4 bytes
 *   dataOffset: rows × cols float32 little-endian, row-major
 * Fixed-size rows after a small header let a worker fetch just its shard with one ranged GET.
 */

export const BINARY_MAGIC = 'BSPMLF32';
export const BINARY_VERSION = 1;
/** Bytes before the column names; enough to learn how long the whole header is. */
export const BINARY_PREAMBLE_BYTES = 24;

const MAGIC_BYTES = new TextEncoder().encode(BINARY_MAGIC);
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface BinaryHeader {
  rows: number;
  cols: number;
  columns: string[];
  /** Byte offset of row 0's first value. */
  dataOffset: number;
}

export interface BinaryLayout {
  dataOffset: number;
  rowBytes: number;
  /** The size the whole file must have. */
  totalBytes: number;
  /** Byte offset of row `row` (0-based); `rowOffset(rows)` is the end of the data. */
  rowOffset(row: number): number;
  /** Bytes [start, end) holding rows [startRow, endRow); an HTTP Range header wants `end - 1`. */
  byteRange(startRow: number, endRow: number): { start: number; end: number };
}

export function isBinary(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC_BYTES.length) return false;
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (bytes[i] !== MAGIC_BYTES[i]) return false;
  return true;
}

/**
 * The full header length, from the first BINARY_PREAMBLE_BYTES alone, so that a reader of a
 * remote file knows how many bytes to fetch before it can call binaryHeader.
 */
export function binaryHeaderLength(preamble: Uint8Array, file = 'binary data'): number {
  const view = readPreamble(preamble, file);
  return BINARY_PREAMBLE_BYTES + padTo4(view.getUint32(20, true));
}

/** Reads and validates the header; `bytes` may be just its first `binaryHeaderLength` bytes. */
export function binaryHeader(bytes: Uint8Array, file = 'binary data'): BinaryHeader {
  const view = readPreamble(bytes, file);
  const rows = view.getUint32(12, true);
  const cols = view.getUint32(16, true);
  const nameBytes = view.getUint32(20, true);
  const dataOffset = BINARY_PREAMBLE_BYTES + padTo4(nameBytes);
  if (bytes.length < dataOffset) {
    throw new DataError(file, `truncated header: the column names need ${dataOffset} bytes, found ${bytes.length}`);
  }
  if (cols === 0) throw new DataError(file, 'no columns');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(BINARY_PREAMBLE_BYTES, BINARY_PREAMBLE_BYTES + nameBytes)));
  } catch (err) {
    throw new DataError(file, `column names are not valid UTF-8 JSON: ${(err as Error).message}`, {}, { cause: err });
  }
  if (!Array.isArray(parsed) || !parsed.every((n) => typeof n === 'string')) {
    throw new DataError(file, 'column names must be a JSON array of strings');
  }
  const columns = parsed as string[];
  if (columns.length !== cols) throw new DataError(file, `header has ${columns.length} column names for ${cols} columns`);
  checkColumnNames(columns, file);
  for (let i = BINARY_PREAMBLE_BYTES + nameBytes; i < dataOffset; i++) {
    if (bytes[i] !== 0) throw new DataError(file, 'non-zero padding after the column names');
  }
  return { rows, cols, columns, dataOffset };
}

export function binaryLayout(header: Pick<BinaryHeader, 'rows' | 'cols' | 'dataOffset'>): BinaryLayout {
  const { rows, cols, dataOffset } = header;
  const rowBytes = cols * 4;
  const rowOffset = (row: number): number => {
    if (!Number.isInteger(row) || row < 0 || row > rows) throw new RangeError(`row ${row} is outside 0..${rows}`);
    return dataOffset + row * rowBytes;
  };
  return {
    dataOffset,
    rowBytes,
    totalBytes: dataOffset + rows * rowBytes,
    rowOffset,
    byteRange(startRow, endRow) {
      if (endRow < startRow) throw new RangeError(`row range [${startRow}, ${endRow}) is reversed`);
      return { start: rowOffset(startRow), end: rowOffset(endRow) };
    },
  };
}

export function encodeBinary(table: Table): Uint8Array {
  const { rows, cols, columns, values } = table;
  if (columns.length !== cols) throw new RangeError(`table has ${columns.length} column names for ${cols} columns`);
  if (values.length !== rows * cols) throw new RangeError(`table has ${values.length} values for ${rows} × ${cols}`);
  const header = encodeBinaryHeader(columns, rows);
  const bytes = new Uint8Array(header.length + values.length * 4);
  bytes.set(header, 0);
  bytes.set(encodeFloats(values), header.length);
  return bytes;
}

/** The header of a binary file of `rows` rows (a streaming writer patches `rows` at BINARY_ROWS_OFFSET). */
export function encodeBinaryHeader(columns: string[], rows: number): Uint8Array {
  if (rows > 0xffffffff || columns.length > 0xffffffff) throw new RangeError('table is too large for the binary format');
  const names = new TextEncoder().encode(JSON.stringify(columns));
  const dataOffset = BINARY_PREAMBLE_BYTES + padTo4(names.length);
  const bytes = new Uint8Array(dataOffset);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC_BYTES, 0);
  view.setUint32(8, BINARY_VERSION, true);
  view.setUint32(BINARY_ROWS_OFFSET, rows, true);
  view.setUint32(16, columns.length, true);
  view.setUint32(20, names.length, true);
  bytes.set(names, BINARY_PREAMBLE_BYTES);
  return bytes;
}

/** Where the row count sits in the header. */
export const BINARY_ROWS_OFFSET = 12;

/** float32 values as little-endian bytes. */
export function encodeFloats(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

export function decodeBinary(bytes: Uint8Array, file: string): Table {
  const header = binaryHeader(bytes, file);
  const { rows, cols, columns, dataOffset } = header;
  const expected = binaryLayout(header).totalBytes;
  if (bytes.length !== expected) {
    throw new DataError(file, `expected ${expected} bytes for ${rows} rows × ${cols} columns, found ${bytes.length}`);
  }
  if (rows === 0) throw new DataError(file, 'no data rows');
  const values = decodeBinaryRows(header, bytes.subarray(dataOffset), 0, file);
  return { columns, rows, cols, values, hasHeader: true, firstLine: 1 };
}

/**
 * Decodes and validates whole rows starting at row `firstRow` (0-based) from just their bytes,
 * as a ranged read returns them; errors still name the row's place in the whole file.
 */
export function decodeBinaryRows(header: Pick<BinaryHeader, 'cols' | 'columns'>, data: Uint8Array, firstRow: number, file: string): Float32Array {
  const { cols, columns } = header;
  if (data.length % (cols * 4) !== 0) {
    throw new DataError(file, `${data.length} bytes is not a whole number of ${cols}-column rows`);
  }
  const values = decodeFloats(data);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v || v === Infinity || v === -Infinity) {
      const row = firstRow + Math.floor(i / cols) + 1;
      throw new DataError(file, `${v} is not a finite number`, { row, field: columns[i % cols] });
    }
  }
  return values;
}

function readPreamble(bytes: Uint8Array, file: string): DataView {
  if (!isBinary(bytes)) throw new DataError(file, `not a ${BINARY_MAGIC} file (bad magic)`);
  if (bytes.length < BINARY_PREAMBLE_BYTES) {
    throw new DataError(file, `truncated header: ${bytes.length} bytes, need at least ${BINARY_PREAMBLE_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== BINARY_VERSION) {
    throw new DataError(file, `unsupported format version ${version} (this reader knows ${BINARY_VERSION})`);
  }
  return view;
}

function padTo4(n: number): number {
  // Not `(n + 3) & ~3`: a corrupt length can exceed 2^31, where bitwise operators wrap.
  return Math.ceil(n / 4) * 4;
}

/** What `describe` learns of a binary part from its first bytes. */
export function describeBinary(head: Uint8Array, partBytes: number, name: string): BinaryHeader {
  const length = binaryHeaderLength(head, name);
  if (length > head.length) throw new DataError(name, `the header (${length} bytes) is longer than the ${head.length} bytes read for it`);
  const header = binaryHeader(head, name);
  const expected = binaryLayout(header).totalBytes;
  if (partBytes !== expected) {
    throw new DataError(name, `expected ${expected} bytes for ${header.rows} rows × ${header.cols} columns, found ${partBytes}`);
  }
  return header;
}

/** Parses whole rows [startRow, …) of a binary part from chunks of its bytes, fed in order. */
export class BinaryPieceParser {
  rows = 0;
  private carry: Uint8Array | undefined;
  private readonly rowBytes: number;

  constructor(
    private readonly o: {
      name: string;
      part: number;
      columns: string[];
      sink: RowTarget;
      startRow: number;
    },
  ) {
    this.rowBytes = o.columns.length * 4;
  }

  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.carry) {
      const joined = new Uint8Array(this.carry.length + chunk.length);
      joined.set(this.carry, 0);
      joined.set(chunk, this.carry.length);
      bytes = joined;
      this.carry = undefined;
    }
    const whole = bytes.length - (bytes.length % this.rowBytes);
    if (whole < bytes.length) this.carry = bytes.slice(whole);
    if (whole === 0) return;
    const values = decodeFloats(bytes.subarray(0, whole));
    const cols = this.o.columns.length;
    for (let r = 0; r < whole / this.rowBytes; r++) {
      const row = values.subarray(r * cols, (r + 1) * cols);
      try {
        for (let c = 0; c < cols; c++) {
          const v = row[c]!;
          if (v !== v || v === Infinity || v === -Infinity) throw new RowProblem(`${v} is not a finite number`, c);
        }
        this.o.sink.push(row, this.o.startRow + this.rows);
      } catch (error) {
        if (!(error instanceof RowProblem)) throw error;
        const field = this.o.columns[error.column]!;
        throw new DataError(this.o.name, error.message, {
          row: this.o.startRow + this.rows + 1,
          field,
          location: { part: this.o.part, pieceStart: this.o.startRow, lineInPiece: this.rows, field },
        });
      }
      this.rows++;
    }
  }

  finish(expectedRows: number): void {
    if (this.carry || this.rows !== expectedRows) {
      throw new DataError(this.o.name, `rows ${this.o.startRow + 1}..${this.o.startRow + expectedRows}: read ${this.rows} whole rows${this.carry ? ` and ${this.carry.length} stray bytes` : ''}`);
    }
  }
}

function decodeFloats(data: Uint8Array): Float32Array {
  const values = new Float32Array(data.length / 4);
  // A copy, not a view: the data may sit at an offset that is not a multiple of 4.
  if (LITTLE_ENDIAN_HOST) new Uint8Array(values.buffer).set(data);
  else {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  }
  return values;
}
