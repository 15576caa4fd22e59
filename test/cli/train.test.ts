import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * Happy paths of the CLI, run in-process on small generated data: the model files `train --out`
 * writes, the report it prints, and `predict` applied to those models.
 */

const tempDir = useTempDirs();

/** Small and quick on two cores: a few thousand rows, few workers, one thread each. */
const FAST = ['--workers', '2', '--threads', '1', '--no-progress'];

interface KmeansModelFile {
  algorithm: 'kmeans';
  k: number;
  dims: number;
  featureNames: string[];
  centroids: number[][];
  counts: number[];
  inertia: number;
  rounds: number;
  converged: boolean;
}

interface LogregModelFile {
  algorithm: 'logreg';
  dims: number;
  featureNames: string[];
  labelName: string;
  weights: number[];
  bias: number;
  loss: number;
  accuracy: number;
  rounds: number;
  converged: boolean;
}

async function gen(kind: 'blobs' | 'classification', out: string, extra: string[] = []): Promise<string> {
  const result = await runBspml(['gen', kind, '--out', out, ...extra]);
  expect(result.code, result.stderr).toBe(0);
  return result.stderr;
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** A CSV as gen writes it: a header, then rows of numbers (read as float32, as the CLI does). */
async function readCsv(file: string): Promise<{ header: string[]; rows: number[][] }> {
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((line) => line.split(',').map((v) => Math.fround(Number(v)))) };
}

