import { DataError } from '../errors.js';
import { readAllRows } from '../data/dataset.js';
import type { RowTarget } from '../data/rows.js';
import { openTableWriter, type TableWriter } from '../data/formats/write.js';
import { datasetSource } from './datasets.js';
import { describeFormat } from './gen.js';
import type { CliIo } from './io.js';
import { checkWritable } from '../util/files.js';
import { onInterrupt } from '../util/interrupt.js';

/** Rows handed to the writer at a time. */
const BATCH_ROWS = 65536;

/**
 * `bspml convert IN OUT`: any data set we read (a file or directory of parts, CSV, csv.gz, binary,
 * Parquet, local or s3://) into one file whose format its name gives, streaming: rows are parsed,
 * validated and written in batches, never all held at once.
 */
export async function convert(options: { input: string; output: string; s3Endpoint?: string }, io: CliIo): Promise<void> {
  // The output first (a directory, a missing folder), not after reading everything (issue 20 defect 11).
  await checkWritable(options.output);
  const data = await datasetSource(options.input, options.s3Endpoint);
  try {
    const layout = await data.datasets.describe({ uri: options.input });
    const header = layout.parts.some((p) => p.hasHeader !== false);
    const writer = await openTableWriter(options.output, layout.columns, { header });
    // Ctrl-C or kill: the temp file beside the output goes too (issue 20 defect 13).
    const forget = onInterrupt(`the temp file of ${options.output}`, () => writer.abort());
    try {
      const target = new BatchingTarget(writer, layout.columns.length);
      await readAllRows(layout, data.datasets.bytes, target);
      await target.end();
      // A header and nothing else is no data set: refused as train refuses it, nothing written.
      if (writer.rows === 0) throw new DataError(options.input, `no data rows${header ? ' (only a header)' : ''}`);
      await writer.close();
    } catch (error) {
      await writer.abort();
      throw error;
    } finally {
      forget();
    }
    io.stderr.write(
      `wrote ${options.output}: ${writer.rows} rows × ${layout.columns.length} columns (${describeFormat(writer.format)}) from ${layout.parts.length} part${layout.parts.length === 1 ? '' : 's'}\n`,
    );
  } finally {
    data.close();
  }
}

/** Collects rows into batches and writes them one after another; `drain` waits for the writes. */
class BatchingTarget implements RowTarget {
  private batch: Float32Array;
  private n = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly writer: TableWriter,
    private readonly cols: number,
  ) {
    this.batch = new Float32Array(BATCH_ROWS * cols);
  }

  push(values: Float64Array | Float32Array): void {
    this.batch.set(values.length === this.cols ? values : values.subarray(0, this.cols), this.n * this.cols);
    if (++this.n === BATCH_ROWS) this.flush();
  }

  drain(): Promise<void> {
    return this.pending;
  }

  /** The last, partial batch; then every write done. */
  async end(): Promise<void> {
    this.flush();
    await this.pending;
  }

  private flush(): void {
    if (this.n === 0) return;
    const full = this.batch.subarray(0, this.n * this.cols);
    this.pending = this.pending.then(() => this.writer.write(full));
    this.batch = new Float32Array(BATCH_ROWS * this.cols);
    this.n = 0;
  }
}
