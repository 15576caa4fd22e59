import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BspmlError } from '../../src/errors.js';
import { readTable } from '../../src/data/sources/load.js';
import { parquetPages, writeParquetTable } from '../helpers/parquet-pages.js';
import { LONG, faultSeed } from '../helpers/fault-mode.js';

/*
 * The fault-injection suite, data side (issue 20): a Parquet file of ours with one byte flipped
 * anywhere must either be refused with a data error (E_DATA, one line naming the file) or read back
 * bit for bit as written (a flip in bytes nobody reads, such as column statistics). A flip inside a
 * page's body must always be refused. Fast by default; BSPML_FAULTS=long tries many more.
 */

const RUNS = LONG ? 2000 : 60;

let dir: string;
let intact: Buffer;
let values: Buffer;
let bodies: { start: number; end: number }[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bspml-corrupt-'));
  const path = join(dir, 'intact.parquet');
  values = Buffer.from((await writeParquetTable(path, 5000, 3)).buffer);
  intact = await readFile(path);
  bodies = (await parquetPages(path)).map((p) => ({ start: p.bodyStart, end: p.bodyEnd }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readFlipped(at: number, mask: number): Promise<{ refused?: string; same?: boolean }> {
  const path = join(dir, `flip-${at}-${mask}.parquet`);
  const bytes = Buffer.from(intact);
  bytes[at]! ^= mask;
  await writeFile(path, bytes);
  try {
    const table = await readTable(path);
    return { same: Buffer.from(table.values.buffer, table.values.byteOffset, table.values.byteLength).equals(values) };
  } catch (error) {
    if (!(error instanceof BspmlError) || error.code !== 'E_DATA') throw error;
    expect(error.message.startsWith(path), error.message).toBe(true);
    expect(error.message).not.toContain('\n');
    return { refused: error.message };
  } finally {
    await rm(path, { force: true });
  }
}

describe('corrupted Parquet pages', () => {
  it(`${RUNS} single-byte flips anywhere in the file: refused, or read back bit for bit`, { timeout: LONG ? 600_000 : 60_000 }, async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: intact.byteLength - 1 }), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const outcome = await readFlipped(at, mask);
        if (outcome.refused) refused++;
        else expect(outcome.same, `flip at byte ${at} read back different values, silently`).toBe(true);
      }),
      { numRuns: RUNS, seed: faultSeed(20_020) },
    );
    expect(refused).toBeGreaterThan(0);
  });

  it('a flip in the footer that turns an offset into NaN is refused, with no stray rejection (found by CI\'s long step, seed 20261206)', async () => {
    // Prepare: byte 60,310 of the 60,392-byte file, mask 80, made hyparquet ask for bytes NaN..NaN,
    // a RangeError in a read nobody awaited (an unhandled rejection) before the fix.
    expect(intact.byteLength).toBe(60_392);
    const stray: unknown[] = [];
    const onStray = (error: unknown) => stray.push(error);
    process.on('unhandledRejection', onStray);

    // Act
    const outcome = await readFlipped(60_310, 80);
    await new Promise((resolve) => setTimeout(resolve, 20));
    process.off('unhandledRejection', onStray);

    // Assess
    expect(outcome.refused).toMatch(/the file is corrupted/);
    expect(stray).toEqual([]);
  });

  it('a flip inside any page body is always refused by its checksum', { timeout: LONG ? 600_000 : 60_000 }, async () => {
    for (const [i, body] of bodies.entries()) {
      for (const at of [body.start, (body.start + body.end) >> 1, body.end - 1]) {
        const outcome = await readFlipped(at, 1 << (i % 8));
        expect(outcome.refused, `flip at byte ${at}`).toMatch(/row group \d+, column "c\d": page \d+ fails its checksum/);
      }
    }
  });
});