/** predict's CSV output: a header line and one row per input row. */
async function readPredictions(text: string): Promise<{ header: string; rows: string[][] }> {
  const lines = text.trimEnd().split('\n');
  return { header: lines[0]!, rows: lines.slice(1).map((line) => line.split(',')) };
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function nearest(centroids: number[][], x: number[]): { index: number; distance: number } {
  let index = 0;
  let best = Infinity;
  centroids.forEach((c, i) => {
    const d = c.reduce((s, v, j) => s + (x[j]! - v) ** 2, 0);
    if (d < best) {
      best = d;
      index = i;
    }
  });
  return { index, distance: Math.sqrt(best) };
}

const MS = String.raw`[\d,.]+ m?s`;
const BYTES = String.raw`[\d.]+ (?:B|KB|MB)`;

describe('bspml train kmeans', () => {
  it('writes the documented model fields and reports rounds, inertia, time split and store traffic', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'blobs.csv');
    const out = join(dir, 'model.json');
    const genNote = await gen('blobs', data, ['--rows', '2000', '--dims', '3', '--centers', '4', '--seed', '7']);
    const centres = JSON.parse(/centres (\[.*\])$/m.exec(genNote)![1]!) as number[][];

    // Act
    const result = await runBspml(['train', 'kmeans', '--data', data, '--k', '4', '--out', out, ...FAST]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const model = await readJson<KmeansModelFile>(out);
    expect(model).toMatchObject({
      algorithm: 'kmeans',
      k: 4,
      dims: 3,
      featureNames: ['x0', 'x1', 'x2'],
      centroids: expect.any(Array),
      inertia: expect.any(Number),
      rounds: expect.any(Number),
      converged: true,
    });
    expect(model.centroids).toHaveLength(4);
    for (const c of model.centroids) expect(c).toHaveLength(3);
    expect(model.counts.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(Number.isInteger(model.rounds) && model.rounds >= 1 && model.rounds <= 100).toBe(true);
    // Unit-variance blobs: each centre is found, and inertia is about rows × dims.
    const found = centres.map((centre) => nearest(model.centroids, centre));
    expect(new Set(found.map((f) => f.index)).size).toBe(4);
    for (const f of found) expect(f.distance).toBeLessThan(0.25);
    expect(model.inertia).toBeGreaterThan(2000 * 3 * 0.9);
    expect(model.inertia).toBeLessThan(2000 * 3 * 1.1);

    const report = result.stdout;
    expect(report).toMatch(new RegExp(`^k-means, k = 4, on ${escape(data)} \\(2,000 rows × 3 features\\)$`, 'm'));
    expect(report).toMatch(/^job\s+\S+: 2 workers × 1 threads, backend memory$/m);
    expect(report).toMatch(new RegExp(`^rounds\\s+${model.rounds}, converged \\(largest centroid shift \\S+ ≤ tol 0\\.0001\\)$`, 'm'));
    expect(report).toMatch(/^inertia\s+[\d,.]+\s+cluster sizes \d[\d,]*(?:, \d[\d,]*){3}$/m);
    expect(Number(/^inertia\s+([\d,.]+)/m.exec(report)![1]!.replace(/,/g, ''))).toBeCloseTo(model.inertia, 1);
    expect(report).toMatch(new RegExp(`^wall\\s+${MS} = compute ${MS} \\+ synchronisation ${MS} \\+ other ${MS}$`, 'm'));
    expect(report).toMatch(new RegExp(`^per round\\s+compute ${MS}, synchronisation ${MS}; store \\d+\\.\\d requests, ${BYTES} written, ${BYTES} read$`, 'm'));
    expect(report).toMatch(new RegExp(`^model\\s+written to ${escape(out)}$`, 'm'));
    // No temp file is left beside the model.
    expect((await readdir(dir)).sort()).toEqual(['blobs.csv', 'model.json']);
  });

  it('--backend dynamodb (in-process dynalite) finds the same centroids as --backend memory', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'blobs.csv');
    await gen('blobs', data, ['--rows', '1000', '--dims', '2', '--centers', '3', '--seed', '11']);
    const memoryOut = join(dir, 'memory.json');
    const dynamoOut = join(dir, 'dynamodb.json');
    const args = ['train', 'kmeans', '--data', data, '--k', '3', '--seed', '5', '--workers', '3', '--threads', '1', '--no-progress'];

    // Act
    const memory = await runBspml([...args, '--backend', 'memory', '--out', memoryOut]);
    const dynamo = await runBspml([...args, '--backend', 'dynamodb', '--out', dynamoOut]);

    // Assess
    expect(memory.code, memory.stderr).toBe(0);
    expect(dynamo.code, dynamo.stderr).toBe(0);
    expect(dynamo.stdout).toMatch(/^job\s+\S+: 3 workers × 1 threads, backend dynamodb$/m);
    const a = await readJson<KmeansModelFile>(memoryOut);
    const b = await readJson<KmeansModelFile>(dynamoOut);
    expect(b.centroids).toEqual(a.centroids);
    expect(b.counts).toEqual(a.counts);
    expect(b.inertia).toBe(a.inertia);
    expect(b.rounds).toBe(a.rounds);
  });

  it('binary data trains to the same model as the same data in CSV', async () => {
    // Prepare
    const dir = await tempDir();
    const csv = join(dir, 'blobs.csv');
    const bin = join(dir, 'blobs.bin');
    const options = ['--rows', '1500', '--dims', '4', '--centers', '3', '--seed', '3'];
    await gen('blobs', csv, options);
    const binNote = await gen('blobs', bin, options);
    expect(binNote).toMatch(/binary float32/);
    const args = ['train', 'kmeans', '--k', '3', ...FAST];

    // Act
    const fromCsv = await runBspml([...args, '--data', csv, '--out', join(dir, 'csv.json')]);
    const fromBin = await runBspml([...args, '--data', bin, '--out', join(dir, 'bin.json')]);

    // Assess
    expect(fromCsv.code, fromCsv.stderr).toBe(0);
    expect(fromBin.code, fromBin.stderr).toBe(0);
    const a = await readJson<KmeansModelFile & { jobId: string; data: string }>(join(dir, 'csv.json'));
    const b = await readJson<KmeansModelFile & { jobId: string; data: string }>(join(dir, 'bin.json'));
    const strip = ({ jobId: _jobId, data: _data, ...rest }: typeof a) => rest;
    expect(strip(b)).toEqual(strip(a));
  });
});

describe('bspml train logreg', () => {
  it('writes the documented model fields, with input-space weights that reproduce the reported accuracy', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'classes.csv');
    const out = join(dir, 'model.json');
    await gen('classification', data, ['--rows', '2000', '--dims', '4', '--seed', '9']);

    // Act
    const result = await runBspml(['train', 'logreg', '--data', data, '--out', out, ...FAST]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const model = await readJson<LogregModelFile>(out);
    expect(model).toMatchObject({
      algorithm: 'logreg',
      solver: 'newton',
      dims: 4,
      featureNames: ['x0', 'x1', 'x2', 'x3'],
      labelName: 'label',
      weights: expect.any(Array),
      bias: expect.any(Number),
      loss: expect.any(Number),
      accuracy: expect.any(Number),
      rounds: expect.any(Number),
    });
    expect(model.weights).toHaveLength(4);
    expect(model.accuracy).toBeGreaterThanOrEqual(0.99);
    expect(model.loss).toBeGreaterThan(0);
    expect(model.loss).toBeLessThan(0.3);

    // The weights apply to the raw columns of the file (not standardised ones).
    const { header, rows } = await readCsv(data);
    expect(header).toEqual(['x0', 'x1', 'x2', 'x3', 'label']);
    let correct = 0;
    for (const row of rows) {
      const z = model.bias + model.weights.reduce((s, w, j) => s + w * row[j]!, 0);
      if ((z >= 0 ? 1 : 0) === row[4]) correct++;
    }
    expect(correct / rows.length).toBe(model.accuracy);

    expect(result.stdout).toMatch(/^logistic regression \(newton\), l2 = 0, on .+ \(2,000 rows × 4 features\)$/m);
    expect(result.stdout).toMatch(new RegExp(`^rounds\\s+${model.rounds}, (?:converged|stopped at max rounds) \\(gradient norm \\S+ [≤>] tol 0\\.0001\\)$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^loss\\s+\\S+\\s+accuracy ${escape((model.accuracy * 100).toFixed(2))}% \\(training data\\)$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^wall\\s+${MS} = compute ${MS} \\+ synchronisation ${MS} \\+ other ${MS}$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^per round\\s+compute ${MS}, synchronisation ${MS}; store \\d+\\.\\d requests, ${BYTES} written, ${BYTES} read$`, 'm'));
  });
});

