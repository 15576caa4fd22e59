import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync, constants as zlib } from 'node:zlib';
import type { AsyncBuffer } from 'hyparquet';
import { DataError } from '../errors.js';
import { BinaryPieceParser, binaryHeaderLength, describeBinary, isBinary } from './formats/binary.js';
import { CsvPieceParser, describeCsv } from './formats/csv.js';
import { CsvBlockFramer, type BlockTarget, type CsvBlockParser } from './formats/csv-blocks.js';
import { describeParquet, readParquetGroups } from './formats/parquet.js';
import type { DatasetLayout, DatasetPart, PartFormat, ShardPiece } from './layout.js';
import type { LoadedShard, PieceReport } from './types.js';
import { RowSink, type ColumnOptions, type RowTarget, type ShardReserver } from './rows.js';
import type { ByteSource, PartEntry } from './byteSource.js';
import type { DatasetRef } from './types.js';

/** The most bytes `describe` reads of a part (its head, or a Parquet part's footer). */
export const DESCRIBE_BYTES = 64 * 1024;
/** What it reads first: a header line or a binary header is almost always shorter. */
const PROBE_BYTES = 8 * 1024;
/** Parts described at once. */
const DESCRIBE_PARALLEL = 16;
/** First read past a CSV piece's end to finish its last line; doubled while the line goes on. */
const TAIL_BYTES = 1024;

/**
 * Lists a data set's parts and reads only their heads (CSV, binary) or footers (Parquet), at most
 * DESCRIBE_BYTES each: formats, columns (the same in every part), header lines, row counts where
 * the metadata states them, and the label column.
 */
export async function describe(ref: DatasetRef, source: ByteSource): Promise<DatasetLayout> {
  const entries = await source.list(ref.uri);
  if (entries.length === 0) throw new DataError(ref.uri, 'no data files (only empty files, or names starting with _ or .)');
  const parts: (DatasetPart & { columns: string[]; named: boolean })[] = new Array(entries.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DESCRIBE_PARALLEL, entries.length) }, async () => {
      while (next < entries.length) {
        const i = next++;
        parts[i] = await describePart(entries[i]!, source);
      }
    }),
  );
  const reference = parts.find((p) => p.named) ?? parts[0]!;
  const columns = reference.columns;
  for (const p of parts) {
    if (p.columns.length !== columns.length) {
      throw new DataError(p.name, `has ${p.columns.length} columns where ${reference.name} has ${columns.length}`);
    }
    if (p.named && p.columns.some((c, i) => c !== columns[i])) {
      throw new DataError(p.name, `columns ${p.columns.join(',')} differ from ${reference.name}'s ${columns.join(',')}`);
    }
  }
  // An unnamed leading column is pandas' default to_csv index (row numbers): never a feature.
  const index = columns[0] === '' ? [0] : [];
  const layout: DatasetLayout = {
    uri: ref.uri,
    parts: parts.map(({ columns: _c, named: _n, ...part }) => part),
    columns,
    featureNames: columns.filter((_, i) => !index.includes(i)),
    ...(index.length ? { skipColumns: index } : {}),
    bytes: parts.reduce((sum, p) => sum + p.bytes, 0),
  };
  let label: number | undefined;
  if (ref.labelColumn !== undefined) {
    label = resolveColumn(columns, ref.labelColumn);
    if (label === -1 || index.includes(label)) throw new DataError(ref.uri, `unknown label column; the columns are ${named(columns)}`, { field: ref.labelColumn });
  }
  const skip = new Set(index);
  const pick = (list: string[], option: string): number[] =>
    list.map((name) => {
      const at = resolveColumn(columns, name);
      if (at === -1 || index.includes(at)) throw new DataError(ref.uri, `${option}: no column "${name}"; the columns are ${named(columns)}`, { field: name });
      if (at === label) throw new DataError(ref.uri, `${option}: "${name}" is the label column`, { field: name });
      return at;
    });
  if (ref.features !== undefined && ref.drop !== undefined) throw new DataError(ref.uri, 'give features or drop, not both', { field: 'features' });
  if (ref.features !== undefined) {
    const keep = new Set(pick(ref.features, 'features'));
    columns.forEach((_, c) => c !== label && !keep.has(c) && skip.add(c));
  }
  if (ref.drop !== undefined) for (const c of pick(ref.drop, 'drop')) skip.add(c);
  const featureNames = columns.filter((_, c) => c !== label && !skip.has(c));
  if (featureNames.length === 0) {
    throw new DataError(ref.uri, label === undefined ? 'no feature columns left' : 'no feature columns: the only column is the label', label === undefined ? {} : { field: columns[label] });
  }
  return {
    ...layout,
    featureNames,
    ...(skip.size ? { skipColumns: [...skip].sort((a, b) => a - b) } : {}),
    ...(label !== undefined ? { labelName: columns[label], labelIndex: label } : {}),
  };
}

