import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { SpecError } from '../../src/errors.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { DEFAULT_DEPLOYMENT, estimateCost } from '../../src/costs/estimate.js';
import { DEFAULT_MAX_WORKER_ROUNDS, startCostUsd } from '../../src/protocol/costGuard.js';
import { startJob } from '../../src/protocol/startJob.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';
import { drive, harness } from '../helpers/protocol.js';

/* Issue 12 defect 11: a stack-wide cap on worker invocations and a per-spec maxCostUsd, enforced as the job runs. */

const DATA = blobs([[0, 0], [8, 8], [-8, 8], [8, -8]], 250, 1.5, 4); // 1,000 rows
const datasets = new MemoryDatasetSource().add('thousand', DATA);
const SPEC = { algorithm: 'kmeans', k: 4, workers: 3, threads: 1, maxRounds: 6, tol: 0, seed: 3, data: { uri: 'thousand' } } as const;

let container: WorkerContainer;
beforeAll(() => {
  container = new WorkerContainer(1);
});
afterAll(async () => {
  await container?.close();
});

let ids = 0;
const id = (label: string) => `${label}-${ids++}`;

describe('defect 11: the cost guard', () => {
  it(`refuses 1,000 workers × 100,000 rounds at start (default cap ${DEFAULT_MAX_WORKER_ROUNDS.toLocaleString('en-US')}): FAILED with the reason, nothing published`, async () => {
    // Prepare
    const h = harness(new MemoryStore(), datasets);
    const jobId = id('huge');

    // Act
    const error = await startJob(h.deps, { jobId, spec: { ...SPEC, workers: 1000, maxRounds: 100_000 } }).catch((e: unknown) => e);

    // Assess
    const reason = `workers × (maxRounds + 1 preparation round) = 1000 × 100001 = 100,001,000 worker invocations, above this deployment's cap of 100,000 (BSPML_MAX_WORKER_ROUNDS)`;
    expect(error).toBeInstanceOf(SpecError);
    expect(error).toMatchObject({ field: 'maxRounds', message: reason });
    expect(await h.store.getJob(jobId)).toMatchObject({ status: 'FAILED', error: reason });
    expect(h.fanout.published).toEqual([]);
  });

  it('a cap lowered while the job runs stops it before the round that would pass it', async () => {
    // Prepare: started under a cap of 100; the aggregator then runs under a cap of 7.
    const h = harness(new MemoryStore(), datasets);
    const jobId = id('lowered');
    await startJob({ ...h.deps, limits: { maxWorkerRounds: 100 } }, { jobId, spec: SPEC });
    h.deps.limits = { maxWorkerRounds: 7 };

    // Act
    await drive(h, container);

    // Assess: rounds 0 and 1 ran (6 invocations); a third round would make 9 > 7.
    const job = await h.store.getJob(jobId);
    expect(job).toMatchObject({
      status: 'FAILED',
      round: 1,
      error: "stopped after round 1: 6 worker invocations so far, and another round would pass this deployment's cap of 7 (BSPML_MAX_WORKER_ROUNDS)",
    });
    expect(h.fanout.of(jobId, 2)).toEqual([]);
    expect(await h.store.listRoundMetrics(jobId)).toHaveLength(2);
  });

  it('maxCostUsd: a job whose next round would pass it is FAILED with the estimate, and publishes no more rounds', async () => {
    // Prepare
    const h = harness(new MemoryStore(), datasets);
    const jobId = id('budget');

    // Act: enough to start, not enough for a round after the preparation round.
    const maxCostUsd = startCostUsd() + 1e-9;
    await startJob(h.deps, { jobId, spec: { ...SPEC, maxCostUsd } });
    await drive(h, container);

    // Assess
    const job = await h.store.getJob(jobId);
    expect(job?.status).toBe('FAILED');
    expect(job?.round).toBe(0);
    expect(job?.error).toMatch(/^stopped after round 0: estimated cost so far \$0\.0000\d{3}, about \$0\.0000\d{3} a round; another round would pass maxCostUsd \$0\.00000\d{3}$/);
    expect(job?.costUsd).toBeGreaterThan(0);
    expect(h.fanout.of(jobId, 1)).toEqual([]);
  });

  it('a generous maxCostUsd changes nothing but records the running estimate', async () => {
    // Prepare
    const plain = harness(new MemoryStore(), datasets);
    const capped = harness(new MemoryStore(), datasets);
    const [a, b] = [id('plain'), id('generous')];

    // Act
    await startJob(plain.deps, { jobId: a, spec: SPEC });
    await drive(plain, container);
    await startJob(capped.deps, { jobId: b, spec: { ...SPEC, maxCostUsd: 5 } });
    await drive(capped, container);

    // Assess
    const [jobA, jobB] = [await plain.store.getJob(a), await capped.store.getJob(b)];
    expect(jobB?.status).toBe('SUCCEEDED');
    expect(jobB?.result).toEqual(jobA?.result);
    expect(jobB?.costUsd).toBeGreaterThan(0);
    expect(jobB?.costUsd).toBeLessThan(5);
  });

  it('refuses at start a maxCostUsd below what starting the job costs: FAILED naming the field, nothing published', async () => {
    // Prepare
    const h = harness(new MemoryStore(), datasets);
    const jobId = id('too-small');

    // Act
    const error = await startJob(h.deps, { jobId, spec: { ...SPEC, maxCostUsd: 1e-9 } }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SpecError);
    expect(error).toMatchObject({ field: 'maxCostUsd' });
    expect((error as Error).message).toMatch(/^maxCostUsd \$1\.00e-9 is below the estimated cost of starting the job, \$0\.00000\d{3}$/);
    expect(await h.store.getJob(jobId)).toMatchObject({ status: 'FAILED' });
    expect(h.fanout.published).toEqual([]);
  });

  it('prices the running estimate on the data plane the spec names (Redis here), not always DynamoDB', async () => {
    // Prepare
    const h = harness(new MemoryStore(), datasets);
    const jobId = id('redis');

    // Act
    await startJob(h.deps, { jobId, spec: { ...SPEC, backend: 'redis', maxCostUsd: 5 } });
    await drive(h, container);

    // Assess: the stored estimate is the Redis one for the rounds that ran, at x86_64's GB-second
    // (the higher price: the guard stops early rather than late on either architecture).
    const job = await h.store.getJob(jobId);
    const rounds = await h.store.listRoundMetrics(jobId);
    expect(job?.status).toBe('SUCCEEDED');
    const guarded = { ...DEFAULT_DEPLOYMENT, architecture: 'x86_64' } as const;
    const redis = estimateCost({ status: 'RUNNING' }, rounds, guarded, 'redis').total;
    const dynamodb = estimateCost({ status: 'RUNNING' }, rounds, guarded, 'dynamodb').total;
    const arm = estimateCost({ status: 'RUNNING' }, rounds, DEFAULT_DEPLOYMENT, 'redis').total;
    expect(redis).not.toBeCloseTo(dynamodb, 9);
    expect(arm).toBeLessThan(redis);
    expect(job?.costUsd).toBeCloseTo(redis, 12);
  });
});