describe('bspml predict', () => {
  it('k-means: one row per input row with the nearest centroid\'s id and distance', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'blobs.csv');
    const model = join(dir, 'model.json');
    const out = join(dir, 'predictions.csv');
    await gen('blobs', data, ['--rows', '1200', '--dims', '2', '--centers', '3', '--seed', '21']);
    const trained = await runBspml(['train', 'kmeans', '--data', data, '--k', '3', '--out', model, ...FAST]);
    expect(trained.code, trained.stderr).toBe(0);
    const { centroids, counts } = await readJson<KmeansModelFile>(model);

    // Act
    const result = await runBspml(['predict', '--model', model, '--data', data, '--out', out]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`predicted 1200 rows; cluster sizes ${counts.join(', ')}; written to ${out}\n`);
    const predictions = await readPredictions(await readFile(out, 'utf8'));
    expect(predictions.header).toBe('cluster,distance');
    expect(predictions.rows).toHaveLength(1200);
    const { rows } = await readCsv(data);
    predictions.rows.forEach(([cluster, distance], i) => {
      expect(cluster).toMatch(/^[0-2]$/);
      const expected = nearest(centroids, rows[i]!);
      expect(Number(cluster)).toBe(expected.index);
      expect(Number(distance)).toBeCloseTo(expected.distance, 9);
    });
  });

  it('k-means: without --out the predictions go to standard output and the summary to standard error', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'blobs.bin');
    const model = join(dir, 'model.json');
    await gen('blobs', data, ['--rows', '600', '--dims', '2', '--centers', '2', '--seed', '4']);
    const trained = await runBspml(['train', 'kmeans', '--data', data, '--k', '2', '--out', model, '--workers', '2', '--threads', '1', '--no-progress']);
    expect(trained.code, trained.stderr).toBe(0);
    const { counts } = await readJson<KmeansModelFile>(model);

    // Act
    const result = await runBspml(['predict', '--model', model, '--data', data]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`predicted 600 rows; cluster sizes ${counts.join(', ')}\n`);
    const predictions = await readPredictions(result.stdout);
    expect(predictions.header).toBe('cluster,distance');
    expect(predictions.rows).toHaveLength(600);
    for (const [cluster] of predictions.rows) expect(cluster).toMatch(/^[01]$/);
  });

  it('logreg: one row per input row with P(label = 1) and the 0/1 label, scored against the label column', async () => {
    // Prepare
    const dir = await tempDir();
    const data = join(dir, 'classes.csv');
    const model = join(dir, 'model.json');
    const out = join(dir, 'predictions.csv');
    await gen('classification', data, ['--rows', '1000', '--dims', '3', '--seed', '13']);
    const trained = await runBspml(['train', 'logreg', '--data', data, '--out', model, ...FAST]);
    expect(trained.code, trained.stderr).toBe(0);
    const { weights, bias, accuracy } = await readJson<LogregModelFile>(model);

    // Act
    const result = await runBspml(['predict', '--model', model, '--data', data, '--out', out]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`predicted 1000 rows; accuracy ${(accuracy * 100).toFixed(2)}% against column "label"; written to ${out}\n`);
    const predictions = await readPredictions(await readFile(out, 'utf8'));
    expect(predictions.header).toBe('prediction,probability');
    expect(predictions.rows).toHaveLength(1000);
    const { rows } = await readCsv(data);
    predictions.rows.forEach(([label, probability], i) => {
      const p = Number(probability);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
      const x = rows[i]!;
      expect(p).toBeCloseTo(sigmoid(bias + weights.reduce((s, w, j) => s + w * x[j]!, 0)), 12);
      expect(label).toBe(p >= 0.5 ? '1' : '0');
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
