import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { decodeModel, modelToBase64 } from '../../src/protocol/codec.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import type { JobPatch, JobStatus, RoundTask } from '../../src/domain/job.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';
import { drive, harness, runRound, type Harness } from '../helpers/protocol.js';

/*
 * Issue 12 defects 1, 2 (a job must never succeed with a model computed from the wrong model) and
 * 6 (an advance whose reply is lost must still publish the next round).
 */

const DATA = blobs([[0, 0], [8, 8], [-8, 8], [8, -8]], 40, 1.5, 4);
const datasets = new MemoryDatasetSource().add('four', DATA);
const SPEC = { algorithm: 'kmeans', k: 4, workers: 3, threads: 1, maxRounds: 5, tol: 0, seed: 3, data: { uri: 'four' } } as const;

let container: WorkerContainer;
beforeAll(() => {
  container = new WorkerContainer(1);
});
afterAll(async () => {
  await container?.close();
});

let jobs = 0;
const nextId = (label: string) => `${label}-${jobs++}`;

async function clean(): Promise<{ result: unknown; model: Uint8Array }> {
  const h = harness(new MemoryStore(), datasets);
  const jobId = nextId('clean');
  await startJob(h.deps, { jobId, spec: SPEC });
  await drive(h, container);
  const job = await h.store.getJob(jobId);
  expect(job?.status).toBe('SUCCEEDED');
  return { result: job!.result, model: (await h.store.getModel(jobId, job!.round + 1))! };
}

async function expectClean(h: Harness, jobId: string): Promise<void> {
  const job = await h.store.getJob(jobId);
  expect(job?.status).toBe('SUCCEEDED');
  const reference = await clean();
  expect(job!.result).toEqual(reference.result);
  expect(Buffer.from((await h.store.getModel(jobId, job!.round + 1))!).equals(Buffer.from(reference.model))).toBe(true);
}

/** Starts a job and runs its preparation round (round 0): round 1's tasks, with a model, are pending. */
async function startTraining(h: Harness, jobId: string): Promise<void> {
  await startJob(h.deps, { jobId, spec: SPEC });
  await runRound(h, container, jobId, 0);
  expect((await aggregate(h.deps, h.completion.pending.shift()!)).status).toBe('prepared');
}

/** The same model with every coordinate moved by `delta`: the right length, the wrong values. */
function shifted(task: RoundTask, delta: number): string {
  const model = decodeModel(new Uint8Array(Buffer.from(task.model!, 'base64')));
  return modelToBase64(model.map((v) => v + delta));
}

describe('defect 1: a task whose inline model is not the job’s shape', () => {
  it.each([
    ['8 bytes', Buffer.alloc(8).toString('base64')],
    ['one float64 short', ''],
    ['not base64', '!!!not-base64!!!'],
  ])('is rejected (%s): nothing is stored, and the job ends with the undisturbed model', async (_label, model) => {
    // Prepare
    const h = harness(new MemoryStore(), datasets);
    const jobId = nextId('short-model');
    await startTraining(h, jobId);
    const [t0] = h.fanout.of(jobId, 1);
    const forged: RoundTask = { ...t0!, model: model || Buffer.from(t0!.model!, 'base64').subarray(8).toString('base64') };

    // Act
    const outcome = await runWorker(h.deps, container, forged);
    await drive(h, container);

    // Assess
    expect(outcome).toMatchObject({ status: 'rejected' });
    expect(outcome.status === 'rejected' && outcome.reason).toMatch(new RegExp(`shard 0 of round 1 of job ${jobId}: its model (has \\d+ bytes, the job's has 64|is not base64)`));
    await expectClean(h, jobId);
  });
});