/** The columns for a message; the unnamed index column as pandas calls it. */
function named(columns: string[]): string {
  return columns.map((c) => (c === '' ? '(unnamed index)' : c)).join(', ');
}

/** A column by name, 0-based index or "last"; a name wins over an index, since a header may name a column "0". */
export function resolveColumn(columns: string[], spec: string): number {
  const byName = columns.indexOf(spec);
  if (byName !== -1) return byName;
  if (spec === 'last') return columns.length - 1;
  if (/^\d+$/.test(spec)) {
    const index = Number(spec);
    if (index < columns.length) return index;
  }
  return -1;
}

function formatOf(entry: PartEntry, head: Uint8Array | undefined): PartFormat {
  const name = entry.uri.toLowerCase();
  if (/\.(parquet|pq)$/.test(name)) return 'parquet';
  if (name.endsWith('.gz')) return 'csv.gz';
  if (head && isBinary(head)) return 'binary';
  if (head && head.length >= 4 && String.fromCharCode(...head.subarray(0, 4)) === 'PAR1') return 'parquet';
  if (head && head[0] === 0x1f && head[1] === 0x8b) return 'csv.gz';
  return 'csv';
}

async function describePart(entry: PartEntry, source: ByteSource): Promise<DatasetPart & { columns: string[]; named: boolean }> {
  const base = { name: entry.name, uri: entry.uri, bytes: entry.bytes, ...(entry.versionId ? { versionId: entry.versionId } : {}) };
  // Only a data set given as one file can have an empty part: listings skip empty files.
  if (entry.bytes === 0) throw new DataError(entry.name, 'no data rows');
  let format = formatOf(entry, undefined);
  if (format === 'parquet') {
    const head = await describeParquet(asyncBuffer(entry, source), entry.name);
    return { ...base, format, rows: head.rows, rowGroups: head.rowGroups, rowGroupBytes: head.rowGroupBytes, dataOffset: 0, firstLine: 1, columns: head.columns, named: true };
  }
  let head = await source.read(entry, 0, PROBE_BYTES);
  format = formatOf(entry, head);
  const needed = format === 'binary' ? binaryHeaderLength(head, entry.name) : format === 'csv' && head.indexOf(10) === -1 ? DESCRIBE_BYTES : 0;
  if (needed > head.length && head.length < entry.bytes) head = await source.read(entry, 0, Math.min(needed, DESCRIBE_BYTES));

  if (format === 'parquet') {
    const footer = await describeParquet(asyncBuffer(entry, source), entry.name);
    return { ...base, format, rows: footer.rows, rowGroups: footer.rowGroups, rowGroupBytes: footer.rowGroupBytes, dataOffset: 0, firstLine: 1, columns: footer.columns, named: true };
  }
  if (format === 'binary') {
    const header = describeBinary(head, entry.bytes, entry.name);
    return { ...base, format, rows: header.rows, dataOffset: header.dataOffset, firstLine: 1, columns: header.columns, named: true };
  }
  let text = head;
  if (format === 'csv.gz') {
    text = gunzipHead(head, entry.name);
    // Compressed, the first line may need more than the probe: up to DESCRIBE_BYTES.
    if (text.indexOf(10) === -1 && head.length < entry.bytes) {
      head = await source.read(entry, 0, DESCRIBE_BYTES);
      text = gunzipHead(head, entry.name);
    }
  }
  const csv = describeCsv(text, head.length >= entry.bytes, entry.name);
  return { ...base, format, dataOffset: csv.dataOffset, firstLine: csv.firstLine, hasHeader: csv.hasHeader, columns: csv.columns, named: csv.hasHeader };
}

/** What the first bytes of a gzip stream decode to (the stream is cut short: no error for its end). */
function gunzipHead(head: Uint8Array, name: string): Uint8Array {
  try {
    return gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH });
  } catch (error) {
    throw new DataError(name, `not valid gzip: ${error instanceof Error ? error.message : String(error)}`, {}, { cause: error });
  }
}

