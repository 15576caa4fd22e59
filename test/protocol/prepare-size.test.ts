import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { DatasetLayout } from '../../src/data/layout.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { prepareModel, prepareShard, SAMPLE_BUDGET_BYTES, sampleRowBytes, sampleSizeOf, SAMPLE_ROWS_PER_CENTROID } from '../../src/protocol/prepare.js';
import { parseJobSpec } from '../../src/domain/spec.js';
import type { TrainJobRecord } from '../../src/domain/job.js';
import { blobs } from '../helpers/data.js';

/*
 * A round-0 partial carries its shard's initialisation sample. Held to SAMPLE_BUDGET_BYTES of rows
 * (or SAMPLE_ROWS_PER_CENTROID·k), it stays one DynamoDB item however large the shard, while the
 * merged sample stays the data set's bottom-m exactly, whatever W.
 */

const DIMS = 16;
const CENTERS = Array.from({ length: 5 }, (_, c) => Array.from({ length: DIMS }, (_, j) => ((c * 7 + j * 3) % 11) - 5));
// 20,000 rows: about 7 × the rows the budget holds at 16 dimensions.
const DATA = blobs(CENTERS, 4000, 0.5, 17);

function job(spec: unknown, layout: DatasetLayout, shards: number): TrainJobRecord & { layout: DatasetLayout } {
  const now = Date.now();
  return { jobId: `size-${shards}`, spec: parseJobSpec(spec), status: 'RUNNING', round: 0, shards, fanoutRound: 0, recoveries: 0, roundStartedAt: now, createdAt: now, updatedAt: now, layout };
}

describe('the size of a round-0 partial', () => {
  let container: WorkerContainer;
  const datasets = new MemoryDatasetSource().add('mem://blobs', DATA);
  let layout: DatasetLayout;

  beforeAll(async () => {
    container = new WorkerContainer(1);
    layout = await datasets.describe({ uri: 'mem://blobs' });
  });

  afterAll(async () => {
    await container.close();
  });

  async function prepare(spec: unknown, shards: number) {
    const record = job(spec, layout, shards);
    const partials = [];
    for (let shard = 0; shard < shards; shard++) partials.push(await prepareShard({ datasets }, container, record, { jobId: record.jobId, round: 0, phase: 'prepare', shard, shards }));
    return { record, partials };
  }

  it('is bounded by the sample budget with the default initSample, and the sample is the same for every W', async () => {
    // Prepare
    const spec = { algorithm: 'kmeans', k: 5, data: { uri: 'mem://blobs' }, seed: 9 };
    const expectedRows = Math.floor(SAMPLE_BUDGET_BYTES / sampleRowBytes(DIMS));

    // Act
    const one = await prepare(spec, 1);
    const four = await prepare({ ...spec, workers: 4 }, 4);
    const modelOne = prepareModel(one.record, one.partials);
    const modelFour = prepareModel(four.record, four.partials);

    // Assess
    expect(one.record.spec).toMatchObject({ initSample: 100_000 });
    expect(sampleSizeOf(one.record.spec, DIMS)).toBe(expectedRows);
    for (const { partial, report } of [...one.partials, ...four.partials]) {
      const serialised = partial.byteLength + Buffer.byteLength(JSON.stringify(report));
      expect(report.summary!.sampleRows).toBeLessThanOrEqual(expectedRows);
      // The sample, plus a few KB of JSON (16 columns' statistics, the pieces): one 350 KB item.
      expect(serialised).toBeLessThanOrEqual(SAMPLE_BUDGET_BYTES + 16 * 1024);
    }
    expect(one.partials[0]!.report.summary!.sampleRows).toBe(expectedRows);
    expect(modelOne.stats.sampleRows).toBe(expectedRows);
    expect(modelFour.stats.sampleRows).toBe(expectedRows);
    expect(Array.from(modelFour.model)).toEqual(Array.from(modelOne.model));
  });

  it('keeps SAMPLE_ROWS_PER_CENTROID rows per centroid when k needs more than the budget holds', () => {
    // Prepare
    const spec = parseJobSpec({ algorithm: 'kmeans', k: 1000, data: { uri: 'mem://blobs' } });
    const small = parseJobSpec({ algorithm: 'kmeans', k: 1000, initSample: 5000, data: { uri: 'mem://blobs' } });
    const logreg = parseJobSpec({ algorithm: 'logreg', data: { uri: 'mem://blobs' } });

    // Act
    const rows = sampleSizeOf(spec, DIMS);

    // Assess
    expect(rows).toBe(1000 * SAMPLE_ROWS_PER_CENTROID);
    expect(sampleSizeOf(small, DIMS)).toBe(5000);
    expect(sampleSizeOf(logreg, DIMS)).toBe(0);
  });
});
