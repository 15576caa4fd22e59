import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import { formatFloat32 } from '../../src/data/table.js';
import { decodeModel } from '../../src/protocol/codec.js';
import type { KmeansResult, LogregResult } from '../../src/domain/results.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';
import { blobs } from '../helpers/data.js';
import { assignAll, maxRelativeError } from '../helpers/reference.js';

/*
 * Issue 9: a data set of several part files (a part smaller than a shard, lines straddling range
 * boundaries, CRLF, no trailing newline, a header in each part, an empty part, a .csv.gz part, a
 * Parquet part) trains the model the same rows give in one file, for W × I ∈ {1×1, 3×2, 8×1},
 * with an initial model that does not depend on W; and a bad field in part 3 is named by the
 * part's file, its line and its column.
 */

const COLUMNS = ['a', 'b', 'c', 'y'];
// Four well-separated blobs, labelled by side of a plane through them (not separable: some noise).
const BLOBS = blobs(
  [
    [0, 0, 0],
    [12, 12, 3],
    [-12, 12, -3],
    [12, -12, 6],
  ],
  150,
  1.5,
  19,
);
const ROWS: number[][] = Array.from({ length: BLOBS.rows }, (_, i) => {
  const x = Array.from(BLOBS.features.subarray(i * 3, i * 3 + 3));
  return [...x, x[0]! + 0.5 * x[1]! + (i % 13 === 0 ? 20 : 0) > 2 ? 1 : 0];
});

function csv(rows: number[][], { eol = '\n', trailing = true } = {}): string {
  return [COLUMNS.join(','), ...rows.map((r) => r.map(formatFloat32).join(','))].join(eol) + (trailing ? eol : '');
}

function parquet(rows: number[][], rowGroupSize: number): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({ columnData: COLUMNS.map((name, c) => ({ name, data: Float32Array.from(rows.map((r) => r[c]!)), type: 'FLOAT' as const })), rowGroupSize }),
  );
}

/** The rows as a directory of parts, every case of the issue in one data set. */
async function writeParts(dir: string, rows: number[][]): Promise<void> {
  await mkdir(dir);
  await writeFile(join(dir, 'part-00000.csv'), csv(rows.slice(0, 4))); // smaller than any shard
  await writeFile(join(dir, 'part-00001.csv'), csv(rows.slice(4, 200), { eol: '\r\n' }));
  await writeFile(join(dir, 'part-00002.csv'), csv(rows.slice(200, 330), { trailing: false }));
  await writeFile(join(dir, 'part-00003.csv'), csv(rows.slice(330, 460)));
  await writeFile(join(dir, 'part-00004.csv'), ''); // empty: skipped
  await writeFile(join(dir, 'part-00005.csv.gz'), gzipSync(csv(rows.slice(460, 520)))); // one unsplittable piece
  await writeFile(join(dir, 'part-00006.parquet'), parquet(rows.slice(520), 16));
  await writeFile(join(dir, '_SUCCESS'), '');
}

const LAYOUTS = [
  { workers: 1, threads: 1 },
  { workers: 3, threads: 2 },
  { workers: 8, threads: 1 },
];
const KMEANS = { algorithm: 'kmeans', k: 4, seed: 3, initSample: 200, maxRounds: 30, tol: 0 } as const;
const LOGREG = { algorithm: 'logreg', solver: 'gd', lr: 0.5, l2: 0.01, maxRounds: 10, tol: 0, data: { labelColumn: 'y' } } as const;

