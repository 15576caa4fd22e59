import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AWS_PROFILE, loadProfile, type Profile, type Routing } from '../../src/sim/profile.js';
import { simulate, type SimConfig } from '../../src/sim/simulate.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Lambda documents no affinity between a request and a warm environment (it "may" reuse one), so
 * the simulator routes a task to any idle environment by default, and a task that lands away from
 * its shard loads it again, billed. These tests use a fixed compute cost (no calibration).
 */

const MS_PER_ROW = () => 50e-6;
const JOB: SimConfig = { algorithm: 'kmeans', rows: 2_000_000, dims: 16, k: 16, workers: 8, threads: 2, memoryMb: 3538, rounds: 6, backend: 'dynamodb', sync: 'event', seed: 3 };

function routed(routing: Routing, base: Profile = AWS_PROFILE): Profile {
  const p = structuredClone(base);
  p.lambda.routing.value = routing;
  return p;
}

describe('Lambda routing in the simulator', () => {
  it('serves every repeated shard request warm under affine routing; random routing reloads most, and bills the reloads', async () => {
    // Act
    const affine = await simulate(JOB, routed('affine'), MS_PER_ROW);
    const random = await simulate(JOB, routed('random'), MS_PER_ROW);

    // Assess: 8 first loads (the preparation round) and 6 × 8 training requests.
    expect(affine.status).toBe('SUCCEEDED');
    expect(random.status).toBe('SUCCEEDED');
    expect(affine.shardCache).toMatchObject({ hits: 48, loads: 8, reloads: 0, hitRate: 1 });
    // With 8 idle environments a task finds its own with probability about 1/8.
    expect(random.shardCache.hits + random.shardCache.reloads).toBe(48);
    expect(random.shardCache.hitRate).toBeLessThan(0.5);
    expect(random.shardCache.reloads).toBeGreaterThan(20);
    // Each reload is a shard read from S3 inside a worker invocation: GETs and GB-s.
    expect(random.requests.total).toBe(affine.requests.total);
    expect(random.billedGbSeconds.byFunction.worker!).toBeGreaterThan(1.2 * affine.billedGbSeconds.byFunction.worker!);
    expect(random.costUsd.s3).toBeGreaterThan(affine.costUsd.s3);
    expect(random.config.routing).toBe('random');
  });

  it('routes AWS jobs at random by default, citing the documented reuse; the local profile keeps shards where they were loaded', async () => {
    // Act
    const aws = await loadProfile('aws');
    const local = await loadProfile('local');

    // Assess
    expect(aws.lambda.routing.value).toBe('random');
    expect(aws.lambda.routing.source).toMatch(/docs\.aws\.amazon\.com\/lambda.*may reuse/);
    expect(local.lambda.routing.value).toBe('affine');
  });

  it('leaves barrier-wait alone: its workers hold their invocations, so no task looks for an environment', async () => {
    // Prepare
    const config: SimConfig = { ...JOB, rows: 200_000, rounds: 4, backend: 'redis', sync: 'barrier-wait' };

    // Act
    const affine = await simulate(config, routed('affine'), MS_PER_ROW);
    const random = await simulate(config, routed('random'), MS_PER_ROW);

    // Assess
    expect(random.status).toBe('SUCCEEDED');
    // The same draws: equal to the nanosecond (a job id and a real timestamp in the records change a
    // byte's transfer time, 10⁻⁸ s).
    expect(random.wallSeconds).toBeCloseTo(affine.wallSeconds, 6);
    expect(random.billedGbSeconds.total).toBeCloseTo(affine.billedGbSeconds.total, 5);
    expect(random.invocations).toEqual(affine.invocations);
    expect(random.shardCache.reloads).toBe(0);
  });
});

