import { describe, expect, it } from 'vitest';
import { describe as describeData, loadShard } from '../../src/data/dataset.js';
import { BLOCK_BYTES, parseCsvBlock, type CsvBlockParser, type CsvBlockRequest, type CsvBlockResult } from '../../src/data/formats/csv-blocks.js';
import { RowSink } from '../../src/data/rows.js';
import type { ByteSource, PartEntry } from '../../src/data/byteSource.js';

/*
 * Issue 20 defect 14: locally, peak memory grew with the number of workers on the same data
 * (W = 256 on 32 containers at 1.9× W = 32). Each shard load allocated a 2.5 MB CSV block buffer
 * and three 1 Mi-value chunks (16 MB) whatever the shard's size; a container loads W / 32 shards in
 * turn, and those buffers, freed late, added up. What a load allocates must scale with its shard.
 */

/** One CSV file in memory. */
class MemoryBytes implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  async list(uri: string): Promise<PartEntry[]> {
    return [{ name: uri, uri, bytes: this.bytes.length }];
  }
  async read(_part: PartEntry, start: number, end: number): Promise<Uint8Array> {
    return this.bytes.slice(start, Math.min(end, this.bytes.length));
  }
  async *stream(_part: PartEntry, start: number, end: number): AsyncIterable<Uint8Array> {
    for (let at = start; at < end; at += 1024) yield this.bytes.slice(at, Math.min(end, at + 1024));
  }
}

/** Parses blocks here, noting the size of each buffer a block arrives in. */
class RecordingParser implements CsvBlockParser {
  readonly concurrency = 2;
  readonly buffers: number[] = [];
  constructor(readonly blockBytes = BLOCK_BYTES) {}
  async parseCsvBlock(request: CsvBlockRequest): Promise<CsvBlockResult> {
    this.buffers.push(request.bytes.buffer.byteLength);
    return parseCsvBlock(request);
  }
}

function csv(rows: number, cols: number): Uint8Array {
  const lines = [Array.from({ length: cols }, (_, c) => `x${c}`).join(',')];
  for (let r = 0; r < rows; r++) lines.push(Array.from({ length: cols }, (_, c) => ((r * 31 + c * 7) % 1000) / 10).join(','));
  return new TextEncoder().encode(`${lines.join('\n')}\n`);
}

describe('issue 20 defect 14: a shard load allocates in proportion to its shard', () => {
  it('a small shard\'s CSV blocks arrive in buffers no larger than its bytes, not a whole block\'s', async () => {
    // Prepare: 64 shards of about 4 KB each
    const bytes = csv(2000, 8);
    const source = new MemoryBytes(bytes);
    const layout = await describeData({ uri: 'mem.csv' }, source);
    const shards = 64;

    // Act
    const parser = new RecordingParser();
    let rows = 0;
    for (let s = 0; s < shards; s++) rows += (await loadShard(layout, s, shards, source, { parser })).rows;

    // Assess: every row read once, and no buffer above twice a shard's share of the bytes
    expect(rows).toBe(2000);
    const shardBytes = bytes.length / shards;
    expect(Math.max(...parser.buffers)).toBeLessThanOrEqual(2 * shardBytes);
    expect(Math.max(...parser.buffers)).toBeLessThan(BLOCK_BYTES / 64);
  });

  it('a shard larger than a block still gets whole blocks', async () => {
    // Prepare: one shard of many 4 KB blocks (a parser may set its block size)
    const bytes = csv(2000, 8);
    const source = new MemoryBytes(bytes);
    const layout = await describeData({ uri: 'big.csv' }, source);

    // Act
    const parser = new RecordingParser(4096);
    const shard = await loadShard(layout, 0, 1, source, { parser });

    // Assess
    expect(shard.rows).toBe(2000);
    expect(parser.buffers.length).toBeGreaterThan(10);
    expect(Math.min(...parser.buffers)).toBeGreaterThanOrEqual(4096);
  });

  it('sinks of a few rows each hold kilobytes, not megabytes, of chunks', () => {
    // Prepare: no reservation and no bound on rows, so features, labels and positions all go to chunks
    const before = process.memoryUsage().arrayBuffers;

    // Act: eight sinks held at once, as eight containers loading small shards
    const sinks = Array.from({ length: 8 }, () => new RowSink(17, 16));
    const row = new Float64Array(17).fill(1);
    for (const sink of sinks) for (let r = 0; r < 100; r++) sink.push(row, r * 40);
    const held = process.memoryUsage().arrayBuffers - before;

    // Assess: 100 rows are 8 KB of values per sink; before the fix each sink took 16 MB
    expect(sinks.every((s) => s.rows === 100)).toBe(true);
    expect(held).toBeLessThan(4 * 1024 * 1024);
    expect(sinks[0]!.chunkBytes).toBeLessThanOrEqual(64 * 1024);
  });
});
