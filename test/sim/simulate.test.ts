import { describe, expect, it } from 'vitest';
import { AWS_PROFILE, localProfile, vcpusFor } from '../../src/sim/profile.js';
import { simulate, type SimConfig } from '../../src/sim/simulate.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { Host } from '../../src/sim/cpu.js';

/*
 * The simulator runs the real protocol under a virtual clock. These tests use a fixed compute cost
 * (no calibration) so that they are quick and independent of this machine's load.
 */

const MS_PER_ROW = () => 50e-6; // 50 ns per row on one thread
const KMEANS: SimConfig = { algorithm: 'kmeans', rows: 2_000_000, dims: 16, k: 16, workers: 8, threads: 2, memoryMb: 3538, rounds: 4, backend: 'dynamodb', sync: 'event', seed: 3 };

describe('the virtual clock and hosts', () => {
  it('fires sleeps in time order and shares a host\'s cores fairly among capped tasks', async () => {
    // Prepare
    const clock = new VirtualClock();
    const host = new Host(clock, 2);
    const done: [string, number][] = [];

    // Act: 100 thread-ms on 2 threads, and 100 on 1 thread, on 2 cores: each gets one core.
    const run = clock.run();
    await Promise.all([
      host.run(100, 2).then(() => done.push(['two-thread', clock.now()])),
      host.run(100, 1).then(() => done.push(['one-thread', clock.now()])),
      clock.sleep(30).then(() => done.push(['sleep', clock.now()])),
    ]);
    await run;

    // Assess
    expect(done).toEqual([
      ['sleep', 30],
      ['two-thread', 100],
      ['one-thread', 100],
    ]);
  });
});

