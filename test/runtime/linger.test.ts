import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { useDynaliteTable } from '../helpers/dynalite-table.js';
import { blobs, separable } from '../helpers/data.js';

/*
 * `sync: 'linger'` (workers that wait for the next round in the same invocation) computes the same
 * partials from the same models as the event-driven mode; only who computes them differs. So the
 * model must be the same bit for bit, on any store, and the workers must really have lingered.
 */

const datasets = new MemoryDatasetSource()
  .add('blobs', blobs([[0, 0], [6, 6], [-6, 6], [6, -6]], 150, 2, 3))
  .add('separable', separable(600, 3, 9));
const SPECS = {
  kmeans: { algorithm: 'kmeans', k: 4, seed: 7, workers: 4, threads: 1, maxRounds: 5, tol: 0, data: { uri: 'blobs' } },
  logreg: { algorithm: 'logreg', lr: 0.5, l2: 0.001, workers: 3, threads: 1, maxRounds: 4, tol: 0, data: { uri: 'separable' } },
} as const;

const dynamo = useDynaliteTable('bspml-linger');

const STORES: Record<string, () => StateStore> = {
  memory: () => new MemoryStore(),
  dynamodb: () => dynamo.open(),
};

describe('--sync linger on the local runtime', () => {
  // One runtime per store for both modes: its containers (and their threads) are started once.
  const runtimes: { runtime: LocalRuntime; store: StateStore }[] = [];
  afterAll(async () => {
    for (const { runtime, store } of runtimes) {
      await runtime.close();
      await store.close();
    }
  });

  for (const [storeName, open] of Object.entries(STORES)) {
    let shared: LocalRuntime | undefined;
    const runtime = () => {
      if (!shared) {
        const store = open();
        shared = new LocalRuntime({ store, datasets, defaultThreads: 1 });
        runtimes.push({ runtime: shared, store });
      }
      return shared;
    };
    for (const [algorithm, spec] of Object.entries(SPECS)) {
      it(`${algorithm} on ${storeName}: the same model bit for bit as --sync event, its rounds computed by workers that waited`, async () => {
        // Prepare: a budget long enough for any round here (a slow CI machine included).
        const local = runtime();

        // Act
        const expected = await local.train(spec);
        const actual = await local.train({ ...spec, sync: 'linger', lingerMs: 20_000 });

        // Assess
        expect(actual.result).toEqual(expected.result);
        expect(actual.rounds.map((r) => r.objective)).toEqual(expected.rounds.map((r) => r.objective));
        // Every task after the preparation round's was computed by a worker that waited for it.
        const rounds = actual.rounds.length;
        expect(actual.workers!.lingeredRounds).toBe(spec.workers * rounds);
        expect(actual.workers!.invocations).toBe(spec.workers);
        expect(expected.workers!.lingeredRounds).toBe(0);
        expect(expected.workers!.invocations).toBe(spec.workers * (rounds + 1));
        // The last round's claims end with the job, not with the budget.
        expect(actual.workers!.released).toBe(0);
        expect(actual.workers!.waitedMs).toBeLessThan(20_000);
      });
    }
  }

  it('a budget too short for the round: every claim is released and the rounds are published, same model', async () => {
    // Prepare
    const spec = SPECS.kmeans;
    const runtime = new LocalRuntime({ store: new MemoryStore(), datasets, defaultThreads: 1 });
    try {
      // Act
      const expected = await runtime.train(spec);
      const actual = await runtime.train({ ...spec, sync: 'linger', lingerMs: 0 });

      // Assess
      expect(actual.result).toEqual(expected.result);
      expect(actual.workers).toMatchObject({ lingeredRounds: 0, claims: 0, invocations: spec.workers * (actual.rounds.length + 1) });
    } finally {
      await runtime.close();
    }
  });

  it('refuses to linger with fewer containers than workers, naming the option', async () => {
    // Prepare
    const runtime = new LocalRuntime({ store: new MemoryStore(), datasets, defaultThreads: 1, concurrency: 2 });
    try {
      // Act
      const refused = runtime.train({ ...SPECS.kmeans, sync: 'linger' });

      // Assess
      await expect(refused).rejects.toThrow('--sync linger needs a container per worker: --concurrency 2 is below --workers 4 (raise --concurrency)');
    } finally {
      await runtime.close();
    }
  });

  it('refuses lingerMs without sync linger', async () => {
    const runtime = new LocalRuntime({ store: new MemoryStore(), datasets, defaultThreads: 1 });
    try {
      await expect(runtime.train({ ...SPECS.kmeans, lingerMs: 100 })).rejects.toThrow('lingerMs (--linger-ms): only with sync linger, not event');
    } finally {
      await runtime.close();
    }
  });
});
