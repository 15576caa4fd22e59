import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describe as describeData, loadShard } from '../../src/data/dataset.js';
import { parseCsvBlock, type CsvBlockParser, type CsvBlockRequest, type CsvBlockResult } from '../../src/data/formats/csv-blocks.js';
import type { LoadedShard } from '../../src/data/types.js';
import type { ByteSource, PartEntry } from '../../src/data/byteSource.js';
import { formatFloat32 } from '../../src/data/table.js';
import { csvLine, csvShape } from '../helpers/csv-cases.js';
import { DataError } from '../../src/errors.js';

/*
 * CSV parsed in blocks, in parallel, must give exactly what one parser gives: the same rows,
 * positions, line counts, and the same first error (message and location), for any shard of any
 * W, any cut of the stream into chunks, any block size, and blocks finishing in any order.
 */

/** One CSV file in memory, streamed in chunks whose sizes the case chooses. */
class ChunkedBytes implements ByteSource {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly chunkSizes: number[],
  ) {}

  async list(uri: string): Promise<PartEntry[]> {
    return [{ name: uri, uri, bytes: this.bytes.length }];
  }

  async read(_part: PartEntry, start: number, end: number): Promise<Uint8Array> {
    return this.bytes.slice(start, Math.min(end, this.bytes.length));
  }

  async *stream(_part: PartEntry, start: number, end: number): AsyncIterable<Uint8Array> {
    let at = start;
    let i = 0;
    while (at < end) {
      const size = this.chunkSizes[i++ % this.chunkSizes.length]!;
      yield this.bytes.slice(at, Math.min(end, at + size));
      at += size;
    }
  }
}

/** Parses blocks here, each after a delay the case chooses, so they finish out of order. */
class ShuffledParser implements CsvBlockParser {
  private n = 0;
  constructor(
    readonly concurrency: number,
    readonly blockBytes: number,
    private readonly delays: number[],
  ) {}

  async parseCsvBlock(request: CsvBlockRequest): Promise<CsvBlockResult> {
    const delay = this.delays[this.n++ % this.delays.length]!;
    await new Promise((resolve) => setTimeout(resolve, delay));
    return parseCsvBlock(request);
  }
}

const binaryLabel = (y: number): string | undefined => (y === 0 || y === 1 ? undefined : `label ${formatFloat32(y)} is not 0 or 1`);

/** Rows of 1..3 features and a 0/1 label; LF or CRLF, blank lines, maybe no final newline, maybe a bad field or label. */
const csvCase = fc
  .record({
    ...csvShape,
    lines: fc.array(
      fc.record({
        ...csvLine,
        label: fc.integer({ min: 0, max: 1 }),
      }),
      { minLength: 1, maxLength: 40 },
    ),
    bad: fc.option(fc.record({ line: fc.nat(), kind: fc.constantFrom('field', 'label', 'count') }), { nil: undefined }),
  })
  .map(({ cols, header, trailing, lines, bad }) => {
    let text = header ? `${Array.from({ length: cols }, (_, c) => `c${c}`).join(',')},y\n` : '';
    lines.forEach((line, i) => {
      const fields = line.values.slice(0, cols).map((v) => formatFloat32(Math.fround(v)));
      let label = String(line.label);
      // Not the first line of a headerless file: describe would refuse it (the header rule), before any shard.
      if (bad && bad.line % lines.length === i && (header || i > 0)) {
        if (bad.kind === 'field') fields[0] = 'oops';
        else if (bad.kind === 'label') label = '2';
        else fields.push('7');
      }
      const eol = line.crlf ? '\r\n' : '\n';
      const last = i === lines.length - 1;
      text += [...fields, label].join(',') + (last && !trailing ? '' : eol) + (line.blankAfter && !last ? eol : '');
    });
    return text;
  });

type Outcome = { shard: LoadedShard } | { error: { message: string; location: unknown } };

async function outcome(load: () => Promise<LoadedShard>): Promise<Outcome> {
  try {
    return { shard: await load() };
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    return { error: { message: error.message, location: error.location } };
  }
}

function plain(o: Outcome): unknown {
  if ('error' in o) return o;
  const { shard } = o;
  return { rows: shard.rows, features: Array.from(shard.features), labels: Array.from(shard.labels ?? []), positions: Array.from(shard.positions), pieces: shard.pieces };
}

describe('CSV parsed in blocks (property)', () => {
  it('gives the rows, lines and first error of one parser, for any W, chunks, block size and finishing order', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvCase,
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 48 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 5 }),
        async (text, shards, chunkSizes, blockBytes, concurrency, delays) => {
          const source = new ChunkedBytes(new TextEncoder().encode(text), chunkSizes);
          const layout = await describeData({ uri: 'mem.csv', labelColumn: 'last' }, source);
          for (let s = 0; s < shards; s++) {
            const one = await outcome(() => loadShard(layout, s, shards, source, { labelRule: binaryLabel }));
            const blocks = await outcome(() => loadShard(layout, s, shards, source, { labelRule: binaryLabel, parser: new ShuffledParser(concurrency, blockBytes, delays) }));
            expect(plain(blocks)).toEqual(plain(one));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