describe('bspml simulate (the simulator)', () => {
  it('runs the protocol for the rounds asked for and prices it, the same way for the same seed', async () => {
    // Act
    const a = await simulate(KMEANS, AWS_PROFILE, MS_PER_ROW);
    const b = await simulate(KMEANS, AWS_PROFILE, MS_PER_ROW);

    // Assess
    expect(a.status).toBe('SUCCEEDED');
    expect(a.rounds).toBe(4);
    // The preparation round (round 0) and 4 training rounds, 8 workers each.
    expect(a.invocations.worker).toBe(8 * 5);
    expect(a.coldStarts.worker).toBe(8);
    expect(a.requests.byOperation.putPartial).toBe(40);
    // Compute alone: 250,000 rows × 50 ns on 2 threads (2 vCPUs) = 6.25 ms per round at least.
    expect(a.roundSeconds.p50).toBeGreaterThan(0.00625);
    expect(a.roundSeconds.p99).toBeGreaterThanOrEqual(a.roundSeconds.p50);
    expect(a.billedGbSeconds.total).toBeGreaterThan(0);
    expect(a.costUsd.total).toBeCloseTo(a.costUsd.lambda + a.costUsd.dynamodb + a.costUsd.s3 + a.costUsd.sns + a.costUsd.sqs, 12);
    // The same draws: the same requests and invocations, and times equal to the nanosecond (a job id
    // and a timestamp of the real clock in the records change a byte's transfer time, 10⁻⁸ s).
    expect(b.requests).toEqual(a.requests);
    expect(b.invocations).toEqual(a.invocations);
    expect(b.wallSeconds).toBeCloseTo(a.wallSeconds, 6);
    b.roundTimes.forEach((t, i) => expect(t).toBeCloseTo(a.roundTimes[i]!, 6));
  });

  it('finds today\'s DynamoDB layout unthrottled at W = 300 where one partition per round is throttled', async () => {
    // Prepare: 300 workers, k-means partials of 16 × 33 float64 (about 4 KB, 5 write units each).
    const config: SimConfig = { ...KMEANS, rows: 3_000_000, dims: 32, workers: 300, threads: 1, memoryMb: 1769, rounds: 3 };

    // Act
    const single = await simulate({ ...config, layout: 'single' }, AWS_PROFILE, MS_PER_ROW);
    const spread = await simulate({ ...config, layout: 'spread' }, AWS_PROFILE, MS_PER_ROW);

    // Assess
    expect(single.status).toBe('SUCCEEDED');
    expect(spread.status).toBe('SUCCEEDED');
    expect(single.throttled.byOperation.putPartial).toBeGreaterThan(0);
    expect(spread.throttled.total).toBe(0);
    expect(spread.roundSeconds.p50).toBeLessThan(single.roundSeconds.p50);
  });

  it('bills the barrier-wait design for its waiting (more GB-s than the event design), though its rounds skip the SNS and SQS hops', async () => {
    // Prepare: rounds where synchronisation weighs as much as compute (the 300-worker case of Table 1).
    // Routing affine: the event design keeps its shards, so that the difference is the billed wait,
    // not reloads (under random routing it reloads them every round: routing.test.ts).
    const config: SimConfig = { ...KMEANS, rows: 100_000, rounds: 10, backend: 'redis' };
    const affine = structuredClone(AWS_PROFILE);
    affine.lambda.routing.value = 'affine';

    // Act
    const event = await simulate(config, affine, MS_PER_ROW);
    const wait = await simulate({ ...config, sync: 'barrier-wait' }, AWS_PROFILE, MS_PER_ROW);

    // Assess
    expect(wait.status).toBe('SUCCEEDED');
    expect(wait.rounds).toBe(10);
    expect(wait.invocations.worker).toBe(8);
    expect(wait.billedGbSeconds.waiting).toBeGreaterThan(0);
    expect(event.billedGbSeconds.waiting).toBe(0);
    expect(event.billedGbSeconds.total).toBeLessThan(wait.billedGbSeconds.total);
    expect(wait.roundSeconds.p50).toBeLessThan(event.roundSeconds.p50);
  });

  it('draws each environment\'s speed once: the barrier-wait design waits longer for the slowest every round; the event design never waits', async () => {
    // Prepare: compute-bound rounds (long compared with the latencies), with and without servers that differ.
    const config: SimConfig = { ...KMEANS, rows: 40_000_000, workers: 32, threads: 1, memoryMb: 1769, rounds: 6, backend: 'redis' };
    const even = structuredClone(AWS_PROFILE);
    even.lambda.cpuSlowdownP99.value = 1;
    const uneven = structuredClone(AWS_PROFILE);
    uneven.lambda.cpuSlowdownP99.value = 1.5;

    // Act
    const waitEven = await simulate({ ...config, sync: 'barrier-wait' }, even, MS_PER_ROW);
    const waitUneven = await simulate({ ...config, sync: 'barrier-wait' }, uneven, MS_PER_ROW);
    const eventEven = await simulate(config, even, MS_PER_ROW);
    const eventUneven = await simulate(config, uneven, MS_PER_ROW);

    // Assess: 1.25M rows × 50 ns = 62.5 ms of compute per worker and round on a median server. With
    // uneven servers the slowest of 32 (about 1.5^(2.0/2.33) ≈ 1.4× slower) sets every round of
    // barrier-wait, so its workers wait longer; the event design bills each worker its own time.
    expect(waitUneven.rounds).toBe(6);
    expect(waitUneven.billedGbSeconds.waiting).toBeGreaterThan(1.05 * waitEven.billedGbSeconds.waiting);
    expect(waitUneven.roundSeconds.mean).toBeGreaterThan(waitEven.roundSeconds.mean);
    expect(eventUneven.billedGbSeconds.waiting).toBe(0);
    expect(eventEven.billedGbSeconds.waiting).toBe(0);
  });

  it('simulates a multinomial job (--classes): its workers are sent the view, and only the aggregator reads the model', async () => {
    // Prepare: 784 columns × 10 classes, L-BFGS: a 2.8 MB model whose 62,824-byte view rides in the tasks.
    const job: SimConfig = { algorithm: 'logreg', rows: 200_000, dims: 784, classes: 10, workers: 6, threads: 1, memoryMb: 1769, rounds: 2, backend: 'dynamodb', sync: 'event', seed: 2 };

    // Act
    const result = await simulate(job, AWS_PROFILE, MS_PER_ROW);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.config).toMatchObject({ classes: 10, solver: 'lbfgs' });
    // One model read per training round (the aggregator's); no worker reads the model or the view.
    expect(result.requests.byOperation.getModel).toBe(2);
    expect(result.requests.byOperation.getModelView).toBeUndefined();
    expect(result.requests.byOperation.putModelView).toBe(3);
  });

  it('gives vCPUs from memory: 1,769 MB per vCPU, 10,240 MB about 5.8; the local profile this machine\'s cores', () => {
    expect(vcpusFor(AWS_PROFILE, 1769)).toBe(1);
    expect(vcpusFor(AWS_PROFILE, 10_240)).toBeCloseTo(5.79, 2);
    expect(vcpusFor(localProfile(), 10_240)).toBe(localProfile().lambda.hostCores.value);
  });
});