/** A part as hyparquet reads it: ranged reads through the byte source. */
function asyncBuffer(entry: PartEntry, source: ByteSource): AsyncBuffer {
  return {
    byteLength: entry.bytes,
    slice: async (start: number, end?: number) => {
      const bytes = await source.read(entry, start, end ?? entry.bytes);
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
    },
  };
}

/**
 * Splits a data set into `shards` lists of pieces, balanced over the parts' concatenated bytes:
 * boundary s sits at s/shards of the total. CSV parts split at any byte (each piece owns the lines
 * that start inside it); binary rows, Parquet row groups and gzip parts are indivisible units, each
 * going to the shard its middle byte falls in. Pure: every worker computes the same plan.
 */
export function planShards(layout: DatasetLayout, shards: number): ShardPiece[][] {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`cannot plan ${shards} shards`);
  const cols = layout.columns.length;
  const weightOf = (p: DatasetPart): number =>
    p.format === 'csv' ? p.bytes - p.dataOffset : p.format === 'binary' ? (p.rows ?? 0) * cols * 4 : p.format === 'parquet' ? sum(p.rowGroupBytes ?? []) : p.bytes;
  const total = layout.parts.reduce((s, p) => s + weightOf(p), 0);
  const bound = (s: number): number => Number((BigInt(s) * BigInt(total)) / BigInt(shards));
  const shardAt = (x: number): number => {
    // The s with bound(s) ≤ x < bound(s + 1).
    let s = Math.min(shards - 1, Math.floor((x * shards) / Math.max(total, 1)));
    while (s > 0 && bound(s) > x) s--;
    while (s < shards - 1 && bound(s + 1) <= x) s++;
    return s;
  };
  const plan: ShardPiece[][] = Array.from({ length: shards }, () => []);
  const add = (s: number, piece: ShardPiece) => {
    const list = plan[s]!;
    const last = list[list.length - 1];
    if (last && last.part === piece.part && last.end === piece.start) last.end = piece.end;
    else list.push(piece);
  };
  let offset = 0;
  layout.parts.forEach((p, part) => {
    const w = weightOf(p);
    if (p.format === 'csv') {
      for (let s = shardAt(offset); s < shards && bound(s) < offset + w; s++) {
        const lo = Math.max(bound(s), offset);
        const hi = Math.min(s + 1 === shards ? offset + w : bound(s + 1), offset + w);
        if (hi > lo) add(s, { part, start: p.dataOffset + lo - offset, end: p.dataOffset + hi - offset });
      }
    } else if (p.format === 'binary') {
      const rowBytes = cols * 4;
      const rows = p.rows ?? 0;
      const firstRow = (s: number): number => (s >= shards ? rows : Math.min(rows, Math.max(0, Math.ceil((bound(s) - offset) / rowBytes - 0.5))));
      for (let s = shardAt(offset); s < shards && firstRow(s) < rows; s++) {
        const start = firstRow(s);
        const end = firstRow(s + 1);
        if (end > start) add(s, { part, start, end });
      }
    } else if (p.format === 'parquet') {
      let at = offset;
      (p.rowGroupBytes ?? []).forEach((bytes, g) => {
        add(shardAt(at + bytes / 2), { part, start: g, end: g + 1 });
        at += bytes;
      });
    } else {
      add(shardAt(offset + w / 2), { part, start: 0, end: p.bytes });
    }
    offset += w;
  });
  return plan;
}

function sum(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

export interface LoadOptions {
  /** Refuses labels the caller cannot train on (the preparation round checks classes instead). */
  labelRule?: (label: number) => string | undefined;
  /** Parses CSV blocks in parallel (a worker's inner threads); without it, CSV is parsed here. */
  parser?: CsvBlockParser;
  /** Room for the rows where the threads read them (their WebAssembly memory), so they are written there once. */
  reserve?: ShardReserver;
  /** Read the label as text (a classifier: any class), coded per shard; `LoadedShard.labelKeys` names the codes. */
  labelText?: boolean;
  /** Further columns read as text (predict's ids), kept among the features as codes. */
  text?: ColumnOptions['text'];
  /** Read only the training rows, or only the held-out ones (data/holdout.ts). */
  holdout?: ColumnOptions['holdout'];
}

/**
 * Reads shard `shard` of `shards`: only its pieces (plus at most the rest of a CSV piece's last
 * line, and a Parquet part's footer), parsed as the bytes stream in, into one SharedArrayBuffer.
 */
export async function loadShard(layout: DatasetLayout, shard: number, shards: number, source: ByteSource, options: LoadOptions = {}): Promise<LoadedShard> {
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new RangeError(`shard ${shard} of ${shards} does not exist`);
  }
  const pieces = planShards(layout, shards)[shard]!;
  const columns: ColumnOptions = {
    ...(layout.skipColumns?.length ? { skip: layout.skipColumns } : {}),
    ...(options.labelText && layout.labelIndex !== undefined ? { labelText: true } : {}),
    ...(options.text?.length ? { text: options.text } : {}),
    ...(options.holdout ? { holdout: options.holdout } : {}),
  };
  const sink = new RowSink(layout.columns.length, layout.labelIndex, options.labelRule, maxRows(layout, pieces), options.reserve, columns);
  const reports: PieceReport[] = [];
  try {
    for (const piece of pieces) {
      const before = sink.rows;
      sink.part = piece.part;
      const lines = await readPiece(layout, piece, sink, source, options.parser);
      reports.push({ piece, rows: sink.rows - before, lines });
    }
    return sink.finish(shard, shards, reports);
  } catch (error) {
    sink.abandon();
    throw error;
  }
}

