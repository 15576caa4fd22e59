import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import type { DeliveryPolicy } from '../../src/events/InProcessChannel.js';
import type { CompletionMessage, RoundTask } from '../../src/domain/job.js';
import type { KmeansResult, LogregResult } from '../../src/domain/results.js';
import { LocalRuntime, type TrainOutcome } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs, separable } from '../helpers/data.js';

/*
 * Invariant 2 and 3 through the local runtime: duplicated, reordered and lost messages change
 * nothing in the model; a shard that never arrives fails the job with a readable reason.
 */

const WORKERS = 3;
const datasets = new MemoryDatasetSource()
  .add('blobs', blobs([[0, 0], [6, 6], [-6, 6], [6, -6]], 150, 2, 3))
  .add('separable', separable(600, 3, 9));
const KMEANS = { algorithm: 'kmeans', k: 4, seed: 7, workers: WORKERS, threads: 1, maxRounds: 12, tol: 0, data: { uri: 'blobs' } } as const;
const LOGREG = { algorithm: 'logreg', lr: 0.5, l2: 0.001, workers: WORKERS, threads: 1, maxRounds: 8, tol: 0, data: { uri: 'separable' } } as const;
// Local SGD's partials depend on the shard and its threads, not only on the model: duplicates must still change nothing.
const LOCAL_SGD = { algorithm: 'svm', solver: 'local-sgd', l2: 0.001, batchSize: 16, workers: WORKERS, threads: 2, maxRounds: 6, tol: 0, data: { uri: 'separable' } } as const;

interface Delivery {
  channel: string;
  round: number;
  shard?: number;
  copy: number;
}

/** Every scheduled delivery, as the drop hook sees it (the hook is asked once per delivery). */
function recordingPolicy(policy: DeliveryPolicy, lose: (d: Delivery) => boolean = () => false): { policy: DeliveryPolicy; deliveries: Delivery[] } {
  const deliveries: Delivery[] = [];
  return {
    deliveries,
    policy: {
      ...policy,
      drop: (channel, message, copy) => {
        const m = message as RoundTask | CompletionMessage;
        const d: Delivery = { channel, round: m.round, ...('shard' in m ? { shard: m.shard } : {}), copy };
        const dropped = lose(d);
        if (!dropped) deliveries.push(d);
        return dropped;
      },
    },
  };
}

