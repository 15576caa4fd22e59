import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

const tempDir = useTempDirs();

describe('bspml simulate', () => {
  it('prints the simulated job and writes roundSeconds, billedGbSeconds and costUsd as JSON; a profile file overrides parameters', async () => {
    // Prepare
    const dir = await tempDir();
    const json = join(dir, 'sim.json');
    const slowJson = join(dir, 'slow.json');
    const profile = join(dir, 'slow.json.profile');
    await writeFile(profile, JSON.stringify({ base: 'aws', events: { snsToLambdaMs: { median: 2000, p99: 2001 } } }));
    const args = ['simulate', 'kmeans', '--rows', '200000', '--dims', '8', '--k', '4', '--workers', '4', '--threads', '2', '--rounds', '3'];

    // Act
    const result = await runBspml([...args, '--json', json]);
    const slow = await runBspml([...args, '--json', slowJson, '--profile', profile]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^simulated kmeans on 200,000 rows × 8, k = 4: 4 workers × 2 threads, 3,538 MB \(2\.00 vCPUs\), backend dynamodb \(spread layout\), sync event, profile aws$/m);
    expect(result.stdout).toMatch(/^cost {7}\$[\d.e-]+ = Lambda /m);
    const out = JSON.parse(await readFile(json, 'utf8'));
    expect(out).toMatchObject({ status: 'SUCCEEDED', rounds: 3, roundSeconds: { p50: expect.any(Number), p99: expect.any(Number) }, billedGbSeconds: { total: expect.any(Number) }, costUsd: { total: expect.any(Number) } });
    expect(slow.code, slow.stderr).toBe(0);
    const slowOut = JSON.parse(await readFile(slowJson, 'utf8'));
    // Every round waits for SNS deliveries of about 2 s (the default's are tens to hundreds of ms).
    expect(slowOut.roundSeconds.p50).toBeGreaterThan(2.0);
    expect(out.roundSeconds.p50).toBeLessThan(1.5);
  }, 60_000);

  it('models the tree merge (aggregatorReadBytesPerRound), the invoke trigger and backup tasks', async () => {
    // Prepare: 16 workers, 4 barrier groups.
    const dir = await tempDir();
    const args = ['simulate', 'kmeans', '--rows', '100000', '--dims', '8', '--k', '4', '--workers', '16', '--rounds', '3'];
    const path = (name: string) => join(dir, `${name}.json`);

    // Act
    const flat = await runBspml([...args, '--merge', 'flat', '--json', path('flat')]);
    const tree = await runBspml([...args, '--merge', 'tree', '--trigger', 'invoke', '--backup', 'on', '--json', path('tree')]);

    // Assess
    expect(flat.code, flat.stderr).toBe(0);
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toMatch(/^aggregator reads [\d,]+ bytes of partials per round \(merge tree, trigger invoke, backup tasks on\)$/m);
    const [f, t] = [JSON.parse(await readFile(path('flat'), 'utf8')), JSON.parse(await readFile(path('tree'), 'utf8'))];
    expect(t.status).toBe('SUCCEEDED');
    // 4 group partials instead of 16 partials.
    expect(t.aggregatorReadBytesPerRound).toBeLessThan(f.aggregatorReadBytesPerRound / 3);
    expect(t.requests.byOperation.putGroupPartial).toBeGreaterThanOrEqual(3 * 4);
    expect(f.requests.byOperation.putGroupPartial).toBeUndefined();
    // The SQS trigger (the default) is billed for its completions.
    expect(f.costUsd.sqs).toBeGreaterThan(0);
  }, 60_000);

  it('refuses an unknown profile parameter with one line naming it, exit 1', async () => {
    // Prepare
    const dir = await tempDir();
    const profile = join(dir, 'bad.json');
    await writeFile(profile, JSON.stringify({ lambda: { coldStartMilliseconds: 5 } }));

    // Act
    const result = await runBspml(['simulate', 'kmeans', '--rows', '1000', '--dims', '2', '--workers', '2', '--profile', profile]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`bspml: error: --profile ${profile}: unknown parameter lambda.coldStartMilliseconds\n`);
  });
});
