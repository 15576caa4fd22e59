import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataError } from '../../errors.js';
import { RowProblem } from '../rowProblem.js';
import { type RowTarget } from '../rows.js';
import { checkColumnNames } from './csv.js';
import { crcCheckedFile } from './parquet-crc.js';

/*
 * Parquet parts, read with hyparquet (pure JavaScript, no native code or WebAssembly to ship to
 * Lambda, reads through an async byte-range interface: the footer alone for `describe`, the row
 * groups a piece owns for `loadShard`) and hyparquet-compressors (snappy, gzip, zstd, brotli,
 * lz4). Columns must be flat and numeric: INT32, INT64, FLOAT, DOUBLE or BOOLEAN.
 */

/** Footer bytes the first read fetches: enough for the metadata of most numeric files in one request. */
export const PARQUET_FOOTER_PROBE = 8 * 1024;

const NUMERIC = new Set(['INT32', 'INT64', 'FLOAT', 'DOUBLE', 'BOOLEAN']);

export interface ParquetHead {
  columns: string[];
  rows: number;
  rowGroups: number[];
  rowGroupBytes: number[];
  metadata: FileMetaData;
}

/** Reads a part's footer (its last ≤ 64 KB, unless the metadata is larger) and checks its columns. */
export async function describeParquet(file: AsyncBuffer, name: string): Promise<ParquetHead> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file, { initialFetchSize: Math.min(PARQUET_FOOTER_PROBE, file.byteLength) });
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(name, `not a readable Parquet file: ${error instanceof Error ? error.message : String(error)}`, {}, { cause: error });
  }
  const schema = parquetSchema(metadata);
  const columns: string[] = [];
  for (const child of schema.children) {
    const { element } = child;
    if (child.children.length > 0 || element.repetition_type === 'REPEATED' || !element.type || !NUMERIC.has(element.type)) {
      throw new DataError(name, `column is ${child.children.length > 0 ? 'nested' : (element.type ?? 'not a primitive')}; only flat numeric columns are supported`, { field: element.name });
    }
    columns.push(element.name);
  }
  checkColumnNames(columns, name);
  const rowGroups = metadata.row_groups.map((g) => Number(g.num_rows));
  const rowGroupBytes = metadata.row_groups.map((g) =>
    Number(g.total_compressed_size ?? g.columns.reduce((sum, c) => sum + (c.meta_data?.total_compressed_size ?? 0n), 0n)),
  );
  return { columns, rows: Number(metadata.num_rows), rowGroups, rowGroupBytes, metadata };
}

/**
 * Rows of row groups [firstGroup, endGroup), one group at a time (so that at most one group's
 * decoded columns are held besides the sink), validated and pushed row by row.
 */
export async function readParquetGroups(
  file: AsyncBuffer,
  head: Pick<ParquetHead, 'columns' | 'rowGroups' | 'metadata'>,
  firstGroup: number,
  endGroup: number,
  o: { name: string; part: number; sink: RowTarget },
): Promise<number> {
  const cols = head.columns.length;
  const row = new Float64Array(cols);
  let groupStart = 0;
  for (let g = 0; g < firstGroup; g++) groupStart += head.rowGroups[g]!;
  const pieceStart = groupStart;
  let rows = 0;
  // Page CRCs are checked as the column chunks arrive; a page that fails is refused, never decoded.
  const checked = crcCheckedFile(file, head.metadata, o.name, head.columns);
  for (let g = firstGroup; g < endGroup; g++) {
    const rowStart = groupStart;
    const rowEnd = groupStart + head.rowGroups[g]!;
    const n = rowEnd - rowStart;
    const columnsByName = new Map<string, unknown[]>(head.columns.map((c) => [c, new Array<unknown>(n)]));
    await parquetRead({
      file: checked,
      metadata: head.metadata,
      rowStart,
      rowEnd,
      compressors,
      onChunk: (chunk) => {
        // A chunk may hold rows outside the range asked for; keep those inside it.
        const out = columnsByName.get(chunk.columnName);
        if (!out) return;
        const data = chunk.columnData as ArrayLike<unknown>;
        for (let i = Math.max(0, rowStart - chunk.rowStart); i < data.length && chunk.rowStart + i < rowEnd; i++) out[chunk.rowStart + i - rowStart] = data[i];
      },
    }).catch((error: unknown) => {
      if (error instanceof DataError) throw error;
      // A page that decodes to garbage (a corrupted header or length in a file without CRCs).
      throw new DataError(o.name, `row group ${g}: cannot decode: ${error instanceof Error ? error.message : String(error)}: the file is corrupted or not Parquet`, {}, { cause: error });
    });
    const columnData = head.columns.map((c) => columnsByName.get(c)!);
    for (let r = 0; r < n; r++) {
      try {
        for (let c = 0; c < cols; c++) {
          const raw = columnData[c]![r];
          const v = typeof raw === 'bigint' ? Number(raw) : typeof raw === 'boolean' ? (raw ? 1 : 0) : (raw as number);
          const f = typeof v === 'number' ? Math.fround(v) : NaN;
          if (f !== f || f === Infinity || f === -Infinity) {
            throw new RowProblem(`${raw === null || raw === undefined ? 'a missing value (null)' : String(raw)} is not a finite float32 number`, c);
          }
          row[c] = f;
        }
        o.sink.push(row, rowStart + r);
      } catch (error) {
        if (!(error instanceof RowProblem)) throw error;
        const field = head.columns[error.column]!;
        throw new DataError(o.name, error.message, {
          row: rowStart + r + 1,
          field,
          location: { part: o.part, pieceStart, lineInPiece: rowStart - pieceStart + r, field },
        });
      }
      rows++;
    }
    await o.sink.drain?.();
    groupStart = rowEnd;
  }
  return rows;
}
