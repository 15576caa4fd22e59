import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import type { ProtocolDeps } from '../../src/protocol/deps.js';
import { runLingering } from '../../src/protocol/linger.js';
import { LINGER_POLL_FIRST_MS, LINGER_POLL_MAX_MS, lingerBudget, MAX_DEFAULT_LINGER_MS, pollPauseMs } from '../../src/protocol/lingerBudget.js';
import { startJob } from '../../src/protocol/startJob.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';
import { drive, harness } from '../helpers/protocol.js';

/*
 * The lingering worker's races, each forced in one order (the fault suite, test/faults/linger-faults.test.ts,
 * interleaves them at random): a release that loses to the hand-over, a claim that comes after it.
 */

const datasets = new MemoryDatasetSource().add('blobs', blobs([[0, 0], [8, 8], [-8, 8]], 20, 1.5, 4));
const SPEC = { algorithm: 'kmeans', k: 3, workers: 2, threads: 1, maxRounds: 2, tol: 0, seed: 3, data: { uri: 'blobs' } } as const;
const container = new WorkerContainer(1);
afterAll(() => container.close());

/** The event-driven model of SPEC, the reference. */
async function reference(): Promise<unknown> {
  const h = harness(new MemoryStore(), datasets);
  await startJob(h.deps, { jobId: 'ref', spec: SPEC });
  await drive(h, container);
  return (await h.store.getJob('ref'))!.result;
}

describe('lingering worker races', () => {
  it('a release that lands after the hand-over: the aggregator counted on the worker, which computes the round', async () => {
    // Prepare: the aggregator's clock is a whole second behind the workers' (hosts differ), so at
    // the hand-over it still counts claims whose workers are already releasing them. A release
    // waits for the round's completion (or its hand-over) and lets it be aggregated first: it always loses.
    const store = new MemoryStore();
    const h = harness(store, datasets);
    let time = 1_000_000;
    const late: StateStore = Object.assign(Object.create(store) as StateStore, {
      release: async (...args: Parameters<StateStore['release']>) => {
        const [jobId, round, shard, shards] = args;
        for (let i = 0; i < 10_000 && h.completion.pending.length === 0 && (await store.handedOver(jobId, round, shard, shards)).signal === 'waiting'; i++) {
          await new Promise((resolve) => setImmediate(resolve));
        }
        for (const message of h.completion.pending.splice(0)) await aggregate({ ...h.deps, now: () => time - 1000 }, message);
        return store.release(...args);
      },
    });
    const deps = { ...h.deps, store: late, now: () => time, sleep: async (ms: number) => void (time += ms) };
    await startJob(deps, { jobId: 'race', spec: { ...SPEC, sync: 'linger', lingerMs: 100 } });

    // Act: both workers of round 0, at once; each waits out its budget and releases.
    const runs = await Promise.all(h.fanout.pending.splice(0).map((task) => runLingering(deps, container, task, { memoryMb: 1024 })));

    // Assess: every release was told 'handed' and computed the round; nothing was published after round 0.
    const job = await store.getJob('race');
    expect(job).toMatchObject({ status: 'SUCCEEDED' });
    expect(job!.result).toEqual(await reference());
    expect(h.fanout.published.filter((t) => t.round > 0)).toEqual([]);
    expect(runs.reduce((n, r) => n + r.handed, 0)).toBe(SPEC.workers * job!.round);
    expect(runs.reduce((n, r) => n + r.released, 0)).toBe(0);
    expect(runs.reduce((n, r) => n + r.claims, 0)).toBe(SPEC.workers * (job!.round + 1));
  });

  it('a claim that comes after the hand-over computes at once; the published task is a harmless duplicate', async () => {
    // Prepare: round 0 of shard 0 finishes first; shard 1's worker is slow and arrives last, so
    // its completion is aggregated (round 1 handed over) before it claims.
    const store = new MemoryStore();
    const h = harness(store, datasets);
    let time = 1_000_000;
    const slow: StateStore = Object.assign(Object.create(store) as StateStore, {
      claim: async (...args: Parameters<StateStore['claim']>) => {
        if (args[2] === 1) for (const message of h.completion.pending.splice(0)) await aggregate(h.deps, message);
        return store.claim(...args);
      },
    });
    const deps = { ...h.deps, store: slow, now: () => time, sleep: async (ms: number) => void (time += ms) };
    await startJob(deps, { jobId: 'late-claim', spec: { ...SPEC, sync: 'linger', lingerMs: 50 } });
    const [first, second] = h.fanout.pending.splice(0);

    // Act
    const run0 = runLingering(deps, container, first!, { memoryMb: 1024 });
    const run1 = await runLingering(deps, container, second!, { memoryMb: 1024 });
    await run0;
    await drive({ ...h, deps }, container);

    // Assess
    expect(run1.handed).toBeGreaterThan(0);
    const job = await store.getJob('late-claim');
    expect(job).toMatchObject({ status: 'SUCCEEDED' });
    expect(job!.result).toEqual(await reference());
  });
});

