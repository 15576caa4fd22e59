import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { RoundTask } from '../../src/domain/job.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { runLingering } from '../../src/protocol/linger.js';
import { startJob } from '../../src/protocol/startJob.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs, separable } from '../helpers/data.js';
import { drive, harness, type Harness } from '../helpers/protocol.js';

/*
 * Inline aggregation of lingering jobs: the arrival that fills the barrier aggregates in its own
 * invocation (as the paper's barrier-wait workers do) instead of sending the completion to the
 * aggregator function. The model must be the event-driven one bit for bit; an inline aggregation
 * that throws falls back to the completion, which the aggregator function then completes.
 */

const datasets = new MemoryDatasetSource()
  .add('blobs', blobs([[0, 0], [8, 8], [-8, 8]], 30, 1.5, 4))
  .add('separable', separable(240, 3, 9));
const SPECS = {
  kmeans: { algorithm: 'kmeans', k: 3, workers: 3, threads: 1, maxRounds: 4, tol: 0, seed: 3, data: { uri: 'blobs' } },
  logreg: { algorithm: 'logreg', lr: 0.5, l2: 0.001, workers: 3, threads: 1, maxRounds: 4, tol: 0, data: { uri: 'separable' } },
} as const;
const container = new WorkerContainer(1);
afterAll(() => container.close());

async function reference(spec: (typeof SPECS)[keyof typeof SPECS]): Promise<unknown> {
  const h = harness(new MemoryStore(), datasets);
  await startJob(h.deps, { jobId: 'ref', spec });
  await drive(h, container);
  return (await h.store.getJob('ref'))!.result;
}

/**
 * Runs the round-0 tasks as lingering invocations, concurrently, on one fake clock; each pause
 * delivers pending completions to the aggregator function, and the tasks it publishes to new
 * lingering invocations.
 */
async function lingerAll(h: Harness, store: StateStore) {
  let time = 1_000_000;
  const runs: ReturnType<typeof runLingering>[] = [];
  const spawn = (task: RoundTask) => {
    const run = runLingering(deps, container, task, { memoryMb: 1024, inline: true });
    runs.push(run);
    return run;
  };
  const invoke = () => {
    for (const task of h.fanout.pending.splice(0)) spawn(task);
  };
  const sleep = async (ms: number) => {
    time += ms;
    // A real pause too: the other workers' threads compute in real time, which the fake clock must not outrun.
    await new Promise((resolve) => setTimeout(resolve, 1));
    for (const message of h.completion.pending.splice(0)) await aggregate({ ...h.deps, now: () => time }, message);
    invoke();
  };
  const deps = { ...h.deps, store, now: () => time, sleep };
  const run = async () => {
    invoke();
    // Until no invocation started while the others ran.
    for (let settled = -1; settled < runs.length; ) {
      settled = runs.length;
      await Promise.all(runs);
    }
    return Promise.all(runs);
  };
  return { deps, run, spawn };
}

