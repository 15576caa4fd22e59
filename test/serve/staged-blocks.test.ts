import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import { openParsePool } from '../../src/runtime/parsePool.js';
import { batchPredict, type PartSink, type StagedParser } from '../../src/serve/batch.js';
import { directorySink } from '../../src/serve/partSink.js';
import { useTempDirs } from '../helpers/cli.js';
import { kmeansModel, multinomialModel, randomRows } from '../helpers/served-models.js';

/*
 * Batch predictions whose CSV blocks are parsed, predicted and written as text in the parsing
 * threads (src/inner/predictStage.ts, data/dataset.ts stageShard): the parts are byte for byte those
 * of the shards loaded whole and predicted here, over many small blocks, columns in another order
 * than the model's, an id and a label column read past, and a gzip part; a bad value is refused
 * with the same one line as the load gives.
 */

const tempDir = useTempDirs('bspml-staged-');
let pool: ReturnType<typeof openParsePool>;

beforeAll(() => {
  pool = openParsePool(2);
});

afterAll(async () => {
  await pool.close();
});

/** The pool's staged parser with blocks of `blockBytes` (a few lines each), so that a shard spans many. */
function smallBlocks(blockBytes: number) {
  let closed = 0;
  const stage = (...args: Parameters<typeof pool.staged>): StagedParser => {
    const parser = pool.staged(...args);
    return {
      concurrency: parser.concurrency,
      blockBytes,
      parseCsvBlock: (request) => parser.parseCsvBlock(request),
      close: () => {
        closed++;
        parser.close();
      },
    };
  };
  return { stage, closed: () => closed };
}

/** Parts of `rows` rows each: id, f3, f1, label, f0, f2 (the model's features are f0..f3); part 2 gzip-compressed. */
async function partsDir(rows: number[], bad?: { part: number; row: number }): Promise<string> {
  const dir = join(await tempDir(), 'parts');
  await mkdir(dir);
  let id = 0;
  for (const [p, n] of rows.entries()) {
    const x = randomRows(n, 4, p + 3);
    const lines = Array.from({ length: n }, (_, i) => {
      const v = (j: number) => String(Math.fround(x[i * 4 + j]! * 7.3));
      const f1 = bad && bad.part === p && bad.row === i ? '1.5x' : v(1);
      return `r${id++},${v(3)},${f1},${['a', 'b', 'c'][i % 3]},${v(0)},${v(2)}`;
    });
    const text = `id,f3,f1,label,f0,f2\n${lines.join('\n')}\n`;
    if (p === 2) await writeFile(join(dir, `part-${p}.csv.gz`), gzipSync(text));
    else await writeFile(join(dir, `part-${p}.csv`), text);
  }
  return `${dir}/`;
}

function memorySink(): PartSink & { parts: Map<number, string> } {
  const parts = new Map<number, string>();
  return {
    parts,
    async write(index, _count, body) {
      parts.set(index, Buffer.from(body).toString());
      return `part-${index}`;
    },
  };
}

describe('batch predictions parsed, predicted and formatted in the parsing threads', () => {
  it.each([
    ['multinomial', multinomialModel(4, ['setosa', 'versicolor', 'virginica'])],
    ['k-means', { ...kmeansModel(4, 3), featureNames: ['f0', 'f1', 'f2', 'f3'] }],
  ])('write the parts byte for byte as shards loaded whole and predicted here (%s)', async (_kind, model) => {
    // Prepare: 4 parts (one gzip), 5 shards, blocks of about 4 lines.
    const data = await partsDir([300, 41, 120, 257]);
    const staged = memorySink();
    const whole = memorySink();
    const blocks = smallBlocks(256);

    // Act
    const result = await batchPredict(model, data, new FileDatasetSource(), staged, { shards: 5, parser: pool.parser, stage: blocks.stage });
    const reference = await batchPredict(model, data, new FileDatasetSource(), whole, { shards: 5, parser: pool.parser });

    // Assess
    expect(result.staged).toBe(5);
    expect(reference.staged).toBe(0);
    expect(result.rows).toBe(718);
    expect(reference.rows).toBe(718);
    expect([...staged.parts.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    for (let s = 0; s < 5; s++) expect(staged.parts.get(s)).toBe(whole.parts.get(s));
    expect([...staged.parts.values()].join('').split('\n').filter((l) => l !== '' && !/^(prediction|cluster),/.test(l))).toHaveLength(718);
    // The threads let go of the model once the job is done.
    expect(blocks.closed()).toBe(1);
  });

  it('write a part file from its blocks as they came, equal to the part joined in memory', async () => {
    // Prepare
    const data = await partsDir([120, 80]);
    const out = join(await tempDir(), 'out/');
    const joined = memorySink();
    const model = multinomialModel();

    // Act: the directory sink writes each part's blocks one after another (writeChunks).
    const files = await batchPredict(model, data, new FileDatasetSource(), directorySink(out), { shards: 3, parser: pool.parser, stage: smallBlocks(300).stage });
    await batchPredict(model, data, new FileDatasetSource(), joined, { shards: 3, parser: pool.parser, stage: smallBlocks(300).stage });

    // Assess
    expect(files.parts).toEqual([0, 1, 2].map((s) => join(out, `part-0000${s}.csv`)));
    for (const [s, file] of files.parts.entries()) expect(await readFile(file, 'utf8')).toBe(joined.parts.get(s));
  });

  it('refuse a bad value with the line the load gives: file, row and column', async () => {
    // Prepare: part 1's row 30 (line 32 of the file) holds "1.5x" in column f1.
    const data = await partsDir([50, 60], { part: 1, row: 30 });
    const model = multinomialModel();
    const blocks = smallBlocks(200);

    const refusal = (run: Promise<unknown>) =>
      run.then(
        () => 'no error',
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );

    // Act: one shard, whose pieces start at their parts' first line (so the refusal names a row).
    const staged = await refusal(batchPredict(model, data, new FileDatasetSource(), memorySink(), { shards: 1, parser: pool.parser, stage: blocks.stage }));
    const loaded = await refusal(batchPredict(model, data, new FileDatasetSource(), memorySink(), { shards: 1, parser: pool.parser }));

    // Assess
    expect(staged).toMatch(/part-1\.csv.*row 32.*f1.*1\.5x.*not a number/);
    expect(staged).toBe(loaded);
    expect(blocks.closed()).toBe(1);
  });
});
