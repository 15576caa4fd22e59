import { DataError } from '../../errors.js';
import { columnKinds, featureColumns, MAX_LABEL_VALUES, type RowSink, type RowTarget } from '../rows.js';
import { TextDictionary } from '../textColumns.js';
import { CsvPieceParser } from './csv.js';
import { lineTooLong, maxLineBytes } from './line-limit.js';

/*
 * CSV parsed in parallel, rows kept in file order. The reader (the worker's main thread) frames
 * the bytes a piece owns into blocks of whole lines: the same split rule as CsvPieceParser (skip
 * to the first line start, stop after the line that crosses the piece's end), applied with
 * indexOf on newlines only. Each block goes to a parser (an inner thread), which parses it with
 * CsvPieceParser into rows it hands back; the reader places the blocks' rows in block order. So
 * the rows, their positions, the piece's line count and the first error are exactly those of
 * one CsvPieceParser fed the same bytes, whatever the number of threads.
 */

const LF = 10;

/** Bytes per block: small next to a shard, large next to a message's cost (≈ 10 µs). */
export const BLOCK_BYTES = 2 << 20;

/** What a block parser needs to know of the columns and the part (the same for every block of a piece). */
export interface CsvBlockShape {
  /** The part's name, for messages. */
  name: string;
  part: number;
  columns: string[];
  /** The column that goes to labels, if any. */
  labelIndex?: number;
  /** The label read as text, coded by the block's own dictionary (returned as `labelKeys`). */
  labelText?: boolean;
  /** Columns not parsed (neither feature nor label). */
  skip?: number[];
}

/** A block of whole lines, the first starting at `blockStart` in its part. */
export interface CsvBlockRequest extends CsvBlockShape {
  bytes: Uint8Array;
  blockStart: number;
  /** Buffers to fill (reused across blocks); the parser allocates larger ones when they are too small. */
  out?: CsvBlockRows;
  /**
   * What the parsing thread does with the rows once parsed, by the key it was given it under
   * (batch predictions: the model it predicts with, src/inner/ThreadPool.ts `staged`): the result
   * then carries that `text` and no rows (`out` empty), so the rows never travel back.
   */
  stage?: string;
}

export interface CsvBlockRows {
  features: Float32Array;
  labels?: Float32Array;
  positions: Float64Array;
}

/** A bad value in a block: where in the block (its 0-based line and the byte it starts at) and what. */
export interface CsvBlockProblem {
  detail: string;
  field?: string;
  lineInBlock: number;
  byte: number;
}

/** A parsed block: its rows (up to a problem, if any), its lines, and its bytes back for reuse. */
export interface CsvBlockResult {
  rows: number;
  lines: number;
  bytes: Uint8Array;
  out: CsvBlockRows;
  problem?: CsvBlockProblem;
  /** With `labelText`: the key of each label code in `out.labels`. */
  labelKeys?: string[];
  /** With a `stage`: what it made of the block's rows (up to a problem, if any). */
  text?: Uint8Array;
}

/** Where a framer places its blocks, in order: a shard's rows (RowSink), or what a stage made of them. */
export interface BlockTarget {
  /** The block's rows (none with a stage) after any check on them: the first row refused and why. */
  pushRows: RowSink['pushRows'];
  /** Each block's result, in order, once placed and found without a problem. */
  placed?(result: CsvBlockResult): void;
}

/** Parses blocks elsewhere (an inner thread); `concurrency` blocks may be in flight at once. */
export interface CsvBlockParser {
  readonly concurrency: number;
  /** Bytes per block, when not BLOCK_BYTES (tests make it small). */
  readonly blockBytes?: number;
  parseCsvBlock(request: CsvBlockRequest): Promise<CsvBlockResult>;
}

/** The most rows `bytes` bytes of CSV can hold: a row takes at least a digit and a separator per column. */
function maxRowsIn(bytes: number, cols: number): number {
  return Math.floor((bytes + 1) / (2 * cols)) + 1;
}

/**
 * Parses one block of whole lines (an inner thread's side): every line is the block's, so the
 * CsvPieceParser runs with no end; a bad value stops it, and the rows before it are returned with
 * the problem (the reader checks their labels first: an earlier bad label wins).
 */
