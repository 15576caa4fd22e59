import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCompletion, parseRoundTask } from '../../src/aws/messages.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { SpecError } from '../../src/errors.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import type { RoundTask } from '../../src/domain/job.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';
import { drive, harness } from '../helpers/protocol.js';

/*
 * Issue 12 defects 8 (a malformed task must be dropped at the edge and never fail the job it names)
 * and 13 (job ids are checked before anything is stored).
 */

const DATA = blobs([[0, 0], [8, 8], [-8, 8]], 30, 1.5, 4);
const datasets = new MemoryDatasetSource().add('three', DATA);
const SPEC = { algorithm: 'kmeans', k: 3, workers: 3, threads: 1, maxRounds: 3, tol: 0, seed: 3, data: { uri: 'three' } } as const;
const GOOD: RoundTask = { jobId: 'job-1', round: 0, shard: 1, shards: 3, model: Buffer.alloc(48).toString('base64') };

let container: WorkerContainer;
beforeAll(() => {
  container = new WorkerContainer(1);
});
afterAll(async () => {
  await container?.close();
});

describe('defect 8: task messages are checked by schema at the edge', () => {
  it('accepts a well-formed task', () => {
    expect(parseRoundTask(JSON.stringify(GOOD))).toEqual(GOOD);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['shard = shards', { shard: 3 }, /shard must be below shards/],
    ['shard > shards', { shard: 7 }, /shard must be below shards/],
    ['shard −1', { shard: -1 }, /shard/],
    ['shard 1.5', { shard: 1.5 }, /shard/],
    ['round −1', { round: -1 }, /round/],
    ['round 0.5', { round: 0.5 }, /round/],
    ['shards 0', { shards: 0, shard: 0 }, /shards/],
    ['shards as a string', { shards: '3' }, /shards/],
    ['model not base64', { model: '%%%' }, /model is not base64/],
    ['model not whole float64s', { model: Buffer.alloc(12).toString('base64') }, /whole number of float64/],
    ['empty job id', { jobId: '' }, /jobId/],
    ['a 2,000-character job id', { jobId: 'j'.repeat(2000) }, /at most 100 characters/],
    ['a job id with a slash', { jobId: 'a/b' }, /letters, digits/],
  ])('refuses %s', (_label, change, message) => {
    expect(() => parseRoundTask(JSON.stringify({ ...GOOD, ...change }))).toThrow(message);
  });

  it('refuses completions with a bad job id or round', () => {
    expect(parseCompletion(JSON.stringify({ jobId: 'job-1', round: 4 }))).toEqual({ jobId: 'job-1', round: 4 });
    expect(() => parseCompletion(JSON.stringify({ jobId: '', round: 4 }))).toThrow(/jobId/);
    expect(() => parseCompletion(JSON.stringify({ jobId: 'job-1', round: -1 }))).toThrow(/round/);
  });
});

describe('defect 8: a task that passes the schema but does not fit its job', () => {
  it.each<[string, Partial<RoundTask>, RegExp]>([
    ['shard-count mismatch', { shards: 4, shard: 3 }, /shard 3 of 4 does not fit job poison-\d+, which has 3 shards/],
    ['shard beyond the job', { shards: 3, shard: 5 }, /shard 5 does not fit job poison-\d+, whose shards are 0 to 2/],
    ['round −1', { round: -1 }, /round -1 of job poison-\d+/],
    ['no such job', { jobId: 'nobody' }, /job nobody, which does not exist/],
    ['a far future round, model not inline', { round: 999, model: undefined, phase: undefined }, /task for training round 999 of job poison-\d+, which has not finished its preparation round/],
  ])('is rejected without a store write and the job still ends with the undisturbed model (%s)', async (_label, change, reason) => {
    // Prepare
    const clean = harness(new MemoryStore(), datasets);
    const reference = `reference-${Math.floor(Math.random() * 1e9)}`;
    await startJob(clean.deps, { jobId: reference, spec: SPEC });
    await drive(clean, container);
    const h = harness(new MemoryStore(), datasets);
    const jobId = `poison-${Math.floor(Math.random() * 1e9)}`;
    await startJob(h.deps, { jobId, spec: SPEC });
    const [t0] = h.fanout.of(jobId, 0);

    // Act
    const outcome = await runWorker(h.deps, container, { ...t0!, ...change });
    const arrivals = await h.store.arrivals(jobId, 0, 3);
    await drive(h, container);

    // Assess
    expect(outcome).toEqual({ status: 'rejected', reason: expect.stringMatching(reason) });
    expect(arrivals).toEqual([]);
    const job = await h.store.getJob(jobId);
    expect(job?.status).toBe('SUCCEEDED');
    expect(job?.result).toEqual((await clean.store.getJob(reference))?.result);
  });
});

describe('defect 13: job ids are checked before the job is stored', () => {
  it.each([
    ['', /job id "": a job id must not be empty/],
    ['x'.repeat(2000), /job id "x{40}…" \(2000 characters\): a job id has at most 100 characters/],
    ['a/b', /job id "a\/b": a job id is letters, digits/],
    ['-leading-dash', /starting with a letter or digit/],
    ['space in it', /letters, digits/],
  ])('refuses %j with a SpecError naming jobId, storing nothing', async (jobId, message) => {
    // Prepare
    const h = harness(new MemoryStore(), datasets);

    // Act
    const error = await startJob(h.deps, { jobId, spec: SPEC }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SpecError);
    expect(error).toMatchObject({ field: 'jobId', message: expect.stringMatching(message) });
    expect(await h.store.getJob(jobId)).toBeUndefined();
    expect(h.fanout.published).toEqual([]);
  });

  it('accepts the ids the system makes (a data set name, time stamp and suffix) up to 100 characters', async () => {
    const h = harness(new MemoryStore(), datasets);
    const ids = ['blobs-20261122T210713Z-a1b2c3', 'a'.repeat(100), 'v1.2_data-set'];
    for (const jobId of ids) await startJob(h.deps, { jobId, spec: SPEC });
    for (const jobId of ids) expect((await h.store.getJob(jobId))?.status).toBe('RUNNING');
  });
});