/** Whether every piece of the shard is CSV (plain or gzip), so that `stageShard` can read it. */
export function stageable(layout: DatasetLayout, shard: number, shards: number): boolean {
  return planShards(layout, shards)[shard]!.every((piece) => {
    const format = layout.parts[piece.part]!.format;
    return format === 'csv' || format === 'csv.gz';
  });
}

/**
 * Shard `shard` of `shards` through `stage`, a block parser whose threads turn each block's rows
 * into text where they parse them (batch predictions: src/inner/ThreadPool.ts `staged`): the same
 * pieces, blocks and errors as `loadShard` with that parser, but the rows never come back, nor
 * their positions; `place` gets each block's text in row order. Only for CSV pieces (`stageable`).
 */
export async function stageShard(
  layout: DatasetLayout,
  shard: number,
  shards: number,
  source: ByteSource,
  stage: CsvBlockParser,
  place: (text: Uint8Array, rows: number) => void,
): Promise<{ rows: number; pieces: PieceReport[] }> {
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new RangeError(`shard ${shard} of ${shards} does not exist`);
  }
  let rows = 0;
  const target: BlockTarget & RowTarget = {
    pushRows: () => undefined,
    placed(result) {
      rows += result.rows;
      place(result.text ?? new Uint8Array(0), result.rows);
    },
    push() {
      throw new RangeError('a staged shard is read in blocks only');
    },
  };
  const reports: PieceReport[] = [];
  for (const piece of planShards(layout, shards)[shard]!) {
    const format = layout.parts[piece.part]!.format;
    if (format !== 'csv' && format !== 'csv.gz') throw new RangeError(`${layout.parts[piece.part]!.name}: a ${format} part is not read in blocks`);
    const before = rows;
    const lines = await readPiece(layout, piece, target, source, stage, target);
    reports.push({ piece, rows: rows - before, lines });
  }
  return { rows, pieces: reports };
}

/**
 * Every row of the data set, in order, into `target` (convert): the same pieces a single shard
 * would read, but nothing kept; `target.drain` is awaited between chunks.
 */
export async function readAllRows(layout: DatasetLayout, source: ByteSource, target: RowTarget): Promise<void> {
  for (const piece of planShards(layout, 1)[0]!) await readPiece(layout, piece, target, source);
}

/**
 * The most rows the pieces can hold: exact for binary and Parquet; for CSV a row takes at least
 * two bytes per column (a digit and a comma or the newline), and a piece may finish one line past
 * its end; unknown (Infinity) for gzip.
 */
function maxRows(layout: DatasetLayout, pieces: ShardPiece[]): number {
  const cols = layout.columns.length;
  let rows = 0;
  for (const piece of pieces) {
    const part = layout.parts[piece.part]!;
    if (part.format === 'csv') rows += Math.floor((piece.end - piece.start + 1) / (2 * cols)) + 1;
    else if (part.format === 'binary') rows += piece.end - piece.start;
    else if (part.format === 'parquet') rows += sum((part.rowGroups ?? []).slice(piece.start, piece.end));
    else return Infinity;
  }
  return rows;
}

/**
 * Parses one piece into the sink; returns the lines (CSV) or rows it spans. With a block parser
 * (and a shard's sink), CSV is framed here and parsed there, in parallel.
 */
