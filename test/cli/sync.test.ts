import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

const tempDir = useTempDirs();

/*
 * One data set and one --sync event run for the file: both designs below are compared with the
 * same event-driven model, which training it again per test would only repeat.
 */
let shared: string;
let common: string[];
let eventResult: Promise<Awaited<ReturnType<typeof runBspml>>> | undefined;
const eventRun = () => (eventResult ??= runBspml([...common, '--out', join(shared, 'event.json')]));

beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'bspml-sync-'));
  const data = join(shared, 'blobs.csv');
  expect((await runBspml(['gen', 'blobs', '--rows', '1500', '--dims', '3', '--centers', '3', '--seed', '5', '--out', data])).code).toBe(0);
  common = ['train', 'kmeans', '--data', data, '--k', '3', '--workers', '3', '--threads', '1', '--max-rounds', '4', '--tol', '0', '--no-progress'];
});

afterAll(async () => {
  await rm(shared, { recursive: true, force: true });
});

describe('bspml train --sync linger', () => {
  it('writes the same model file as --sync event, says how many tasks were lingered into, and refuses what cannot linger', async () => {
    // Prepare
    const dir = await tempDir();

    // Act
    const event = await eventRun();
    const linger = await runBspml([...common, '--sync', 'linger', '--linger-ms', '30000', '--out', join(dir, 'linger.json')]);
    const noLinger = await runBspml([...common, '--linger-ms', '100']);
    const tooFew = await runBspml([...common, '--sync', 'linger', '--concurrency', '2']);

    // Assess
    expect(event.code, event.stderr).toBe(0);
    expect(linger.code, linger.stderr).toBe(0);
    const strip = (m: Record<string, unknown>) => ({ ...m, jobId: undefined });
    const [a, b] = await Promise.all([join(shared, 'event.json'), join(dir, 'linger.json')].map(async (f) => strip(JSON.parse(await readFile(f, 'utf8')))));
    expect(b).toEqual(a);
    // 3 workers × (the preparation round + the training rounds): every training task lingered into.
    // Each round's filling worker aggregates and computes its shard of the next round at once,
    // without a claim, so a round has a claim from each of the other 2 workers.
    const rounds = (a as Record<string, unknown>).rounds as number;
    expect(linger.stdout).toMatch(
      new RegExp(`^sync {7}linger: ${3 * rounds} of ${3 * (rounds + 1)} worker tasks computed by workers that waited for them, [\\d,.]+ m?s of waiting in all \\(${2 * (rounds + 1)} claims, 0 released\\)$`, 'm'),
    );
    expect(event.stdout).not.toMatch(/linger/);
    expect(noLinger.code).toBe(1);
    expect(noLinger.stderr.trim()).toBe('bspml: error: invalid job spec: lingerMs (--linger-ms): only with sync linger, not event');
    expect(tooFew.code).toBe(1);
    expect(tooFew.stderr.trim()).toBe('bspml: error: --sync linger needs a container per worker: --concurrency 2 is below --workers 3 (raise --concurrency)');
  });
});

describe('bspml train --sync barrier-wait', () => {
  it('writes the same model file as the default design and reports the billed waiting time', async () => {
    // Prepare
    const dir = await tempDir();

    // Act
    const event = await eventRun();
    const wait = await runBspml([...common, '--sync', 'barrier-wait', '--out', join(dir, 'wait.json')]);
    const bad = await runBspml([...common, '--sync', 'lockstep']);

    // Assess
    expect(event.code, event.stderr).toBe(0);
    expect(wait.code, wait.stderr).toBe(0);
    const strip = (m: Record<string, unknown>) => ({ ...m, jobId: undefined });
    const [a, b] = await Promise.all([join(shared, 'event.json'), join(dir, 'wait.json')].map(async (f) => strip(JSON.parse(await readFile(f, 'utf8')))));
    expect(b).toEqual(a);
    expect(wait.stdout).toMatch(/^sync {7}barrier-wait: workers billed [\d,.]+ m?s in all, [\d,.]+ m?s of it waiting at the barrier \(\d+%, \d+ polls\)$/m);
    expect(event.stdout).not.toMatch(/barrier-wait/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--sync.*must be one of: event, linger, barrier-wait/);
  });

  it('names the file, line and column of a bad field in either design, exits 1 and leaves --out alone', async () => {
    // Prepare: a data set whose line 5 holds a word where a number belongs, and a model file already there.
    const dir = await tempDir();
    const data = join(dir, 'bad.csv');
    const out = join(dir, 'model.json');
    await writeFile(data, 'a,b\n1,2\n3,4\n5,6\n7,x\n9,10\n');
    await writeFile(out, '{"kept":true}\n');
    const common = ['train', 'kmeans', '--data', data, '--k', '2', '--workers', '2', '--max-rounds', '3', '--no-progress', '--out', out];

    // Act
    const event = await runBspml(common);
    const wait = await runBspml([...common, '--sync', 'barrier-wait']);

    // Assess: the same one line from both designs (the preparation round found it), nothing written.
    for (const r of [event, wait]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/bad\.csv: row 5, field "b": "x" is not a number/);
    }
    expect(wait.stderr).toBe(event.stderr);
    expect(await readFile(out, 'utf8')).toBe('{"kept":true}\n');
  });
});
