import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

const tempDir = useTempDirs();

describe('bspml train --sync barrier-wait', () => {
  it('writes the same model file as the default design and reports the billed waiting time', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'blobs.csv');
    expect((await runBspml(['gen', 'blobs', '--rows', '1500', '--dims', '3', '--centers', '3', '--seed', '5', '--out', data])).code).toBe(0);
    const common = ['train', 'kmeans', '--data', data, '--k', '3', '--workers', '3', '--threads', '1', '--max-rounds', '4', '--tol', '0', '--no-progress'];

    // Act
    const event = await runBspml([...common, '--out', join(dir, 'event.json')]);
    const wait = await runBspml([...common, '--sync', 'barrier-wait', '--out', join(dir, 'wait.json')]);
    const bad = await runBspml([...common, '--sync', 'lockstep']);

    // Assess
    expect(event.code, event.stderr).toBe(0);
    expect(wait.code, wait.stderr).toBe(0);
    const strip = (m: Record<string, unknown>) => ({ ...m, jobId: undefined });
    const [a, b] = await Promise.all(['event.json', 'wait.json'].map(async (f) => strip(JSON.parse(await readFile(join(dir, f), 'utf8')))));
    expect(b).toEqual(a);
    expect(wait.stdout).toMatch(/^sync {7}barrier-wait: workers billed [\d,.]+ m?s in all, [\d,.]+ m?s of it waiting at the barrier \(\d+%, \d+ polls\)$/m);
    expect(event.stdout).not.toMatch(/barrier-wait/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--sync.*must be one of: event, barrier-wait/);
  });
});
