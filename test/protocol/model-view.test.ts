import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { algorithmByName } from '../../src/algorithms/index.js';
import type { Shape } from '../../src/algorithms/types.js';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { RoundTask } from '../../src/domain/job.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { HAND_OVER_MODEL_MAX_BYTES } from '../../src/protocol/handOver.js';
import { encodeView, roundModel, splitsModel, workerModel } from '../../src/protocol/modelView.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { Rng } from '../../src/util/random.js';
import { manyClasses } from '../helpers/data.js';
import { harness, type Harness } from '../helpers/protocol.js';

/*
 * The workers' view of a round's model (src/protocol/modelView.ts): where the partial reads a strict
 * part of the model (the algorithm's threadRanges), workers read, are sent and are handed over that
 * part alone, and the model is the same bit for bit.
 */

const logreg = algorithmByName('logreg');
const kmeans = algorithmByName('kmeans');
const WIDE: Shape = { algorithm: 'logreg', dims: 784, k: 1, solver: 'lbfgs', classes: 10 };
const GIANT: Shape = { ...WIDE, solver: 'giant' };

/** A model of `shape`'s length with distinct values everywhere (none zero). */
function filled(shape: Shape, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: logreg.modelLength(shape) }, () => 1 + rng.normal());
}

/** The model a worker rebuilds from `model`'s view: its ranges' values, zeros elsewhere. */
function expectedWorkerModel(shape: Shape, model: Float64Array): Float64Array {
  const out = new Float64Array(model.length);
  for (const [from, to] of logreg.threadRanges!(shape, model)) out.set(model.subarray(from, to), from);
  return out;
}

describe('the view of a model', () => {
  it('splits multinomial L-BFGS and GIANT, and neither k-means nor gradient descent, whose partials read the whole model', () => {
    // Prepare
    const gd: Shape = { algorithm: 'logreg', dims: 300, k: 1, solver: 'gd' };
    const centroids: Shape = { algorithm: 'kmeans', dims: 32, k: 16 };

    // Act
    const wide = roundModel(logreg, WIDE, filled(WIDE, 1));

    // Assess: 784 × 10 L-BFGS: 2.8 MB of model, of which the 7,850 weights and biases (and a header) go to the workers.
    expect(wide.split).toBe(true);
    expect(wide.state.byteLength).toBe(2_838_600);
    expect(wide.view.byteLength).toBe(16 + 8 + 7_850 * 8);
    expect(wide.view.byteLength).toBeLessThanOrEqual(HAND_OVER_MODEL_MAX_BYTES);
    expect(splitsModel(logreg, GIANT)).toBe(true);
    expect(splitsModel(logreg, gd)).toBe(false);
    expect(splitsModel(kmeans, centroids)).toBe(false);
    const whole = roundModel(logreg, gd, filled(gd, 2));
    expect(whole.view).toBe(whole.state);
  });

  it.each([
    ['L-BFGS', WIDE, 0],
    ['GIANT, evaluate round', GIANT, 0],
    ['GIANT, solve round', GIANT, 1],
  ])('%s: the worker rebuilds the ranges its threads read, bit for bit, and zeros elsewhere', (_label, shape, phase) => {
    // Prepare: GIANT's phase decides its ranges (it is the value after the shared tail).
    const model = filled(shape, 3);
    if (shape.solver === 'giant') model[logreg.modelLength(shape) - (3 + 10 * 785)] = phase;

    // Act
    const view = encodeView(logreg, shape, model);
    const rebuilt = workerModel(logreg, shape, view);

    // Assess
    expect(rebuilt).toBeInstanceOf(Float64Array);
    expect(Buffer.from((rebuilt as Float64Array).buffer).equals(Buffer.from(expectedWorkerModel(shape, model).buffer))).toBe(true);
    expect(logreg.threadRanges!(shape, rebuilt as Float64Array)).toEqual(logreg.threadRanges!(shape, model));
    expect(view.byteLength).toBeLessThan(model.byteLength / 2);
  });

  it('refuses bytes that are not a view of the job model, naming why', () => {
    // Prepare
    const model = filled(WIDE, 4);
    const view = encodeView(logreg, WIDE, model);
    // The same values under the range [1, 7851): as many values, not the ranges the model gives.
    const otherRanges = new Uint8Array(view);
    new DataView(otherRanges.buffer).setUint32(16, 1, true);
    new DataView(otherRanges.buffer).setUint32(20, 7851, true);
    const narrower: Shape = { ...WIDE, dims: 783 };

    // Act
    const answers = {
      whole: workerModel(logreg, WIDE, new Uint8Array(model.buffer)),
      truncated: workerModel(logreg, WIDE, view.subarray(0, view.byteLength - 8)),
      otherRanges: workerModel(logreg, WIDE, otherRanges),
      otherShape: workerModel(logreg, narrower, view),
    };

    // Assess
    expect(answers.whole).toBe("is not a view of the job's model (no view header)");
    expect(answers.truncated).toBe('is a view whose ranges hold 7850 values in 7849');
    expect(answers.otherRanges).toBe('is a view of ranges [[1,7851]], where its model\'s are [[0,7850]]');
    expect(answers.otherShape).toBe(`is a view of a model of ${model.length} values, the job's has ${logreg.modelLength(narrower)}`);
  });
});