const runtimes: LocalRuntime[] = [];
function makeRuntime(delivery?: DeliveryPolicy): { runtime: LocalRuntime; store: MemoryStore } {
  const store = new MemoryStore();
  const runtime = new LocalRuntime({ store, datasets, defaultThreads: 1, concurrency: WORKERS, ...(delivery ? { delivery } : {}) });
  runtimes.push(runtime);
  return { runtime, store };
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

/*
 * The undisturbed reference of each spec, trained once per file on one runtime with plain delivery:
 * a job's model depends on its spec and data alone (warm containers carry nothing from one job to
 * the next), and several tests compare against the same spec's.
 */
let reference: LocalRuntime | undefined;
const references = new Map<object, Promise<TrainOutcome>>();
function expectedOf(spec: object): Promise<TrainOutcome> {
  reference ??= new LocalRuntime({ store: new MemoryStore(), datasets, defaultThreads: 1, concurrency: WORKERS });
  let out = references.get(spec);
  if (!out) references.set(spec, (out = reference.train(spec)));
  return out;
}

afterAll(async () => {
  await reference?.close();
});

function modelOf(out: TrainOutcome): { arrays: number[][]; rounds: number } {
  const result = out.result as KmeansResult | LogregResult;
  if (result.algorithm === 'kmeans') return { arrays: [...result.centroids, result.counts], rounds: result.rounds };
  return { arrays: [result.weights, [result.bias]], rounds: result.rounds };
}

/**
 * One record per round: the preparation round 0, then training rounds numbered 1..rounds, and a
 * job record left at the last round.
 */
async function expectOneRecordPerRound(store: MemoryStore, out: TrainOutcome): Promise<void> {
  const rounds = out.result.rounds;
  const job = await store.getJob(out.job.jobId);
  expect(job?.status).toBe('SUCCEEDED');
  expect(job?.round).toBe(rounds);
  const metrics = await store.listRoundMetrics(out.job.jobId);
  expect(metrics.map((m) => [m.round, m.phase ?? 'train'])).toEqual([[0, 'prepare'], ...Array.from({ length: rounds }, (_, r) => [r + 1, 'train'])]);
  expect(out.prepare?.round).toBe(0);
  expect(out.rounds.map((m) => m.round)).toEqual(Array.from({ length: rounds }, (_, r) => r + 1));
}

describe('at-least-once delivery through the local runtime', () => {
  it.each([
    ['kmeans', KMEANS],
    ['logreg', LOGREG],
    ['svm, local SGD', LOCAL_SGD],
  ] as const)('%s: every message delivered twice, out of order, trains the identical model', async (_name, spec) => {
    // Prepare
    const noisy = recordingPolicy({ duplicate: 1, maxDelayMs: 5, seed: 1234 });
    const shaken = makeRuntime(noisy.policy);

    // Act
    const expected = await expectedOf(spec);
    const actual = await shaken.runtime.train(spec);

    // Assess: bit-identical model and the same number of rounds.
    expect(expected.result.rounds).toBeGreaterThan(3);
    expect(modelOf(actual)).toEqual(modelOf(expected));
    // Duplicates really happened: both copies of every worker task and of every completion, the
    // preparation round's included.
    for (let round = 0; round <= actual.result.rounds; round++) {
      for (let shard = 0; shard < WORKERS; shard++) {
        const copies = noisy.deliveries.filter((d) => d.channel === 'worker' && d.round === round && d.shard === shard).map((d) => d.copy);
        expect(copies, `round ${round} shard ${shard}`).toEqual(expect.arrayContaining([0, 1]));
      }
      const completions = noisy.deliveries.filter((d) => d.channel === 'aggregator' && d.round === round);
      expect(completions.length, `completions of round ${round}`).toBeGreaterThanOrEqual(2);
    }
    // ...and counted once: one job round and one metrics record per round.
    await expectOneRecordPerRound(shaken.store, actual);
    expect(actual.rounds.map((m) => m.objective)).toEqual(expected.rounds.map((m) => m.objective));
  }, 15_000);

  it.each([
    [2, 'a training round'],
    [0, 'the preparation round'],
  ])('a lost worker message (shard 1 of round %i, %s) is re-published by the recovery sweep; the model is unchanged', async (lostRound) => {
    // Prepare
    let lost = 0;
    const lossy = recordingPolicy({}, (d) => {
      if (lost > 0 || d.channel !== 'worker' || d.round !== lostRound || d.shard !== 1 || d.copy !== 0) return false;
      lost++;
      return true;
    });
    const flaky = makeRuntime(lossy.policy);

    // Act
    const expected = await expectedOf(KMEANS);
    const actual = await flaky.runtime.train(KMEANS);

    // Assess
    expect(lost).toBe(1);
    // The recovery sweep re-published exactly the missing shard of the round, and nothing else.
    const ofRound = lossy.deliveries.filter((d) => d.channel === 'worker' && d.round === lostRound);
    expect(ofRound.map((d) => d.shard).sort()).toEqual([0, 1, 2]);
    expect(lossy.deliveries.filter((d) => d.channel === 'worker')).toHaveLength(WORKERS * (actual.result.rounds + 1));
    expect(modelOf(actual)).toEqual(modelOf(expected));
    await expectOneRecordPerRound(flaky.store, actual);
  }, 15_000);

  it('a lost completion (round 1) is re-sent by the recovery sweep; the model is unchanged', async () => {
    // Prepare
    let lost = 0;
    const lossy = recordingPolicy({}, (d) => {
      if (lost > 0 || d.channel !== 'aggregator' || d.round !== 1) return false;
      lost++;
      return true;
    });
    const flaky = makeRuntime(lossy.policy);

    // Act
    const expected = await expectedOf(LOGREG);
    const actual = await flaky.runtime.train(LOGREG);

    // Assess: the completion of round 1 was delivered once more (by the sweep), no worker re-ran.
    expect(lost).toBe(1);
    expect(lossy.deliveries.filter((d) => d.channel === 'aggregator' && d.round === 1)).toHaveLength(1);
    expect(lossy.deliveries.filter((d) => d.channel === 'worker')).toHaveLength(WORKERS * (actual.result.rounds + 1));
    expect(modelOf(actual)).toEqual(modelOf(expected));
    await expectOneRecordPerRound(flaky.store, actual);
  }, 15_000);

  it('a shard whose every delivery is lost fails the job, naming the round and the shard', async () => {
    // Prepare
    const lossy = recordingPolicy({}, (d) => d.channel === 'worker' && d.shard === 1);
    const { runtime, store } = makeRuntime(lossy.policy);

    // Act: bound the wait, so that a job that stalls silently fails this test instead of hanging it.
    const training = runtime.train(KMEANS, { jobId: 'lost-shard' });
    const outcome = await Promise.race([
      training.then(
        () => ({ kind: 'resolved' as const }),
        (error: unknown) => ({ kind: 'rejected' as const, error }),
      ),
      // Generous: on a loaded 2-core machine four idle sweeps have taken close to 3 s.
      new Promise<{ kind: 'stalled' }>((resolve) => setTimeout(() => resolve({ kind: 'stalled' }), 10_000)),
    ]);

    // Assess
    const job = await store.getJob('lost-shard');
    expect({ kind: outcome.kind, status: job?.status, recoveries: job?.recoveries }).toEqual({ kind: 'rejected', status: 'FAILED', recoveries: 3 });
    const error = (outcome as { error: { code?: string; message: string } }).error;
    expect(error.code).toBe('E_JOB_FAILED');
    expect(error.message).toMatch(/round 0\b/);
    expect(error.message).toMatch(/shard\(s\) 1 never arrived/);
    expect(job?.error).toMatch(/round 0 .*shard\(s\) 1 never arrived/);
  }, 15_000);
});