export function parseCsvBlock(request: CsvBlockRequest): CsvBlockResult {
  const { bytes, columns, labelIndex } = request;
  const cols = columns.length;
  const featureCols = featureColumns(cols, labelIndex, request.skip);
  const dims = featureCols.length;
  const columnOptions = { ...(request.skip ? { skip: request.skip } : {}), ...(request.labelText ? { labelText: true } : {}) };
  const kinds = columnKinds(cols, labelIndex, columnOptions);
  const dict = request.labelText && labelIndex !== undefined ? new TextDictionary(labelIndex, 'label', { most: MAX_LABEL_VALUES, why: 'a label column holds classes, not ids or measurements' }) : undefined;
  const texts = dict ? Object.assign(new Array<TextDictionary | undefined>(cols).fill(undefined), { [labelIndex!]: dict }) : undefined;
  const most = maxRowsIn(bytes.length, cols);
  let out = request.out;
  if (!out || out.positions.length < most || (labelIndex !== undefined) !== (out.labels !== undefined) || out.features.length < most * dims) {
    out = { features: new Float32Array(most * dims), positions: new Float64Array(most), ...(labelIndex !== undefined ? { labels: new Float32Array(most) } : {}) };
  }
  const { features, labels, positions } = out;
  let rows = 0;
  let k = 0;
  const sink: RowTarget = {
    push(values, position) {
      for (let j = 0; j < dims; j++) features[k++] = values[featureCols[j]!]!;
      if (labelIndex !== undefined) labels![rows] = values[labelIndex]!;
      positions[rows++] = position;
    },
  };
  const parser = new CsvPieceParser({
    name: request.name,
    part: request.part,
    columns,
    sink,
    start: request.blockStart,
    end: Infinity,
    skipFirst: false,
    ...(kinds ? { kinds } : {}),
    ...(texts ? { texts } : {}),
  });
  const keys = dict ? { labelKeys: dict.keys } : {};
  try {
    parser.push(bytes);
    parser.finish();
  } catch (error) {
    if (!(error instanceof DataError) || !error.location) throw error;
    const problem: CsvBlockProblem = {
      detail: error.detail,
      lineInBlock: error.location.lineInPiece,
      byte: error.byte ?? request.blockStart,
      ...(error.location.field !== undefined ? { field: error.location.field } : {}),
    };
    return { rows, lines: parser.lines, bytes, out, problem, ...keys };
  }
  return { rows, lines: parser.lines, bytes, out, ...keys };
}

export interface CsvFramerOptions extends CsvBlockShape {
  sink: BlockTarget;
  parser: CsvBlockParser;
  /** The piece's bytes [start, end) in the part; `end` may be Infinity (a gzip part). */
  start: number;
  end: number;
  /** Whether the bytes fed begin at `start - 1` and the first (partial) line is to be skipped. */
  skipFirst: boolean;
  /** The line number of the piece's first line when the piece starts at the part's data start. */
  firstLine?: number;
}

/**
 * The reader's side: fed a piece's bytes in order (as CsvPieceParser is), sends blocks of the
 * lines the piece owns to the parser, and places their rows in the sink in order. `settle` is
 * awaited between chunks (it holds the reader back while `concurrency` blocks are in flight);
 * `close` places the rest and returns the piece's lines.
 */