describe('inline aggregation of lingering jobs', () => {
  for (const [algorithm, spec] of Object.entries(SPECS)) {
    it(`${algorithm}: the filling arrivals aggregate; no completion is sent, no round is published, the model is the event-driven one bit for bit`, async () => {
      // Prepare
      const h = harness(new MemoryStore(), datasets);
      const { deps, run } = await lingerAll(h, h.store);
      await startJob(deps, { jobId: 'inline', spec: { ...spec, sync: 'linger', lingerMs: 60_000 } });

      // Act
      const runs = await run();

      // Assess
      const job = await h.store.getJob('inline');
      expect(job).toMatchObject({ status: 'SUCCEEDED' });
      expect(job!.result).toEqual(await reference(spec));
      expect(h.completion.sent).toEqual([]);
      expect(h.fanout.published.filter((t) => t.round > 0)).toEqual([]);
      expect(runs.reduce((n, r) => n + r.handed, 0)).toBe(spec.workers * job!.round);
      expect(runs.reduce((n, r) => n + r.released, 0)).toBe(0);
    });
  }

  it('an inline aggregation that throws sends the completion, and the aggregator function completes the round', async () => {
    // Prepare: the first model write after the job's start fails (the inline aggregation of round 0).
    const store = new MemoryStore();
    const h = harness(store, datasets);
    let failures = 0;
    const flaky: StateStore = Object.assign(Object.create(store) as StateStore, {
      putModel: async (...args: Parameters<StateStore['putModel']>) => {
        if (failures > 0) {
          failures--;
          throw new Error('store unavailable');
        }
        return store.putModel(...args);
      },
    });
    const { deps, run } = await lingerAll(h, flaky);
    await startJob(deps, { jobId: 'flaky', spec: { ...SPECS.kmeans, sync: 'linger', lingerMs: 60_000 } });
    failures = 1;

    // Act
    const runs = await run();

    // Assess: one completion went to the aggregator (round 0's); the rest were aggregated inline.
    // The worker whose aggregation threw stopped lingering: its shard of round 1 was published (no
    // claim held it), and the invocation that took it lingered for the rounds after.
    const job = await store.getJob('flaky');
    expect(failures).toBe(0);
    expect(job).toMatchObject({ status: 'SUCCEEDED' });
    expect(job!.result).toEqual(await reference(SPECS.kmeans));
    expect(h.completion.sent).toEqual([{ jobId: 'flaky', round: 0 }]);
    expect(h.fanout.published.filter((t) => t.round > 0).map((t) => t.round)).toEqual([1]);
    expect(runs).toHaveLength(SPECS.kmeans.workers + 1);
    expect(runs.reduce((n, r) => n + r.handed, 0)).toBe(SPECS.kmeans.workers * job!.round - 1);
  });
  it('a duplicate that finds the barrier full while the filler aggregates: whichever aggregation wins keeps its shard, and nothing is published', async () => {
    // Prepare: round 1's filling arrival is held up in its aggregation (its round metrics write)
    // until a second run of the same task (a redelivery, or a lapsed claim's copy) has found the
    // barrier full with the round still open, aggregated it and advanced the job to round 2.
    const store = new MemoryStore();
    const h = harness(store, datasets);
    let filler: RoundTask | undefined;
    let held = false;
    const slow: StateStore = Object.assign(Object.create(store) as StateStore, {
      arrive: async (...args: Parameters<StateStore['arrive']>) => {
        const answer = await store.arrive(...args);
        const [jobId, round, shard, shards] = args;
        if (round === 1 && answer.added && answer.count === shards) filler = { jobId, round, shard, shards };
        return answer;
      },
      putRoundMetrics: async (...args: Parameters<StateStore['putRoundMetrics']>) => {
        if (args[1].round === 1 && !held) {
          held = true;
          spawn(filler!);
          for (let i = 0; i < 5_000 && (await store.getJob('dup'))!.round < 2; i++) await new Promise((resolve) => setTimeout(resolve, 1));
        }
        return store.putRoundMetrics(...args);
      },
    });
    const { deps, run, spawn } = await lingerAll(h, slow);
    await startJob(deps, { jobId: 'dup', spec: { ...SPECS.kmeans, sync: 'linger', lingerMs: 60_000 } });

    // Act
    await run();

    // Assess: the duplicate won round 1's advance and computed its shard of round 2 itself; the
    // first filler's aggregation was ignored and it stopped. No task was published after round 0.
    const job = await store.getJob('dup');
    expect(held).toBe(true);
    expect(job).toMatchObject({ status: 'SUCCEEDED' });
    expect(job!.result).toEqual(await reference(SPECS.kmeans));
    expect(h.completion.sent).toEqual([]);
    expect(h.fanout.published.filter((t) => t.round > 0)).toEqual([]);
  });
  it('a duplicate that finds the barrier full, then the job advanced by the filler whose hand-over is still under way: it publishes nothing', async () => {
    // Prepare: round 1's filler is held before its advance until a second run of its task has
    // arrived (a duplicate) and seen the round still open; then its hand-over of round 2 is held
    // until that duplicate has finished. The duplicate holds the round's completion and aggregates
    // it while the job is at round 2 with its fan-out not yet marked.
    const store = new MemoryStore();
    const h = harness(store, datasets);
    let filler: RoundTask | undefined;
    let duplicate: Promise<unknown> | undefined;
    let sawOpen: (() => void) | undefined;
    const opened = new Promise<void>((resolve) => (sawOpen = resolve));
    let duplicateArrived = false;
    const slow: StateStore = Object.assign(Object.create(store) as StateStore, {
      arrive: async (...args: Parameters<StateStore['arrive']>) => {
        const answer = await store.arrive(...args);
        const [jobId, round, shard, shards] = args;
        if (round === 1 && answer.added && answer.count === shards) filler = { jobId, round, shard, shards };
        if (round === 1 && !answer.added && duplicate) duplicateArrived = true;
        return answer;
      },
      getJob: async (...args: Parameters<StateStore['getJob']>) => {
        const job = await store.getJob(...args);
        // The duplicate's look at the job after its arrival: the round is still open.
        if (duplicateArrived && job?.round === 1) sawOpen?.();
        return job;
      },
      putRoundMetrics: async (...args: Parameters<StateStore['putRoundMetrics']>) => {
        if (args[1].round === 1 && !duplicate) {
          duplicate = spawn(filler!);
          await opened;
        }
        return store.putRoundMetrics(...args);
      },
      handOver: async (...args: Parameters<StateStore['handOver']>) => {
        if (args[1] === 2 && duplicate) {
          const waiting = duplicate;
          duplicate = Promise.resolve();
          await waiting;
        }
        return store.handOver(...args);
      },
    });
    const { deps, run, spawn } = await lingerAll(h, slow);
    await startJob(deps, { jobId: 'dup-late', spec: { ...SPECS.kmeans, sync: 'linger', lingerMs: 60_000 } });

    // Act
    await run();

    // Assess: the filler advanced the job and handed round 2 over; the duplicate's aggregation was
    // ignored and published nothing (a re-publication would have published the filler's own shard).
    const job = await store.getJob('dup-late');
    expect(job).toMatchObject({ status: 'SUCCEEDED' });
    expect(job!.result).toEqual(await reference(SPECS.kmeans));
    expect(h.completion.sent).toEqual([]);
    expect(h.fanout.published.filter((t) => t.round > 0)).toEqual([]);
  });
});
