import { describe, expect, it } from 'vitest';
import { PRICES } from '../../src/costs/prices.js';
import { AWS_PROFILE } from '../../src/sim/profile.js';
import { simulate, type SimConfig } from '../../src/sim/simulate.js';

/*
 * `bspml simulate --sync linger`: the real lingering loop (src/protocol/linger.ts) under the virtual
 * clock. A fixed compute cost, as in simulate.test.ts, keeps it quick and independent of the load.
 */

const MS_PER_ROW = () => 50e-6;
const KMEANS: SimConfig = { algorithm: 'kmeans', rows: 2_000_000, dims: 16, k: 16, workers: 8, threads: 2, memoryMb: 3538, rounds: 4, backend: 'dynamodb', sync: 'event', seed: 3 };

describe('bspml simulate --sync linger', () => {
  it('runs every training round in the invocations that prepared the shards, billing their waits, with no SNS hop after the preparation round', async () => {
    // Act
    const event = await simulate(KMEANS, AWS_PROFILE, MS_PER_ROW);
    const linger = await simulate({ ...KMEANS, sync: 'linger', lingerMs: 10_000 }, AWS_PROFILE, MS_PER_ROW);
    const again = await simulate({ ...KMEANS, sync: 'linger', lingerMs: 10_000 }, AWS_PROFILE, MS_PER_ROW);

    // Assess
    expect(linger.status).toBe('SUCCEEDED');
    expect(linger.rounds).toBe(4);
    // One invocation per shard (the preparation round's), against one per shard per round.
    expect(linger.invocations.worker).toBe(8);
    expect(event.invocations.worker).toBe(8 * 5);
    expect(linger.billedGbSeconds.waiting).toBeGreaterThan(0);
    expect(event.billedGbSeconds.waiting).toBe(0);
    // Claims, polls and hand-overs are store requests of their own; no round is published after round 0.
    // Every worker claims its next round after each of the 5 rounds, except the one that filled the
    // barrier: it aggregates and computes its shard of the next round without a claim.
    expect(linger.requests.byOperation).toMatchObject({ claim: 8 * 5 - 5, handOver: expect.any(Number), handedOver: expect.any(Number) });
    // The hand-over carries the model: no worker reads the model item, nor the job record, once it lingers.
    // (the job record: each worker's first read, a second once the data summary is in, and the aggregations').
    expect(linger.requests.byOperation.getModel ?? 0).toBe(0);
    expect(linger.requests.byOperation.getJob).toBeLessThanOrEqual(2 * 8 + 5);
    // SNS carried the preparation round only.
    expect(linger.costUsd.sns).toBeCloseTo(8 * PRICES.snsPublish.usd, 15);
    expect(event.costUsd.sns).toBeCloseTo(8 * 5 * PRICES.snsPublish.usd, 15);
    // The same run for the same seed (to the float noise the event-driven runs show too).
    expect(again.requests).toEqual(linger.requests);
    again.roundTimes.forEach((t, i) => expect(t).toBeCloseTo(linger.roundTimes[i]!, 6));
  });

  it('with the default budget: lingers where a reload (the leaver\'s and the others\' wait for it) costs more than the wait, not where the wait costs more', async () => {
    // Act: shards of 2.5 M rows × 16 columns (160 MB, about a second to load) and short rounds,
    // against shards of 25,000 rows (1.6 MB, a load of ≈ 40 ms) whose rounds compute for seconds:
    // environments differ in speed, so a fast worker's wait for the slowest is a large share of a
    // round, longer than the others would wait for its reload.
    // Routing affine: this test is about the budget rule, not where a re-published shard lands.
    const affine = structuredClone(AWS_PROFILE);
    affine.lambda.routing.value = 'affine';
    const large = await simulate({ ...KMEANS, rows: 20_000_000, sync: 'linger' }, affine, MS_PER_ROW);
    const slow = await simulate({ ...KMEANS, rows: 200_000, sync: 'linger', rounds: 3 }, affine, () => 0.5);

    // Assess
    expect(large.status).toBe('SUCCEEDED');
    expect(large.invocations.worker).toBe(8);
    expect(large.shardCache.reloads).toBe(0);
    expect(slow.status).toBe('SUCCEEDED');
    expect(slow.invocations.worker).toBeGreaterThan(8);
  });

  it('breaks the wall time and GB-s down by phase, and meets the same cold starts and deliveries as barrier-wait on the same seed', async () => {
    // Prepare: the same job on the paper's store.
    const config: SimConfig = { ...KMEANS, backend: 'redis', sync: 'linger' };

    // Act
    const linger = await simulate(config, AWS_PROFILE, MS_PER_ROW);
    const wait = await simulate({ ...config, sync: 'barrier-wait' }, AWS_PROFILE, MS_PER_ROW);

    // Assess: the phases add up to the job.
    for (const r of [linger, wait]) {
      const phases = Object.values(r.phases);
      expect(phases.reduce((t, p) => t + p.seconds, 0)).toBeCloseTo(r.wallSeconds, 6);
      expect(phases.reduce((t, p) => t + p.gbSeconds, 0)).toBeCloseTo(r.billedGbSeconds.total, 3);
    }
    // Ours starts through a start function (the user's Invoke, its INIT), the paper's from its driver.
    expect(linger.phases.start.seconds).toBeGreaterThan(wait.phases.start.seconds);
    // The preparation round is the same work in both (a delivery, a cold start and a load per
    // shard, drawn from common streams): the same time to a few ms.
    expect(Math.abs(linger.phases.prepare.seconds - wait.phases.prepare.seconds)).toBeLessThan(0.02);
  });
});