/** A memory store that counts the model bytes read, by who reads (set by the driver below). */
class CountingStore extends MemoryStore {
  reader: 'worker' | 'aggregator' = 'worker';
  readonly reads = { worker: { model: 0, view: 0, handed: 0 }, aggregator: { model: 0, view: 0, handed: 0 } };

  override async getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
    const bytes = await super.getModel(jobId, round);
    this.reads[this.reader].model += bytes?.byteLength ?? 0;
    return bytes;
  }

  override async getModelView(jobId: string, round: number): Promise<Uint8Array | undefined> {
    const bytes = await super.getModelView(jobId, round);
    this.reads[this.reader].view += bytes?.byteLength ?? 0;
    return bytes;
  }
}

/**
 * Runs a job's messages in order; `strip` drops the model from every task (as for a view too large to
 * ride); `before`: stops before the first task of that round. Returns the training tasks run.
 */
async function run(h: Harness, container: WorkerContainer, store: CountingStore, strip = false, before = Infinity): Promise<RoundTask[]> {
  const trained: RoundTask[] = [];
  for (;;) {
    if ((h.fanout.pending[0]?.round ?? -1) >= before) return trained;
    const task = h.fanout.pending.shift();
    if (task) {
      if (strip) delete task.model;
      if (task.round > 0) trained.push(task);
      store.reader = 'worker';
      await runWorker(h.deps, container, task);
      continue;
    }
    const message = h.completion.pending.shift();
    if (!message) return trained;
    store.reader = 'aggregator';
    await aggregate(h.deps, message);
  }
}

