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
    expect(linger.requests.byOperation).toMatchObject({ claim: 8 * 5, handOver: expect.any(Number), handedOver: expect.any(Number) });
    // SNS carried the preparation round only.
    expect(linger.costUsd.sns).toBeCloseTo(8 * PRICES.snsPublish.usd, 15);
    expect(event.costUsd.sns).toBeCloseTo(8 * 5 * PRICES.snsPublish.usd, 15);
    // The same run for the same seed (to the float noise the event-driven runs show too).
    expect(again.requests).toEqual(linger.requests);
    again.roundTimes.forEach((t, i) => expect(t).toBeCloseTo(linger.roundTimes[i]!, 6));
  });

  it('with the default budget: lingers where a reload costs more than a round of waiting, not where it costs less', async () => {
    // Act: shards of 2.5 M rows × 16 columns (160 MB, seconds to load) against 250,000 rows (16 MB,
    // a fraction of a second, about a round).
    // Routing affine: this test is about the budget rule. Under the default random routing a shard
    // re-published after a lapsed claim lands on another environment and loads again (seconds
    // here), which lapses more claims; Table 1 shows that effect (docs/simulator.md).
    const affine = structuredClone(AWS_PROFILE);
    affine.lambda.routing.value = 'affine';
    const large = await simulate({ ...KMEANS, rows: 20_000_000, sync: 'linger' }, affine, MS_PER_ROW);
    const small = await simulate({ ...KMEANS, rows: 2_000_000, sync: 'linger', rounds: 2 }, affine, MS_PER_ROW);

    // Assess
    // (Workers that loaded early may wait out their budget for the slowest load of round 0: that
    // round's shards are published again; the later rounds are lingered into.)
    expect(large.status).toBe('SUCCEEDED');
    expect(large.invocations.worker).toBeLessThan(8 * 2);
    expect(small.status).toBe('SUCCEEDED');
    expect(small.invocations.worker).toBeGreaterThan(large.invocations.worker);
  });
});
