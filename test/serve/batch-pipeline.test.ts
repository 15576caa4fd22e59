import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import { batchPredict, type PartSink } from '../../src/serve/batch.js';
import { useTempDirs } from '../helpers/cli.js';
import { multinomialModel, randomRows } from '../helpers/served-models.js';

/*
 * Batch predictions format a shard's text while the next shard is loaded and predicted, and write
 * the parts one at a time in shard order (src/serve/batch.ts): here with a formatter and a sink that
 * take their time, so that formatting and writing lag behind predicting.
 */

const tempDir = useTempDirs('bspml-batch-pipeline-');

async function partsDir(): Promise<string> {
  const dir = join(await tempDir(), 'parts');
  await mkdir(dir);
  for (let p = 0; p < 4; p++) {
    const x = randomRows(20, 4, p + 1);
    const lines = Array.from({ length: 20 }, (_, i) => Array.from(x.subarray(i * 4, i * 4 + 4), (v) => v.toFixed(3)).join(','));
    await writeFile(join(dir, `part-${p}.csv`), `f0,f1,f2,f3\n${lines.join('\n')}\n`);
  }
  return `${dir}/`;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('batch predictions, formatting and writing behind predicting', () => {
  it('format a shard while the next is predicted, and write the parts in shard order, one at a time', async () => {
    // Prepare: a slow formatter (later shards faster) and a slow sink that records what overlaps.
    const data = await partsDir();
    const writes: number[] = [];
    const lines: string[] = [];
    let inFlight = 0;
    let most = 0;
    const sink: PartSink = {
      async write(index, _count, body) {
        inFlight++;
        most = Math.max(most, inFlight);
        await pause(5);
        writes.push(index);
        lines.push(...Buffer.from(body).toString().trimEnd().split('\n').slice(1));
        inFlight--;
        return `part-${index}`;
      },
    };
    let formatted = 0;
    let formatting = 0;
    let formatsAtOnce = 0;
    const { rowsText } = await import('../../src/serve/formatPool.js');
    const formatter = {
      async format(slice: Parameters<typeof rowsText>[0]) {
        const chunks = [rowsText(slice)];
        formatting++;
        formatsAtOnce = Math.max(formatsAtOnce, formatting);
        await pause(20 - 5 * formatted++);
        formatting--;
        return chunks;
      },
    };

    // Act
    const result = await batchPredict(multinomialModel(), data, new FileDatasetSource(), sink, { formatter });

    // Assess
    expect(writes).toEqual([0, 1, 2, 3]);
    expect(result.parts).toEqual(['part-0', 'part-1', 'part-2', 'part-3']);
    expect(most).toBe(1);
    // The next shard was predicted and sent to format before this one's text was back.
    expect(formatsAtOnce).toBeGreaterThanOrEqual(2);
    expect(result.rows).toBe(80);
    expect(lines).toHaveLength(80);
    expect(result.formatMs).toBeGreaterThan(0);
  });

  it('fail with the first part that cannot be written, nothing unhandled', async () => {
    // Prepare
    const data = await partsDir();
    const sink: PartSink = {
      async write(index) {
        if (index === 1) throw new Error('part 1: access denied');
        return `part-${index}`;
      },
    };

    // Act
    const run = batchPredict(multinomialModel(), data, new FileDatasetSource(), sink);

    // Assess
    await expect(run).rejects.toThrow('part 1: access denied');
  });
});