describe('the aggregator in the simulator', () => {
  it('merges the W partials it reads at the calibrated CPU time per byte, billed to the aggregator', async () => {
    // Prepare: a merge 10,000× slower than the calibrated one makes its share visible.
    const slow = routed('affine');
    slow.lambda.mergeNsPerByte.value = 2_000;

    // Act
    const normal = await simulate(JOB, routed('affine'), MS_PER_ROW);
    const slowed = await simulate(JOB, slow, MS_PER_ROW);

    // Assess: 7 aggregations (the preparation round and 6) of 8 partials each.
    expect(normal.mergeCompute.bytes).toBeGreaterThan(7 * 8 * 8 * (16 * 17 + 16));
    expect(normal.mergeCompute.ms).toBeCloseTo((normal.mergeCompute.bytes * AWS_PROFILE.lambda.mergeNsPerByte.value) / 1e6, 9);
    expect(slowed.mergeCompute.ms).toBeCloseTo((slowed.mergeCompute.bytes * 2_000) / 1e6, 6);
    const extraGbS = slowed.billedGbSeconds.byFunction.aggregator! - normal.billedGbSeconds.byFunction.aggregator!;
    expect(extraGbS).toBeGreaterThan(0.9 * (slowed.mergeCompute.ms / 1000) * (AWS_PROFILE.lambda.aggregatorMemoryMb.value / 1024));
    expect(slowed.roundSeconds.mean).toBeGreaterThan(normal.roundSeconds.mean);
  });

  it('reaches the aggregator by a direct Invoke when the trigger is invoke: no SQS requests, the same rounds', async () => {
    // Act
    const sqs = await simulate({ ...JOB, trigger: 'sqs' }, AWS_PROFILE, MS_PER_ROW);
    const invoke = await simulate({ ...JOB, trigger: 'invoke' }, AWS_PROFILE, MS_PER_ROW);

    // Assess
    expect(invoke.status).toBe('SUCCEEDED');
    expect(invoke.rounds).toBe(sqs.rounds);
    expect(sqs.costUsd.sqs).toBeGreaterThan(0);
    expect(invoke.costUsd.sqs).toBe(0);
    expect(invoke.invocations.aggregator).toBe(sqs.invocations.aggregator);
    expect(invoke.config.trigger).toBe('invoke');
  });

  it('caps a function\'s network: more connections than the cap allows load no faster', async () => {
    // Prepare: one worker of 6 threads loading 400 MB; 6 × 85 MB/s against a 100 MB/s function cap.
    const config: SimConfig = { ...JOB, rows: 6_250_000, workers: 1, threads: 6, memoryMb: 10_240, rounds: 1 };
    const capped = routed('affine');
    capped.lambda.functionNetworkMBps.value = 100;
    const open = routed('affine');
    open.lambda.functionNetworkMBps.value = 10_000;

    // Act
    const slow = await simulate(config, capped, MS_PER_ROW);
    const fast = await simulate(config, open, MS_PER_ROW);

    // Assess: 400 MB at 100 MB/s is 4 s; at 510 MB/s about 0.8 s.
    expect(slow.wallSeconds - fast.wallSeconds).toBeGreaterThan(3);
  });
});

describe('the profile as data', () => {
  const tempDir = useTempDirs('bspml-sim-');

  it('gives every parameter a value, a unit or its options, a source, a date and whether it is assumed', () => {
    // Act
    const leaves: [string, Record<string, unknown>][] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'name') continue;
        const here = path ? `${path}.${key}` : key;
        if (value && typeof value === 'object' && ('value' in value || 'median' in value)) leaves.push([here, value as Record<string, unknown>]);
        else if (value && typeof value === 'object') walk(value as Record<string, unknown>, here);
        else throw new Error(`${here} is not a parameter`);
      }
    };
    walk(AWS_PROFILE as unknown as Record<string, unknown>, '');

    // Assess
    expect(leaves.map(([p]) => p)).toEqual(expect.arrayContaining(['lambda.routing', 'lambda.functionNetworkMBps', 'lambda.mergeNsPerByte', 'events.invokeToLambdaMs']));
    for (const [path, param] of leaves) {
      expect(typeof param.source, path).toBe('string');
      expect((param.source as string).length, path).toBeGreaterThan(5);
      expect(param.asOf, path).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(typeof param.assumption, path).toBe('boolean');
    }
    expect(AWS_PROFILE.events.invokeToLambdaMs.assumption).toBe(true);
    expect(AWS_PROFILE.lambda.functionNetworkMBps.assumption).toBe(true);
  });

  it('takes routing from a profile file, and refuses one that names no routing Lambda has', async () => {
    // Prepare
    const dir = await tempDir();
    const good = join(dir, 'affine.json');
    const bad = join(dir, 'sticky.json');
    await writeFile(good, JSON.stringify({ base: 'aws', lambda: { routing: 'affine' } }));
    await writeFile(bad, JSON.stringify({ base: 'aws', lambda: { routing: 'sticky' } }));

    // Act
    const profile = await loadProfile(good);
    const refused = await loadProfile(bad).catch((e: unknown) => e as Error);

    // Assess
    expect(profile.lambda.routing.value).toBe('affine');
    expect(profile.lambda.routing.source).toMatch(/override/);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/lambda\.routing must be one of random, affine, got sticky/);
  });

  it('bspml simulate prints the cache hit rate and the merge, and --json carries them with the resolved profile', async () => {
    // Prepare
    const dir = await tempDir();
    const out = join(dir, 'sim.json');

    // Act
    const run = await runBspml(['simulate', 'kmeans', '--rows', '100000', '--dims', '8', '--k', '4', '--workers', '4', '--rounds', '3', '--trigger', 'invoke', '--json', out]);
    const json = JSON.parse(await readFile(out, 'utf8')) as { shardCache: { hitRate: number }; mergeCompute: { ms: number }; profile: Profile; calibration: { msPerRow: Record<string, { value: number }> } };

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/cache hit rate \d+\.\d %/);
    expect(run.stdout).toMatch(/routing random$/m);
    expect(run.stdout).toMatch(/trigger invoke, backup tasks off\)$/m);
    expect(run.stdout).toMatch(/merged +[\d.]+ MB of partials merged/);
    expect(json.shardCache.hitRate).toBeGreaterThanOrEqual(0);
    expect(json.mergeCompute.ms).toBeGreaterThan(0);
    expect(json.profile.lambda.routing.value).toBe('random');
    expect(json.profile.lambda.mergeNsPerByte.source).toMatch(/calibrateMerge on this machine/);
    expect(json.profile.events.snsToLambdaMs.median).toBe(73);
    expect(Object.values(json.calibration.msPerRow)[0]!.value).toBeGreaterThan(0);
  }, 60_000);
});