async function readPiece(layout: DatasetLayout, piece: ShardPiece, sink: RowTarget, source: ByteSource, blocks?: CsvBlockParser, staged?: BlockTarget): Promise<number> {
  const part = layout.parts[piece.part]!;
  const entry: PartEntry = { name: part.name, uri: part.uri, bytes: part.bytes, ...(part.versionId ? { versionId: part.versionId } : {}) };
  const common = { name: part.name, part: piece.part, columns: layout.columns, sink };
  // A sink with text or skipped columns tells the parser which (a writer, for convert, has none).
  const kinds = sink instanceof RowSink && sink.kinds ? { kinds: sink.kinds, texts: sink.texts } : {};
  const csvParser = (o: { start: number; end: number; skipFirst: boolean; firstLine?: number }) =>
    blocks && (staged || (sink instanceof RowSink && !sink.texts.some((d, c) => d && c !== layout.labelIndex)))
      ? new CsvBlockFramer({
          ...common,
          sink: staged ?? (sink as RowSink),
          parser: blocks,
          ...(layout.labelIndex !== undefined ? { labelIndex: layout.labelIndex } : {}),
          ...(sink instanceof RowSink && sink.labelDict ? { labelText: true } : {}),
          ...(layout.skipColumns?.length ? { skip: layout.skipColumns } : {}),
          ...o,
        })
      : new CsvPieceParser({ ...common, ...kinds, ...o });
  switch (part.format) {
    case 'csv': {
      const skipFirst = piece.start > part.dataOffset;
      const parser = csvParser({ start: piece.start, end: piece.end, skipFirst, ...(skipFirst ? {} : { firstLine: part.firstLine }) });
      try {
        for await (const chunk of source.stream(entry, skipFirst ? piece.start - 1 : piece.start, piece.end)) {
          if (!parser.push(chunk)) break;
          await settle(parser, sink);
        }
        // The piece's last line may run on past its end: read on, in small steps, until it ends.
        let at = piece.end;
        let step = TAIL_BYTES;
        while (parser.needsMore && at < part.bytes) {
          const more = await source.read(entry, at, at + step);
          at += more.length;
          parser.push(more);
          step *= 2;
        }
        return await finish(parser);
      } catch (error) {
        if (parser instanceof CsvBlockFramer) await parser.abandon();
        throw error;
      }
    }
    case 'csv.gz': {
      const parser = csvParser({ start: part.dataOffset, end: Infinity, skipFirst: false, firstLine: part.firstLine });
      let skip = part.dataOffset;
      let refused: unknown;
      try {
        await pipeline(Readable.from(source.stream(entry, 0, part.bytes)), createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
          for await (const chunk of chunks) {
            if (skip >= chunk.length) {
              skip -= chunk.length;
              continue;
            }
            try {
              parser.push(skip > 0 ? chunk.subarray(skip) : chunk);
            } catch (error) {
              // The pipeline may reject with its own AbortError instead of this: keep ours.
              refused = error;
              throw error;
            }
            skip = 0;
            await settle(parser, sink);
          }
        });
        return await finish(parser);
      } catch (error) {
        if (parser instanceof CsvBlockFramer) await parser.abandon();
        if (refused !== undefined) throw refused;
        if (error instanceof DataError) throw error;
        const code = (error as { code?: string }).code ?? '';
        if (code.startsWith('Z_')) throw new DataError(part.name, `not valid gzip: ${(error as Error).message}`, {}, { cause: error });
        throw error;
      }
    }
    case 'binary': {
      const rowBytes = layout.columns.length * 4;
      const parser = new BinaryPieceParser({ ...common, startRow: piece.start });
      for await (const chunk of source.stream(entry, part.dataOffset + piece.start * rowBytes, part.dataOffset + piece.end * rowBytes)) {
        parser.push(chunk);
        await sink.drain?.();
      }
      parser.finish(piece.end - piece.start);
      return piece.end - piece.start;
    }
    case 'parquet': {
      const file = asyncBuffer(entry, source);
      const head = await describeParquet(file, part.name);
      return readParquetGroups(file, head, piece.start, piece.end, common);
    }
  }
}

/** Between chunks: the framer waits for its parser, a writer for its output to drain. */
async function settle(parser: CsvPieceParser | CsvBlockFramer, sink: RowTarget): Promise<void> {
  if (parser instanceof CsvBlockFramer) await parser.settle();
  await sink.drain?.();
}

/** The end of a piece's bytes; its lines. */
async function finish(parser: CsvPieceParser | CsvBlockFramer): Promise<number> {
  if (parser instanceof CsvBlockFramer) return parser.close();
  parser.finish();
  return parser.lines;
}
