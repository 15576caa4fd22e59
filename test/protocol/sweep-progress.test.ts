import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { MAX_RECOVERIES } from '../../src/protocol/constants.js';
import { recoverJob } from '../../src/protocol/recover.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';
import { drive, harness } from '../helpers/protocol.js';

/* Issue 12 defect 9: the recovery sweep fails a round that makes no progress, not a slow one. */

const DATA = blobs([[0, 0], [8, 8], [-8, 8]], 30, 1.5, 4);
const datasets = new MemoryDatasetSource().add('three', DATA);
const SHARDS = MAX_RECOVERIES + 3;
const SPEC = { algorithm: 'kmeans', k: 3, workers: SHARDS, threads: 1, maxRounds: 3, tol: 0, seed: 3, data: { uri: 'three' } } as const;

let container: WorkerContainer;
beforeAll(() => {
  container = new WorkerContainer(1);
});
afterAll(async () => {
  await container?.close();
});

describe('defect 9: the recovery sweep measures progress', () => {
  it(`a slow round whose shards keep arriving (one per sweep, ${SHARDS} sweeps) is never failed and ends with the undisturbed model`, async () => {
    // Prepare
    const reference = harness(new MemoryStore(), datasets);
    await startJob(reference.deps, { jobId: 'slow-reference', spec: SPEC });
    await drive(reference, container);
    const h = harness(new MemoryStore(), datasets);
    await startJob(h.deps, { jobId: 'slow', spec: SPEC });
    const tasks = h.fanout.pending.splice(0);
    const outcomes = [];

    // Act: before each sweep one more shard arrives; the sweep re-publishes the rest (lost again).
    for (const task of tasks) {
      await runWorker(h.deps, container, task);
      outcomes.push(await recoverJob(h.deps, 'slow'));
      h.fanout.pending.length = 0;
    }
    await drive(h, container);

    // Assess
    expect(outcomes.map((o) => o.action)).toEqual([...Array.from({ length: SHARDS - 1 }, () => 'republished'), 'completion-resent']);
    const job = await h.store.getJob('slow');
    expect(job?.status).toBe('SUCCEEDED');
    expect(job?.result).toEqual((await reference.store.getJob('slow-reference'))?.result);
  });

  it(`a round with no new arrival for ${MAX_RECOVERIES} sweeps after some progress is failed, naming the missing shard`, async () => {
    // Prepare: two shards arrive over the first sweeps, then nothing more.
    const h = harness(new MemoryStore(), datasets);
    await startJob(h.deps, { jobId: 'stops', spec: SPEC });
    const tasks = h.fanout.pending.splice(0);
    const outcomes = [];

    // Act
    for (let sweep = 0; sweep < 2 + MAX_RECOVERIES; sweep++) {
      if (sweep < 2) await runWorker(h.deps, container, tasks[sweep]!);
      outcomes.push(await recoverJob(h.deps, 'stops'));
      h.fanout.pending.length = 0;
    }

    // Assess
    expect(outcomes.slice(0, -1).every((o) => o.action === 'republished')).toBe(true);
    expect(outcomes.at(-1)).toEqual({
      action: 'failed',
      reason: `round 0 stalled: shard(s) ${Array.from({ length: SHARDS - 2 }, (_, i) => i + 2).join(', ')} never arrived after ${MAX_RECOVERIES} recovery attempts without progress`,
    });
    expect((await h.store.getJob('stops'))?.status).toBe('FAILED');
  });

  it(`a sweep whose re-send is refused is not counted: ${MAX_RECOVERIES} refused re-sends, then one that goes through, and the job ends with the undisturbed model`, async () => {
    // Prepare: every shard of round 0 arrives, its completion is lost, and the queue then refuses
    // the sweep's re-send MAX_RECOVERIES times (issue 18's fault suite found this: two lost messages,
    // then two refused re-sends, failed a job that was never retried).
    const reference = harness(new MemoryStore(), datasets);
    await startJob(reference.deps, { jobId: 'refused-reference', spec: SPEC });
    await drive(reference, container);
    const h = harness(new MemoryStore(), datasets);
    await startJob(h.deps, { jobId: 'refused', spec: SPEC });
    for (const task of h.fanout.pending.splice(0)) await runWorker(h.deps, container, task);
    h.completion.pending.length = 0;
    h.completion.failures = MAX_RECOVERIES;
    const refused: string[] = [];

    // Act
    for (let sweep = 0; sweep < MAX_RECOVERIES; sweep++) await recoverJob(h.deps, 'refused').catch((error: Error) => refused.push(error.message));
    const last = await recoverJob(h.deps, 'refused');
    await drive(h, container);

    // Assess
    expect(refused).toEqual(Array.from({ length: MAX_RECOVERIES }, () => 'completion queue unavailable'));
    expect(last).toEqual({ action: 'completion-resent' });
    const job = await h.store.getJob('refused');
    expect(job?.status).toBe('SUCCEEDED');
    expect(job?.result).toEqual((await reference.store.getJob('refused-reference'))?.result);
  });
});