describe('a data set of several part files', () => {
  const tempDir = useTempDirs('bspml-files-');
  let dir: string;
  let store: MemoryStore;
  let runtime: LocalRuntime;
  const oneFile: { kmeans?: KmeansResult; logreg?: LogregResult } = {};
  let firstInit: number[] | undefined;

  beforeAll(async () => {
    store = new MemoryStore();
    runtime = new LocalRuntime({ store, datasets: new FileDatasetSource(), defaultThreads: 1 });
  });

  afterAll(async () => {
    await runtime?.close();
  });

  async function prepare() {
    dir = await tempDir();
    await writeParts(join(dir, 'parts'), ROWS);
    await writeFile(join(dir, 'one.csv'), csv(ROWS));
    oneFile.kmeans ??= (await runtime.train({ ...KMEANS, workers: 1, threads: 1, data: { uri: join(dir, 'one.csv'), labelColumn: 'y' } })).result as KmeansResult;
    oneFile.logreg ??= (await runtime.train({ ...LOGREG, workers: 1, threads: 1, data: { uri: join(dir, 'one.csv'), labelColumn: 'y' } })).result as LogregResult;
  }

  it.each(LAYOUTS)('k-means, $workers worker(s) × $threads thread(s): the same init for every W, the same clusters as one file', async ({ workers, threads }) => {
    // Prepare
    await prepare();

    // Act
    const out = await runtime.train({ ...KMEANS, workers, threads, data: { uri: join(dir, 'parts'), labelColumn: 'y' } });

    // Assess: the initial model (round 1's) is bit-identical whatever W and I.
    const init = Array.from(decodeModel((await store.getModel(out.job.jobId, 1))!));
    firstInit ??= init;
    expect(init).toEqual(firstInit);
    expect(out.prepare?.stats.rows).toBe(ROWS.length);
    // The same partition of the rows as one file (up to the clusters' order), centroids to rounding.
    const result = out.result as KmeansResult;
    const reference = oneFile.kmeans!;
    const ours = assignAll(BLOBS, result.centroids.flat(), KMEANS.k);
    const theirs = assignAll(BLOBS, reference.centroids.flat(), KMEANS.k);
    const relabel = new Map<number, number>();
    for (let i = 0; i < BLOBS.rows; i++) {
      if (!relabel.has(ours[i]!)) relabel.set(ours[i]!, theirs[i]!);
      expect(relabel.get(ours[i]!), `row ${i}`).toBe(theirs[i]);
    }
    expect(new Set(relabel.values()).size).toBe(KMEANS.k);
    for (const [c, r] of relabel) {
      expect(result.counts[c]).toBe(reference.counts[r]);
      expect(maxRelativeError(result.centroids[c]!, reference.centroids[r]!, 1e-3)).toBeLessThanOrEqual(1e-9);
    }
  }, 30_000);

  it.each(LAYOUTS)('logistic regression, $workers worker(s) × $threads thread(s): the model of one file', async ({ workers, threads }) => {
    // Prepare
    await prepare();

    // Act
    const out = await runtime.train({ ...LOGREG, workers, threads, data: { uri: join(dir, 'parts'), labelColumn: 'y' } });

    // Assess
    const result = out.result as LogregResult;
    const reference = oneFile.logreg!;
    expect(result.rounds).toBe(reference.rounds);
    expect(maxRelativeError(result.weights, reference.weights, 1e-3)).toBeLessThanOrEqual(1e-9);
    expect(maxRelativeError([result.bias, result.loss], [reference.bias, reference.loss], 1e-3)).toBeLessThanOrEqual(1e-9);
  }, 30_000);

  it.each([1, 3, 8])('a bad field in part 3, %i worker(s): bspml train exits 1 with one line naming part-00003.csv, its line and the column; --out untouched', async (workers) => {
    // Prepare: row 100 of part 3 (line 102 of its file, after the header) has "abc" in column b.
    const home = await tempDir();
    const parts = join(home, 'parts');
    await writeParts(parts, ROWS);
    const text = (await readFile(join(parts, 'part-00003.csv'), 'utf8')).split('\n');
    const cells = text[101]!.split(',');
    cells[1] = 'abc';
    text[101] = cells.join(',');
    await writeFile(join(parts, 'part-00003.csv'), text.join('\n'));
    const out = join(home, 'model.json');
    await writeFile(out, '{"previous":true}\n');

    // Act
    const result = await runBspml(['train', 'kmeans', '--data', parts, '--k', '4', '--workers', String(workers), '--threads', '1', '--no-progress', '--out', out]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^bspml: error: (.*\/)?part-00003\.csv: row 102, field "b": .*abc.*\n$/);
    expect(result.stdout).toBe('');
    expect(await readFile(out, 'utf8')).toBe('{"previous":true}\n');
  }, 30_000);
});