describe('defect 2: a task carrying a model other than its round’s', () => {
  it('for the current round, handled before the real task: its partial is discarded and its shard re-run', async () => {
    // Prepare
    const h = harness(new MemoryStore(), datasets);
    const jobId = nextId('forged-now');
    await startTraining(h, jobId);
    const [t0] = h.fanout.of(jobId, 1);

    // Act: the forged task writes shard 0's partial first; the real tasks then fill the barrier.
    const forged = await runWorker(h.deps, container, { ...t0!, model: shifted(t0!, 0.25) });
    await runRound(h, container, jobId, 1);
    const first = await aggregate(h.deps, h.completion.pending.shift()!);
    await drive(h, container);

    // Assess
    expect(forged).toMatchObject({ status: 'done', written: true });
    expect(first).toEqual({ status: 'republished', reason: expect.stringMatching(/round 1: partial\(s\) of shard\(s\) 0 not computed from the round's model/) });
    expect(h.fanout.of(jobId, 1).map((t) => t.shard)).toEqual([0, 1, 2, 0]);
    await expectClean(h, jobId);
  });

  it('for a future round, handled before that round starts, is discarded when that round is aggregated', async () => {
    // Prepare
    const h = harness(new MemoryStore(), datasets);
    const jobId = nextId('forged-future');
    await startTraining(h, jobId);
    const [, t1] = h.fanout.of(jobId, 1);

    // Act
    const forged = await runWorker(h.deps, container, { ...t1!, round: 2, model: shifted(t1!, -1) });
    await drive(h, container);

    // Assess
    expect(forged).toMatchObject({ status: 'done', written: true });
    expect(h.fanout.of(jobId, 2).map((t) => t.shard)).toEqual([0, 1, 2, 1]);
    await expectClean(h, jobId);
  });

  it('a missing partial at aggregation (a discarded stray whose re-run was lost) re-runs that shard', async () => {
    // Prepare: the preparation round's barrier is full; shard 2's summary is gone.
    const h = harness(new MemoryStore(), datasets);
    const jobId = nextId('missing-partial');
    await startJob(h.deps, { jobId, spec: SPEC });
    await runRound(h, container, jobId, 0);
    await h.store.discardPartial(jobId, 0, 2);

    // Act
    const outcome = await aggregate(h.deps, h.completion.pending.shift()!);
    await drive(h, container);

    // Assess
    expect(outcome).toEqual({ status: 'republished', reason: 'round 0: partial of shard 2 missing, shard re-published' });
    await expectClean(h, jobId);
  });
});

/** A store whose next conditional job write of the chosen kind lands, but whose reply is lost: the client retries and the retry's condition fails. */
class LostReplyStore extends MemoryStore {
  constructor(private readonly which: (patch: JobPatch) => boolean) {
    super();
  }
  lost = 0;
  override async updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
    const landed = await super.updateJob(jobId, expect, patch);
    if (!landed || this.lost > 0 || !this.which(patch)) return landed;
    this.lost++;
    return super.updateJob(jobId, expect, patch);
  }
}

describe('defect 6: a round advance whose reply is lost', () => {
  it('re-reads the job and publishes the next round', async () => {
    // Prepare
    const store = new LostReplyStore((patch) => patch.round !== undefined);
    const h = harness(store as StateStore, datasets);
    const jobId = nextId('lost-advance');
    await startJob(h.deps, { jobId, spec: SPEC });
    await runRound(h, container, jobId, 0);

    // Act: the advance out of the preparation round (the first advance) loses its reply.
    const outcome = await aggregate(h.deps, h.completion.pending.shift()!);

    // Assess
    expect(store.lost).toBe(1);
    expect(outcome.status).toBe('prepared');
    expect(h.fanout.of(jobId, 1).map((t) => t.shard)).toEqual([0, 1, 2]);
    expect((await store.getJob(jobId))?.fanoutRound).toBe(1);
    await drive(h, container);
    await expectClean(h, jobId);
  });

  it('a finish whose reply is lost is reported finished', async () => {
    // Prepare
    const store = new LostReplyStore((patch) => patch.status === 'SUCCEEDED');
    const h = harness(store as StateStore, datasets);
    const jobId = nextId('lost-finish');
    await startJob(h.deps, { jobId, spec: SPEC });

    // Act
    const outcomes = await drive(h, container);

    // Assess
    expect(store.lost).toBe(1);
    expect(outcomes.at(-1)?.status).toBe('finished');
    await expectClean(h, jobId);
  });
});
