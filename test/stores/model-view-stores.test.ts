import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { BACKENDS, openStore, type Backend } from '../../src/emulators/open.js';
import { findRedisServer } from '../../src/emulators/redis-server.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import { manyClasses } from '../helpers/data.js';
import { harness } from '../helpers/protocol.js';

/*
 * A job whose model is stored split (src/protocol/modelView.ts) trains the same model bit for bit on
 * every store, with the same view of each round, whether its workers get the view in their task or
 * read it from the store (each store's getModelView).
 */

const datasets = new MemoryDatasetSource().add('classes', manyClasses(60, 5, 4, 13));
const SPECS = {
  lbfgs: { algorithm: 'logreg', solver: 'lbfgs', l2: 0.01, workers: 2, threads: 1, maxRounds: 3, tol: 0, data: { uri: 'classes' } },
  giant: { algorithm: 'logreg', solver: 'giant', l2: 0.01, workers: 2, threads: 1, maxRounds: 3, tol: 0, data: { uri: 'classes' } },
} as const;
type Solver = keyof typeof SPECS;

const hasRedis = findRedisServer() !== undefined;
const backends = BACKENDS.filter((b) => b !== 'redis' || hasRedis);

interface Trained {
  model: Buffer;
  views: Buffer[];
  reads: number;
}

let container: WorkerContainer;
const stores = new Map<Backend, StateStore>();
const trained = new Map<string, Trained>();

beforeAll(async () => {
  container = new WorkerContainer(1);
  for (const backend of backends) stores.set(backend, await openStore(backend));
});
afterAll(async () => {
  await container?.close();
  for (const store of stores.values()) await store.close();
});

/** Trains `solver`'s job on `store`; `strip`: tasks lose their model, so workers read the view from the store. */
async function train(store: StateStore, jobId: string, solver: Solver, strip: boolean): Promise<Trained> {
  let reads = 0;
  const counting: StateStore = Object.assign(Object.create(store) as StateStore, {
    getModelView: async (id: string, round: number) => {
      reads++;
      return store.getModelView(id, round);
    },
  });
  const h = harness(counting, datasets);
  await startJob(h.deps, { jobId, spec: SPECS[solver] });
  for (;;) {
    const task = h.fanout.pending.shift();
    if (task) {
      if (strip) delete task.model;
      await runWorker(h.deps, container, task);
      continue;
    }
    const message = h.completion.pending.shift();
    if (!message) break;
    await aggregate(h.deps, message);
  }
  const job = await store.getJob(jobId);
  expect(job?.status, job?.error).toBe('SUCCEEDED');
  const views: Buffer[] = [];
  for (let round = 1; round <= job!.round + 1; round++) views.push(Buffer.from((await store.getModelView(jobId, round))!));
  return { model: Buffer.from((await store.getModel(jobId, job!.round + 1))!), views, reads };
}

describe.each(Object.keys(SPECS) as Solver[])('multinomial %s, its model stored split', (solver) => {
  it.each(backends)('on %s: the same model and views bit for bit as memory, views read from the store or carried in the tasks', async (backend) => {
    // Prepare: memory's reference, once per solver.
    if (!trained.has(solver)) trained.set(solver, await train(stores.get('memory')!, `reference-${solver}`, solver, false));
    const reference = trained.get(solver)!;
    const store = stores.get(backend)!;

    // Act
    const read = await train(store, `${backend}-${solver}-read`, solver, true);
    const carried = await train(store, `${backend}-${solver}-carried`, solver, false);

    // Assess: 3 training rounds of 2 workers, each reading the view once; none when it rides.
    expect(read.reads).toBe(6);
    expect(carried.reads).toBe(0);
    for (const run of [read, carried]) {
      expect(run.model.equals(reference.model)).toBe(true);
      expect(run.views).toHaveLength(reference.views.length);
      run.views.forEach((view, i) => expect(view.equals(reference.views[i]!), `view of round ${i + 1}`).toBe(true));
      expect(run.views[0]!.byteLength).toBeLessThan(run.model.byteLength);
    }
  });
});
