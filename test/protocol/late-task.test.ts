import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { separable } from '../helpers/data.js';
import { drive, harness } from '../helpers/protocol.js';

/*
 * Issue 20 defect 12: a task delivered after its round was cleared (SNS delivers at least once; a
 * late duplicate) recomputed and re-created that round's partial and barrier, which nothing removes
 * later. A worker now reads the job before computing, and drops a task whose round is over.
 */

const DATA = separable(40, 2, 7);
const SPEC = { algorithm: 'logreg', solver: 'gd', workers: 2, threads: 1, maxRounds: 4, tol: 0, seed: 1, data: { uri: 'late' } } as const;

describe('issue 20 defect 12: a task for a round that was cleared', () => {
  const container = new WorkerContainer(1);
  afterAll(() => container.close());

  it.each([
    ['a training round the job has left and cleared', 1, 'RUNNING'],
    ['the preparation round, after the job ended', 0, 'SUCCEEDED'],
    ['the last round, after the job ended', 4, 'SUCCEEDED'],
  ] as const)('%s: rejected, nothing re-created', async (_what, round, stopAt) => {
    // Prepare: the job run up to round 3 (rounds before 2 cleared), or to its end; the task as it was published.
    const store = new MemoryStore();
    const h = harness(store, new MemoryDatasetSource().add('late', DATA));
    await startJob(h.deps, { jobId: `late-${round}`, spec: SPEC });
    if (stopAt === 'RUNNING') {
      while ((await store.getJob(`late-${round}`))!.round < 3) {
        const next = h.fanout.pending.length > 0 ? h.fanout.pending.shift()! : undefined;
        if (next) await runWorker(h.deps, container, next);
        else await aggregate(h.deps, h.completion.pending.shift()!);
      }
    } else await drive(h, container);
    const job = (await store.getJob(`late-${round}`))!;
    expect(job.status).toBe(stopAt);
    const late = h.fanout.published.find((t) => t.round === round && t.shard === 0)!;
    const shard0Gone = new RegExp(`partial of shard 0 for round ${round} is missing`);
    await expect(store.getPartials(job.jobId, round, 2)).rejects.toThrow(shard0Gone);

    // Act
    const outcome = await runWorker(h.deps, container, JSON.parse(JSON.stringify(late)));

    // Assess
    expect(outcome).toMatchObject({ status: 'rejected', reason: expect.stringMatching(new RegExp(`task for round ${round} of job ${job.jobId}, which is ${stopAt} at round ${job.round}: that round is over`)) });
    await expect(store.getPartials(job.jobId, round, 2)).rejects.toThrow(shard0Gone);
    expect(await store.arrivals(job.jobId, round, 2)).toEqual([]);
  });
});
