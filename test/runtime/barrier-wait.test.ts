import { describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { BarrierWaitRuntime } from '../../src/runtime/BarrierWaitRuntime.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { useDynaliteTable } from '../helpers/dynalite-table.js';
import { blobs, separable } from '../helpers/data.js';

/*
 * `--sync barrier-wait` (the WoSC'23 paper's design: long-lived workers polling a barrier) runs the
 * same partials, merge order and update as the event-driven default, so it must train the same
 * model bit for bit, on any store.
 */

const datasets = new MemoryDatasetSource()
  .add('blobs', blobs([[0, 0], [6, 6], [-6, 6], [6, -6]], 150, 2, 3))
  .add('separable', separable(600, 3, 9));
const SPECS = {
  kmeans: { algorithm: 'kmeans', k: 4, seed: 7, workers: 3, threads: 1, maxRounds: 4, tol: 0, data: { uri: 'blobs' } },
  logreg: { algorithm: 'logreg', lr: 0.5, l2: 0.001, workers: 3, threads: 1, maxRounds: 4, tol: 0, data: { uri: 'separable' } },
} as const;

const dynamo = useDynaliteTable('bspml-barrier-wait');

const STORES: Record<string, () => StateStore> = {
  memory: () => new MemoryStore(),
  dynamodb: () => dynamo.open(),
};

describe('--sync barrier-wait', () => {
  for (const [storeName, open] of Object.entries(STORES)) {
    for (const [algorithm, spec] of Object.entries(SPECS)) {
      it(`${algorithm} on ${storeName}: the same model bit for bit as the event-driven runtime, with its waiting counted`, async () => {
        // Prepare
        const eventStore = open();
        const waitStore = open();
        const event = new LocalRuntime({ store: eventStore, datasets, defaultThreads: 1 });
        const barrierWait = new BarrierWaitRuntime({ store: waitStore, datasets });
        try {
          // Act
          const expected = await event.train(spec);
          const actual = await barrierWait.train(spec);

          // Assess
          expect(actual.result).toEqual(expected.result);
          expect(actual.rounds.map((r) => r.objective)).toEqual(expected.rounds.map((r) => r.objective));
          expect(actual.rounds).toHaveLength(expected.rounds.length);
          expect(actual.polls).toBeGreaterThanOrEqual(expected.rounds.length);
          expect(actual.waitMs).toBeGreaterThan(0);
          expect(actual.workerMs).toBeGreaterThan(actual.waitMs);
        } finally {
          await Promise.all([event.close(), barrierWait.close()]);
          await Promise.all([eventStore.close(), waitStore.close()]);
        }
      });
    }
  }

  it('fails the job, and every waiting worker stops, when one worker cannot compute', async () => {
    // Prepare: a data set that vanishes after the job has started (shard loads fail).
    const flaky = new MemoryDatasetSource().add('blobs', blobs([[0, 0], [6, 6]], 60, 1, 5));
    const original = flaky.loadShard.bind(flaky);
    flaky.loadShard = async (ref, shard, shards) => {
      if (shard === 1) throw new Error('shard 1 is unreadable');
      return original(ref, shard, shards);
    };
    const runtime = new BarrierWaitRuntime({ store: new MemoryStore(), datasets: flaky, defaultThreads: 1 });
    try {
      // Act
      const error = await runtime.train({ ...SPECS.kmeans, k: 2 }).catch((err: unknown) => err);

      // Assess
      expect(error).toMatchObject({ code: 'E_JOB_FAILED' });
      expect((error as Error).message).toMatch(/shard 1 of round 0 failed: shard 1 is unreadable/);
    } finally {
      await runtime.close();
    }
  });
});