describe('lingering with the priced budget', () => {
  /** Runs every pending task (lingering, one after the other), then every pending completion, until none is left. */
  async function runAll(h: ReturnType<typeof harness>, deps: ProtocolDeps, own: WorkerContainer) {
    const claimsByRound: number[] = [];
    for (let guard = 0; guard < 100 && (h.fanout.pending.length || h.completion.pending.length); guard++) {
      for (const task of h.fanout.pending.splice(0)) {
        const run = await runLingering(deps, own, task, { memoryMb: 1024 });
        claimsByRound[task.round] = (claimsByRound[task.round] ?? 0) + run.claims;
      }
      for (const message of h.completion.pending.splice(0)) await aggregate(deps, message);
    }
    return claimsByRound;
  }

  it('an environment whose wait after a training round ended in a release stops lingering for the job; an explicit --linger-ms never does', async () => {
    // Prepare: completions are handled only after every worker of the round has returned, so every
    // wait outlasts its budget (on a clock that moves only while workers wait).
    const spec = { ...SPEC, maxRounds: 4 };
    const own = new WorkerContainer(1);
    const runs: Record<string, number[]> = {};
    try {
      for (const [name, extra] of [['priced', {}], ['explicit', { lingerMs: 40 }]] as const) {
        const h = harness(new MemoryStore(), datasets);
        let time = 1_000_000;
        const deps = { ...h.deps, now: () => time, sleep: async (ms: number) => void (time += ms) };
        await startJob(deps, { jobId: name, spec: { ...spec, sync: 'linger', ...extra } });

        // Act
        runs[name] = await runAll(h, deps, own);
        expect(await h.store.getJob(name)).toMatchObject({ status: 'SUCCEEDED' });
      }
    } finally {
      await own.close();
    }

    // Assess: priced, both workers wait after round 0 (its wait is not held against lingering), the
    // first after round 1 (and releases), then none; explicit, both wait after every round.
    const rounds = runs.explicit!.length;
    expect(rounds).toBeGreaterThanOrEqual(3);
    expect(runs.priced).toEqual([2, 1, ...Array(rounds - 2).fill(0)]);
    expect(runs.explicit).toEqual(Array(rounds).fill(2));
  });
});

describe('the default linger budget', () => {
  it('prices waiting against leaving, the others\' wait for a reload included: longer for a slower load and more shards, about the same at any memory', () => {
    // Prepare: a k-means-sized shard (a 50 ms load), W = 100.
    const base = { memoryMb: 1769, loadMs: 50, shards: 100, backend: 'dynamodb' };
    const gb = 1769 / 1024;
    const waitUsdPerSecond = gb * 0.0000166667 + 20 * 0.125e-6;

    // Act
    const budget = lingerBudget(base);
    const single = lingerBudget({ ...base, shards: 1 });

    // Assess: a new invocation reloads the shard 99 % of the time (≈ 0.99 × 50 ms, billed), and the
    // 99 others wait that reload at the next barrier, billed with their polls: ≈ 99 × 49.5 ms ≈ 4.9 s,
    // plus the leaver's own reload, request and publish over its waiting price.
    expect(budget.leaveUsd).toBeCloseTo(0.2e-6 + 0.5e-6 + 0.0495 * gb * 0.0000166667 + 99 * 0.0495 * waitUsdPerSecond, 12);
    expect(budget.ms).toBeGreaterThan(4900);
    expect(budget.ms).toBeLessThan(5050);
    // One shard: the next invocation finds its environment and no one waits for it; only the request and publish are saved.
    expect(single.ms).toBeLessThan(30);
    expect(lingerBudget({ ...base, loadMs: 100 }).ms).toBeGreaterThan(budget.ms);
    expect(lingerBudget({ ...base, shards: 300 }).ms).toBeGreaterThan(2.5 * budget.ms);
    // A slow load with many shards reaches the cap.
    expect(lingerBudget({ ...base, loadMs: 8000 }).ms).toBe(MAX_DEFAULT_LINGER_MS);
    // Memory prices both sides alike (a reload is billed at the same GB): only the polls' share moves.
    expect(Math.abs(lingerBudget({ ...base, memoryMb: 3538 }).ms - budget.ms)).toBeLessThan(0.1 * budget.ms);
    expect(lingerBudget({ ...base, backend: 'redis' }).ms).toBeGreaterThan(budget.ms);
  });

  it('prices the polls of a shorter pause: more reads per second on DynamoDB, nothing on Redis', () => {
    // Prepare
    const base = { memoryMb: 1769, loadMs: 50, shards: 100 };

    // Act
    const dynamo = lingerBudget({ ...base, backend: 'dynamodb' });
    const dynamoShort = lingerBudget({ ...base, backend: 'dynamodb', pollMaxMs: 5 });
    const redis = lingerBudget({ ...base, backend: 'redis' });
    const redisShort = lingerBudget({ ...base, backend: 'redis', pollMaxMs: 5 });

    // Assess: 200 reads/s instead of 20 on DynamoDB; Redis polls cost nothing.
    expect(dynamoShort.waitUsdPerSecond - dynamo.waitUsdPerSecond).toBeCloseTo(180 * 0.125e-6, 12);
    expect(dynamoShort.ms).toBeLessThan(dynamo.ms);
    expect(redisShort).toEqual(redis);
  });

  it('polls at the pause where a poll\'s price meets the round\'s wait for a late sighting: shorter for larger workers and shorter windows, the shortest where polls are not billed', () => {
    // Act
    const small = pollPauseMs({ memoryMb: 1769, backend: 'dynamodb', windowMs: 40 });
    const large = pollPauseMs({ memoryMb: 10_240, backend: 'dynamodb', windowMs: 40 });
    const shortWindow = pollPauseMs({ memoryMb: 1769, backend: 'dynamodb', windowMs: 10 });
    const longWindow = pollPauseMs({ memoryMb: 1769, backend: 'dynamodb', windowMs: 10_000 });
    const redis = pollPauseMs({ memoryMb: 1769, backend: 'redis', windowMs: 40 });

    // Assess: √(40 ms × $0.125e-6 / (1.727 GB × $16.6667e-6 per GB-s / 1000)) ≈ 13 ms; at 10,240 MB ≈ 5 ms.
    expect(small).toBe(13);
    expect(large).toBe(5);
    expect(shortWindow).toBeLessThan(small);
    expect(longWindow).toBe(LINGER_POLL_MAX_MS);
    expect(redis).toBe(LINGER_POLL_FIRST_MS);
  });
});
