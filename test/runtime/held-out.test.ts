import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { scoreValidation } from '../../src/cli/validation.js';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import type { JobSpecInput } from '../../src/domain/spec.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';

/*
 * Issue 19: held-out metrics scored in the rounds. A spec with `validation` (or `holdout`) gets its
 * figures from the aggregation that ends the job (protocol/heldOut.ts), in the job's result: the
 * same rounds as without it (no extra round), scikit-learn's held-out figures
 * (test/fixtures/labels/*-valid-sklearn.json, scripts/labels.py), and the same figures as
 * `bspml train` computes on its side from the written model (cli/validation.ts).
 */

const LABELS = new URL('../fixtures/labels/', import.meta.url).pathname;
const runtimes: LocalRuntime[] = [];

function runtime(): LocalRuntime {
  const r = new LocalRuntime({ store: new MemoryStore(), datasets: new FileDatasetSource(), defaultThreads: 1 });
  runtimes.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

describe('held-out figures from the job\'s last aggregation', () => {
  it('a spec with validation: scikit-learn\'s held-out figures to 1e-6 in result.validation, with the same rounds and model as without it', async () => {
    // Prepare
    const base: JobSpecInput = { algorithm: 'logreg', data: { uri: `${LABELS}iris-train.csv`, labelColumn: 'species' }, C: 1, tol: 1e-10, maxRounds: 300, workers: 2 };
    const reference = JSON.parse(await readFile(`${LABELS}iris-valid-sklearn.json`, 'utf8')) as { rows: number; accuracy: number; logLoss: number; f1: number; confusion: number[][] };

    // Act
    const plain = await runtime().train(base);
    const scored = await runtime().train({ ...base, validation: `${LABELS}iris-valid.csv` });

    // Assess
    const { validation, ...model } = scored.result;
    expect(model).toEqual(plain.result);
    expect(scored.rounds.length).toBe(plain.rounds.length);
    const v = validation as unknown as { uri: string; rows: number; accuracy: number; logLoss: number; f1: number; confusion: number[][] };
    expect(v.uri).toBe(`${LABELS}iris-valid.csv`);
    expect(v.rows).toBe(reference.rows);
    expect(Math.abs(v.accuracy - reference.accuracy)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(v.logLoss - reference.logLoss)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(v.f1 - reference.f1)).toBeLessThanOrEqual(1e-6);
    expect(v.confusion).toEqual(reference.confusion);
  }, 60_000);

  it.each([
    { what: 'k-means (held-out inertia)', spec: { algorithm: 'kmeans', k: 3, data: { uri: `${LABELS}iris-bool.csv`, drop: ['virginica'] }, holdout: 0.3, workers: 3 } },
    { what: 'a one-vs-rest SVM', spec: { algorithm: 'svm', data: { uri: `${LABELS}iris.csv`, labelColumn: 'species' }, C: 1, holdout: 0.25, workers: 2 } },
  ] as { what: string; spec: JobSpecInput }[])('a spec with holdout, $what: the figures bspml train computes from the written model on the same held-out rows', async ({ spec }) => {
    // Act
    const outcome = await runtime().train(spec);

    // Assess
    const { validation, ...model } = outcome.result;
    expect(validation).toBeDefined();
    const expected = await scoreValidation(spec.data.uri, model, undefined, { fraction: spec.holdout!, seed: 42, keep: 'holdout' });
    expect(validation).toEqual(expected);
    expect(validation!.rows).toBeGreaterThan(0);
  }, 60_000);

  it('a validation set without the model\'s label column fails the job with one line naming the file and the field', async () => {
    // Act
    const run = runtime().train({ algorithm: 'logreg', data: { uri: `${LABELS}cancer-pm1.csv`, labelColumn: 'diagnosis' }, validation: `${LABELS}iris-bool.csv`, maxRounds: 3 });

    // Assess: iris-bool has no "diagnosis" column.
    await expect(run).rejects.toThrow(`${LABELS}iris-bool.csv: field "diagnosis": has no label column "diagnosis" to score the model against`);
  }, 60_000);
});