export class CsvBlockFramer {
  /** True once the line crossing the piece's end has ended: feed no more. */
  done = false;
  private skipping: boolean;
  /** Absolute offset in the part of the next byte fed. */
  private offset: number;
  /** Bytes of owned lines not yet sent, from `pendingStart`. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private pendingStart = 0;
  private readonly inFlight: { blockStart: number; result: Promise<CsvBlockResult> }[] = [];
  private readonly freeBytes: Uint8Array[] = [];
  private readonly freeRows: CsvBlockRows[] = [];
  private lines = 0;
  private failed: unknown;
  private readonly maxLine = maxLineBytes();

  constructor(private readonly o: CsvFramerOptions) {
    this.skipping = o.skipFirst;
    this.offset = o.skipFirst ? o.start - 1 : o.start;
    this.pendingStart = o.start;
  }

  /** Feeds the next bytes; returns false once the piece has all its lines. */
  push(chunk: Uint8Array): boolean {
    if (this.done) return false;
    let at = this.offset;
    this.offset += chunk.length;
    if (this.skipping) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) return true;
      this.skipping = false;
      chunk = chunk.subarray(nl + 1);
      at += nl + 1;
      this.pendingStart = at;
      // The first line starts at or after the end: the piece owns no line.
      if (at >= this.o.end) {
        this.done = true;
        return false;
      }
    }
    // The piece's last line is the one holding byte end − 1: it ends at the first newline from there.
    const last = this.o.end - 1 - at;
    if (last < chunk.length) {
      const nl = chunk.indexOf(LF, Math.max(0, last));
      if (nl !== -1) {
        this.add(chunk.subarray(0, nl + 1));
        this.done = true;
        return false;
      }
    }
    this.add(chunk);
    return true;
  }

  /** After the piece's range: whether its last line runs on past `end` (read on until it ends). */
  get needsMore(): boolean {
    return !this.done && !this.skipping && this.pendingBytes > 0;
  }

  /** Holds the reader while the parser is busy: waits for the oldest block when `concurrency` are in flight. */
  async settle(): Promise<void> {
    while (this.inFlight.length >= this.o.parser.concurrency) await this.placeOldest();
  }

  /** The end of the bytes: sends the rest (a last line without a newline is still a line), places every block. */
  async close(): Promise<number> {
    if (!this.skipping && this.pendingBytes > 0) this.send(this.pendingBytes);
    while (this.inFlight.length > 0) await this.placeOldest();
    return this.lines;
  }

  /** Lets go of blocks in flight after a failure (their results are not wanted). */
  async abandon(): Promise<void> {
    await Promise.allSettled(this.inFlight.map((b) => b.result));
    this.inFlight.length = 0;
  }

  private add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes < (this.o.parser.blockBytes ?? BLOCK_BYTES) && this.pendingBytes <= this.maxLine) return;
    // Cut after the last newline: a block holds whole lines.
    let cut = -1;
    let before = this.pendingBytes;
    for (let i = this.pending.length - 1; i >= 0 && cut === -1; i--) {
      before -= this.pending[i]!.length;
      const nl = this.pending[i]!.lastIndexOf(LF);
      if (nl !== -1) cut = before + nl + 1;
    }
    if (cut > 0) this.send(cut);
    // No newline in what is pending: one line, still growing. Past the limit it is refused, not gathered.
    else if (this.pendingBytes > this.maxLine) throw lineTooLong(this.o.name, this.maxLine, { byte: this.pendingStart });
  }

  /** Sends the first `length` pending bytes (whole lines) as a block. */
  private send(length: number): void {
    if (this.failed) throw this.failed;
    let bytes = this.freeBytes.pop();
    const block = this.o.parser.blockBytes ?? BLOCK_BYTES;
    // A buffer for this block and the next ones (the next may be a little longer): no larger than
    // what is left of the piece, so that a small shard's load does not take a whole block's
    // buffer (issue 20 defect 14: each small-shard load took 2.5 MB).
    if (!bytes || bytes.length < length) bytes = new Uint8Array(Math.max(length, Math.min(block + (block >> 2), this.o.end - this.pendingStart)));
    let filled = 0;
    while (filled < length) {
      const head = this.pending[0]!;
      const take = Math.min(head.length, length - filled);
      bytes.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(take);
    }
    this.pendingBytes -= length;
    const blockStart = this.pendingStart;
    this.pendingStart += length;
    const { name, part, columns, labelIndex, labelText, skip } = this.o;
    const out = this.freeRows.pop();
    const result = this.o.parser.parseCsvBlock({
      name,
      part,
      columns,
      ...(labelIndex !== undefined ? { labelIndex } : {}),
      ...(labelText ? { labelText } : {}),
      ...(skip ? { skip } : {}),
      bytes: bytes.subarray(0, length),
      blockStart,
      ...(out ? { out } : {}),
    });
    // Placed (and its errors thrown) in order by placeOldest; never unhandled meanwhile.
    result.catch(() => undefined);
    this.inFlight.push({ blockStart, result });
  }

  private async placeOldest(): Promise<void> {
    const block = this.inFlight.shift()!;
    let result: CsvBlockResult;
    try {
      result = await block.result;
    } catch (error) {
      this.failed = error;
      throw error;
    }
    const { sink, name, part, start, firstLine } = this.o;
    const refused = sink.pushRows(result.out, result.rows, result.labelKeys);
    const lineInPiece = (lineInBlock: number) => this.lines + lineInBlock;
    const fail = (detail: string, lineInBlock: number, byte: number, field: string | undefined): never => {
      const location = { part, pieceStart: start, lineInPiece: lineInPiece(lineInBlock), ...(field !== undefined ? { field } : {}) };
      const where = firstLine !== undefined ? { row: firstLine + location.lineInPiece } : { byte };
      this.failed = new DataError(name, detail, { ...where, ...(field !== undefined ? { field } : {}), location });
      throw this.failed;
    };
    if (refused) {
      // The line of the refused row: newlines in the block before the row's line start.
      const byte = result.out.positions[refused.row]!;
      const bytes = result.bytes.subarray(0, byte - block.blockStart);
      let lineInBlock = 0;
      for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) lineInBlock++;
      fail(refused.problem, lineInBlock, byte, this.o.columns[this.o.labelIndex!]);
    }
    if (result.problem) fail(result.problem.detail, result.problem.lineInBlock, result.problem.byte, result.problem.field);
    sink.placed?.(result);
    this.lines += result.lines;
    this.freeBytes.push(new Uint8Array(result.bytes.buffer));
    this.freeRows.push(result.out);
  }
}