describe('what a worker of multinomial L-BFGS at 784 columns × 10 classes reads', () => {
  // 60 rows: W = 3 shards of 20 rows, each class in each shard.
  const datasets = new MemoryDatasetSource().add('wide', manyClasses(60, 784, 10, 21));
  const SPEC = { algorithm: 'logreg', solver: 'lbfgs', l2: 0.01, workers: 3, threads: 1, maxRounds: 3, tol: 0, data: { uri: 'wide' } } as const;
  const MODEL_BYTES = logreg.modelLength(WIDE) * 8;
  const VIEW_BYTES = 16 + 8 + 7_850 * 8;
  let container: WorkerContainer;
  const finals: Buffer[] = [];

  beforeAll(() => {
    container = new WorkerContainer(1);
  });
  afterAll(async () => {
    await container?.close();
  });

  it('from the store, when its task carries no model: the view, 62,824 bytes a round, never the 2.8 MB model', async () => {
    // Prepare
    const store = new CountingStore();
    const h = harness(store, datasets);
    await startJob(h.deps, { jobId: 'stripped', spec: SPEC });

    // Act
    const trained = await run(h, container, store, true);

    // Assess
    const job = await store.getJob('stripped');
    expect(job?.status).toBe('SUCCEEDED');
    expect(trained).toHaveLength(3 * 3);
    expect(store.reads.worker.model).toBe(0);
    expect(store.reads.worker.view / trained.length).toBe(VIEW_BYTES);
    expect(store.reads.worker.view / trained.length).toBeLessThan(MODEL_BYTES / 40);
    // The aggregator reads the model whole, once per training round but the first (round 1's came from the preparation round).
    expect(store.reads.aggregator.model).toBe(3 * MODEL_BYTES);
    expect(store.reads.aggregator.view).toBe(0);
    finals.push(Buffer.from((await store.getModel('stripped', job!.round + 1))!));
  });

  it('nothing from the store when its task carries the view, which now rides in the message (83,768 base64 characters)', async () => {
    // Prepare
    const store = new CountingStore();
    const h = harness(store, datasets);
    await startJob(h.deps, { jobId: 'inline', spec: SPEC });

    // Act
    const trained = await run(h, container, store);

    // Assess
    const job = await store.getJob('inline');
    expect(job?.status).toBe('SUCCEEDED');
    expect(store.reads.worker).toEqual({ model: 0, view: 0, handed: 0 });
    for (const task of trained) {
      expect(task.model?.length).toBe(83_768);
      expect(Buffer.from(task.model!, 'base64').equals(Buffer.from((await store.getModelView('inline', task.round))!))).toBe(true);
    }
    // The same model bit for bit, whichever way the workers got the view.
    finals.push(Buffer.from((await store.getModel('inline', job!.round + 1))!));
    expect(finals).toHaveLength(2);
    expect(finals[0]!.equals(finals[1]!)).toBe(true);
  });

  it('in a lingering job, the hand-over carries the view (62,824 ≤ 65,536 bytes) to every group', async () => {
    // Prepare
    const store = new CountingStore();
    const h = harness(store, datasets);
    await startJob(h.deps, { jobId: 'linger', spec: { ...SPEC, sync: 'linger', lingerMs: 1000 } });

    // Act: no worker lingers here (every shard is published); the hand-over of round 2 is made all the same.
    await run(h, container, store, false, 2);
    const polls = await Promise.all([0, 1, 2].map((shard) => store.handedOver('linger', 2, shard, 3)));

    // Assess
    expect((await store.getJob('linger'))?.round).toBe(2);
    const view = Buffer.from((await store.getModelView('linger', 2))!);
    expect(view.byteLength).toBe(VIEW_BYTES);
    for (const poll of polls) {
      expect(poll.signal).toBe('handed');
      expect(Buffer.from(poll.model!).equals(view)).toBe(true);
    }
  });
});

describe('a crash between storing the model and its view', () => {
  const datasets = new MemoryDatasetSource().add('narrow', manyClasses(48, 6, 4, 5));
  const SPEC = { algorithm: 'logreg', solver: 'lbfgs', l2: 0.01, workers: 3, threads: 1, maxRounds: 4, tol: 0, data: { uri: 'narrow' } } as const;
  let container: WorkerContainer;

  beforeAll(() => {
    container = new WorkerContainer(1);
  });
  afterAll(async () => {
    await container?.close();
  });

  /** Fails the n-th putModelView (1-based) after storing nothing: the aggregation dies between its writes. */
  class FailingViews extends MemoryStore {
    views = 0;
    constructor(private readonly fails: number) {
      super();
    }
    override async putModelView(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
      if (++this.views === this.fails) throw new Error('crashed before the view was stored');
      return super.putModelView(jobId, round, bytes);
    }
  }

  async function finish(store: StateStore, jobId: string): Promise<{ model: Buffer; crashes: number }> {
    const h = harness(store, datasets);
    await startJob(h.deps, { jobId, spec: SPEC });
    let crashes = 0;
    for (;;) {
      const task = h.fanout.pending.shift();
      if (task) {
        await runWorker(h.deps, container, task);
        continue;
      }
      const message = h.completion.pending.shift();
      if (!message) break;
      try {
        await aggregate(h.deps, message);
      } catch {
        // The completion is redelivered (SQS, Lambda's retry): the job must not have moved.
        crashes++;
        const job = await store.getJob(jobId);
        expect(job?.round).toBe(message.round);
        expect(h.fanout.pending).toEqual([]);
        h.completion.pending.push(message);
      }
    }
    const job = await store.getJob(jobId);
    expect(job?.status).toBe('SUCCEEDED');
    return { model: Buffer.from((await store.getModel(jobId, job!.round + 1))!), crashes };
  }

  it.each([1, 2, 3])('the round is not published until both are stored, and the job ends with the same model (crash at view %i)', async (fails) => {
    // Prepare
    const clean = await finish(new MemoryStore(), `clean-${fails}`);

    // Act
    const crashed = await finish(new FailingViews(fails), `crashed-${fails}`);

    // Assess
    expect(crashed.crashes).toBe(1);
    expect(crashed.model.equals(clean.model)).toBe(true);
  });
});
