import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedisServer, startRedisServer } from '../../src/emulators/redis-server.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * `train --backend redis|s3` runs the same protocol over another store: the model must be
 * identical to the memory store's, bit for bit, since partials and their merge order do not depend
 * on where they were kept.
 */

const tempDir = useTempDirs();
const hasRedis = findRedisServer() !== undefined;
if (!hasRedis) console.warn('SKIPPED: the --backend redis CLI tests need redis-server on PATH (apt-get install -y redis-server)');

interface ModelFile {
  centroids: number[][];
  counts: number[];
  inertia: number;
  rounds: number;
  converged: boolean;
}

async function trainKmeans(dir: string, data: string, name: string, backend: string[]): Promise<{ model: ModelFile; stdout: string }> {
  const out = join(dir, `${name}.json`);
  const result = await runBspml(['train', 'kmeans', '--data', data, '--k', '4', '--seed', '7', '--workers', '4', '--threads', '1', '--max-rounds', '8', '--no-progress', '--out', out, ...backend]);
  expect(result.code, result.stderr).toBe(0);
  return { model: JSON.parse(await readFile(out, 'utf8')) as ModelFile, stdout: result.stdout };
}

async function blobs(dir: string): Promise<string> {
  const data = join(dir, 'blobs.csv');
  const gen = await runBspml(['gen', 'blobs', '--rows', '3000', '--dims', '3', '--centers', '4', '--seed', '11', '--out', data]);
  expect(gen.code, gen.stderr).toBe(0);
  return data;
}

/*
 * One data set and one memory-store model for the file: the tests compare other stores against the
 * same reference, which training it again per test (four inner threads each time) would only repeat.
 */
let shared: string;
let data: string;
let memoryModel: Promise<{ model: ModelFile; stdout: string }> | undefined;
const memoryReference = () => (memoryModel ??= trainKmeans(shared, data, 'memory', ['--backend', 'memory']));

beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'bspml-backends-'));
  data = await blobs(shared);
});

afterAll(async () => {
  await rm(shared, { recursive: true, force: true });
});

function expectSameModel(actual: ModelFile, expected: ModelFile): void {
  expect(actual.centroids).toEqual(expected.centroids);
  expect(actual.counts).toEqual(expected.counts);
  expect(actual.inertia).toBe(expected.inertia);
  expect([actual.rounds, actual.converged]).toEqual([expected.rounds, expected.converged]);
}

describe('train --backend', () => {
  it('s3 (in-process s3rver) trains exactly the model memory trains', async () => {
    // Prepare
    const dir = await tempDir();
    const memory = await memoryReference();

    // Act
    const s3 = await trainKmeans(dir, data, 's3', ['--backend', 's3', '--bucket', 'cli-test', '--prefix', 'run/']);

    // Assess
    expect(memory.model.rounds).toBeGreaterThan(1);
    expectSameModel(s3.model, memory.model);
    expect(s3.stdout).toMatch(/backend s3/);
  });

  it.skipIf(!hasRedis)('redis (throwaway redis-server, and one given by --redis-url) trains exactly the model memory trains', async () => {
    // Prepare
    const dir = await tempDir();
    const memory = await memoryReference();
    const server = await startRedisServer();
    try {
      // Act
      const own = await trainKmeans(dir, data, 'redis-own', ['--backend', 'redis']);
      const given = await trainKmeans(dir, data, 'redis-given', ['--backend', 'redis', '--redis-url', server.url]);

      // Assess
      expectSameModel(own.model, memory.model);
      expectSameModel(given.model, memory.model);
      expect(given.stdout).toMatch(/backend redis/);
    } finally {
      await server.close();
    }
  });

  it('redis with no redis-server to start: exit 1, one line saying how to install it', async () => {
    // Prepare
    const dir = await tempDir();
    const saved = process.env.REDIS_SERVER;
    process.env.REDIS_SERVER = join(dir, 'no-such-redis-server');
    try {
      // Act
      const result = await runBspml(['train', 'kmeans', '--data', data, '--k', '2', '--backend', 'redis', '--no-progress']);

      // Assess
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('bspml: error: state store starting a local redis-server failed: Error: redis-server is not installed: install it for --backend redis (Debian: apt-get install -y redis-server), set REDIS_SERVER to its path, or give --redis-url\n');
    } finally {
      if (saved === undefined) delete process.env.REDIS_SERVER;
      else process.env.REDIS_SERVER = saved;
    }
  });
});

describe('bench backends', () => {
  it('measures each backend, prints the table and writes JSON and an SVG chart', async () => {
    // Prepare
    const out = await tempDir();

    // Act
    const result = await runBspml(['bench', 'backends', '--out', out, '--backends', 'memory,s3', '--workers', '1,3', '--sizes', '1,8', '--rounds', '2']);
    const json = JSON.parse(await readFile(join(out, 'backends.json'), 'utf8')) as {
      cells: { backend: string; workers: number; partialBytes: number; rounds: number; syncMs: { p50: number }; perRound: { requests: number; bytesWritten: number; s3Put?: number }; aws: { costPer1000RoundsUsd: number } }[];
      caveat: string;
      prices: Record<string, { asOf: string; assumption: boolean }>;
    };
    const svg = await readFile(join(out, 'backends.svg'), 'utf8');

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\| backend +\| W \| partial/);
    expect(result.stdout).toMatch(/not AWS latencies/);
    expect(json.cells.map((c) => `${c.backend}/${c.workers}/${c.partialBytes}`)).toEqual([
      'memory/1/1024', 'memory/1/8192', 'memory/3/1024', 'memory/3/8192',
      's3/1/1024', 's3/1/8192', 's3/3/1024', 's3/3/8192',
    ]);
    for (const cell of json.cells) {
      expect(cell.rounds).toBe(2);
      expect(cell.syncMs.p50).toBeGreaterThanOrEqual(0);
      expect(cell.perRound.bytesWritten).toBeGreaterThanOrEqual(cell.workers * cell.partialBytes);
    }
    // Memory: one request per putPartial, arrive and partial read.
    expect(json.cells[2]!.perRound.requests).toBe(3 * 3);
    // S3 at W=1: PUT partial, PUT marker, LIST, PUT ticket, GET partial; 3 PUTs + 1 LIST at $0.005/1k, 1 GET at $0.0004/1k.
    expect(json.cells[4]!.perRound).toMatchObject({ requests: 5, s3Put: 3 });
    expect(json.cells[4]!.aws.costPer1000RoundsUsd).toBeCloseTo(1000 * (4 * 0.005 + 0.0004) / 1000, 6);
    expect(json.caveat).toMatch(/not AWS latencies/);
    expect(json.prices.elasticacheT4gSmallHour).toMatchObject({ assumption: true });
    expect(json.prices.s3Put).toMatchObject({ asOf: '2026-11-22', assumption: false });
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/<polyline /g)).toHaveLength(2 * 2);
  });
});
