import { availableParallelism } from 'node:os';
import { SpecError } from '../errors.js';
import type { ModelResult } from '../domain/results.js';
import { batchPredict } from '../serve/batch.js';
import { FormatPool } from '../serve/formatPool.js';
import { openParsePool } from '../runtime/parsePool.js';
import { directorySink, s3Sink } from '../serve/partSink.js';
import { datasetSource } from './datasets.js';
import type { CliIo } from './io.js';
import type { PredictOptions } from './predictOptions.js';

/*
 * `bspml predict --model M --data DATA --out s3://b/preds/` (or `--out DIR/`): predictions over a
 * data set in parts (local, or S3 with --s3-endpoint), one output part per shard (src/serve/batch.ts).
 */

/** Parts out: an S3 URI or a directory named with a trailing slash; or S3 data in. */
export function isBatchPredict(options: Pick<PredictOptions, 'data' | 'out'>): boolean {
  return options.data.startsWith('s3://') || (options.out !== undefined && (options.out.startsWith('s3://') || options.out.endsWith('/')));
}

export async function batchPredictCli(model: ModelResult, options: PredictOptions & { shards?: number; threads?: number }, io: CliIo): Promise<void> {
  if (options.out === undefined) throw new SpecError(`--data ${options.data}: predictions over a data set in S3 are written as parts: give --out s3://BUCKET/PREFIX/ or --out DIR/`, 'out');
  for (const [given, name] of [[options.idColumn, 'id-column'], [options.keep, 'keep'], [options.byPosition, 'by-position']] as const) {
    if (given !== undefined && given !== false) throw new SpecError(`--${name}: not yet with predictions written as parts (--out ${options.out})`, name);
  }
  const { datasets, close } = await datasetSource(options.data, options.s3Endpoint);
  // The S3 client (the AWS SDK) loads only for s3:// output, not at every CLI start.
  const client = options.out.startsWith('s3://') ? (await import('../aws/s3.js')).createS3Client({ endpoint: options.s3Endpoint ?? process.env.AWS_ENDPOINT_URL_S3 }) : undefined;
  // CSV is parsed in blocks by a pool of threads, as a training worker's inner threads parse it
  // (one per core), and each block predicted and written as text there (`stage`); other formats
  // load through the same pool, are predicted here and formatted in a second pool, started only then.
  const threads = options.threads ?? availableParallelism();
  const pool = openParsePool(threads);
  let formatPool: FormatPool | undefined;
  const formatter = { format: (slice: Parameters<FormatPool['format']>[0]) => (formatPool ??= new FormatPool(threads)).format(slice) };
  try {
    const sink = client ? s3Sink(client, options.out) : directorySink(options.out);
    const result = await batchPredict(model, options.data, datasets, sink, { shards: options.shards, parser: pool.parser, stage: pool.staged, formatter });
    const mb = (n: number) => n.toFixed(0);
    const where = result.staged === result.shards ? 'parsed, predicted and formatted in the threads' : `${result.staged} of them parsed, predicted and formatted in the threads; predicted here in ${mb(result.predictMs)} ms, formatted in ${mb(result.formatMs)} ms`;
    io.stderr.write(`predicted ${result.rows} rows in ${result.shards} parts under ${options.out} (${where}; waited ${mb(result.loadMs)} ms for shards, ${mb(result.writeMs)} ms for writes)\n`);
  } finally {
    close();
    client?.destroy();
    await Promise.all([pool.close(), formatPool?.close()]);
  }
}
