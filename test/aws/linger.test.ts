import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecoverHandler } from '../../handlers/recover.js';
import { createWorkerHandler } from '../../handlers/worker.js';
import type { AwsWiring } from '../../src/aws/wiring.js';
import { formatCsv } from '../../src/data/formats/csv-write.js';
import { FileDatasetSource } from '../../src/data/sources/FileDatasetSource.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { LINGER_LAPSE_GRACE_MS } from '../../src/protocol/handOver.js';
import { LINGER_MARGIN_MS } from '../../src/protocol/linger.js';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { sleep } from '../../src/util/async.js';
import { startAwsEmulators, type AwsEmulators } from '../helpers/aws-emulators.js';
import { deliverConcurrently, Killed, mortalWorker, taskOf } from '../helpers/aws-linger.js';
import { pipeline, type Pipeline } from '../helpers/aws-pipeline.js';
import { useTempDirs } from '../helpers/cli.js';
import { blobs } from '../helpers/data.js';
import { captureLogs } from '../helpers/logs.js';

/*
 * `sync: 'linger'` through the deployed handlers on emulators (dynalite, s3rver, local SQS; SNS
 * captured): workers invoked concurrently, as SNS invokes them, wait for the next round in their
 * invocation; the arrival that fills a round aggregates it in its own invocation (inline), so the
 * aggregator function sees a completion only when an inline aggregation failed or its worker died.
 * The model must be the event-driven one bit for bit whatever happens to the claims.
 */

let emulators: AwsEmulators;
let p: Pipeline;
const tempDir = useTempDirs('bspml-linger-');
const logs = captureLogs();
const DATA = blobs([[0, 0, 0], [6, 6, 1], [-6, 6, -1]], 120, 1.5, 3);
const SPEC = { algorithm: 'kmeans', k: 3, workers: 3, seed: 9, maxRounds: 4, tol: 0 } as const;
let reference: Awaited<ReturnType<LocalRuntime['train']>>;
/** Lambda's context for a fresh 15-minute invocation. */
const fresh = () => ({ getRemainingTimeInMillis: () => 900_000 });

beforeAll(async () => {
  emulators = await startAwsEmulators();
  p = pipeline(emulators, { BSPML_THREADS: '1' });
  const table = { columns: ['x', 'y', 'z'], rows: DATA.rows, cols: DATA.dims, values: DATA.features, hasHeader: true, firstLine: 2 };
  const bytes = formatCsv(table);
  const file = join(await tempDir(), 'blobs.csv');
  await writeFile(file, bytes);
  await p.wiring.s3.send(new PutObjectCommand({ Bucket: emulators.bucket, Key: 'datasets/linger.csv', Body: bytes }));
  // The event-driven model, trained locally: the reference every run below must reproduce.
  const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new FileDatasetSource(), defaultThreads: 1 });
  try {
    reference = await runtime.train({ ...SPEC, data: { uri: file } });
  } finally {
    await runtime.close();
  }
});

afterAll(async () => {
  await p?.close();
  await emulators?.close();
});

function specOf(lingerMs: number) {
  return { ...SPEC, sync: 'linger', lingerMs, data: { uri: `s3://${emulators.bucket}/datasets/linger.csv` } };
}

async function modelOf(jobId: string): Promise<Record<string, unknown>> {
  const out = await p.wiring.s3.send(new GetObjectCommand({ Bucket: emulators.bucket, Key: `models/linger/${jobId}.json` }));
  const { jobId: _id, data: _data, ...result } = JSON.parse(await out.Body!.transformToString()) as Record<string, unknown>;
  return result;
}

/** Tasks published for rounds ≥ 1 of a job (round 0's always are). */
function publishedTrainingTasks(jobId: string, before: number): number {
  return p.sns.calls
    .slice(before)
    .flatMap((c) => c.PublishBatchRequestEntries ?? [])
    .map((e) => JSON.parse(e.Message!) as { jobId: string; round: number })
    .filter((t) => t.jobId === jobId && t.round > 0).length;
}

/** A worker handler whose store is `wrap`ped: the rest of the stack keeps the real one. */
function workerWith(wrap: (store: StateStore) => Partial<StateStore>) {
  const store = p.wiring.deps.store;
  const overrides = wrap(store);
  const wrapped = new Proxy(store, { get: (target, name, receiver) => (overrides as Record<string | symbol, unknown>)[name] ?? Reflect.get(target, name, receiver) });
  const wiring: AwsWiring = { ...p.wiring, deps: { ...p.wiring.deps, store: wrapped } };
  return createWorkerHandler(() => wiring);
}

describe('lingering workers on the emulated stack', () => {
  it('a job that lingers: the same model as --sync event, with only the preparation round published', async () => {
    // Prepare
    const before = p.sns.calls.length;

    // Act
    const [started] = await p.start({ spec: specOf(20_000), jobId: 'linger-1' });
    const delivered = await deliverConcurrently(p, emulators.queueUrl, { context: fresh });

    // Assess
    expect(started).toEqual({ jobId: 'linger-1', status: 'RUNNING' });
    expect(await p.wiring.store.getJob('linger-1')).toMatchObject({ status: 'SUCCEEDED' });
    expect(await modelOf('linger-1')).toEqual(reference.result);
    expect(delivered.workerErrors).toEqual([]);
    // W invocations in all: each computed the preparation round, then every training round, waiting in between.
    expect(delivered.workerInvocations).toBe(SPEC.workers);
    expect(publishedTrainingTasks('linger-1', before)).toBe(0);
    // Every round, the preparation round's included, aggregated by the worker that filled it: no completion went to the aggregator.
    expect(delivered.aggregatorBatches).toBe(0);
    const aggregated = logs.events('aggregated').filter((e) => e.jobId === 'linger-1');
    expect(aggregated.map((e) => [e.round, e.by, e.status])).toEqual([
      [0, 'worker', 'prepared'],
      ...Array.from({ length: reference.result.rounds - 1 }, (_, r) => [r + 1, 'worker', 'advanced']),
      [reference.result.rounds, 'worker', 'finished'],
    ]);
    expect(logs.events('model-written').filter((e) => e.jobId === 'linger-1')).toHaveLength(1);
    const lingered = logs.events('worker-lingered').filter((e) => e.jobId === 'linger-1');
    expect(lingered).toHaveLength(SPEC.workers);
    for (const e of lingered) expect(e).toMatchObject({ rounds: reference.result.rounds + 1, handed: reference.result.rounds, released: 0 });
  });

  it('claims that lapse while their workers are busy: the inline aggregation publishes the shards, both copies compute, the model is the same', async () => {
    // Prepare: claims of 40 ms; the hand-over comes 600 ms late (a slow aggregation), so every
    // claim has lapsed by then; each worker's release is late (it lands after the hand-over, as if
    // the worker were still computing), so it is told 'handed' and computes the round too.
    const before = p.sns.calls.length;
    const worker = workerWith((store) => ({
      handOver: async (jobId, round, shards, ended, model) => {
        await sleep(600);
        return store.handOver(jobId, round, shards, ended, model);
      },
      release: async (jobId, round, shard, shards, until) => {
        for (let i = 0; i < 400 && (await store.handedOver(jobId, round, shard, shards)).signal === 'waiting'; i++) await sleep(25);
        return store.release(jobId, round, shard, shards, until);
      },
    }));

    // Act
    await p.start({ spec: specOf(40), jobId: 'linger-lapse-1' });
    const delivered = await deliverConcurrently(p, emulators.queueUrl, { worker, context: fresh });

    // Assess
    expect(await p.wiring.store.getJob('linger-lapse-1')).toMatchObject({ status: 'SUCCEEDED' });
    expect(await modelOf('linger-lapse-1')).toEqual(reference.result);
    expect(delivered.workerErrors).toEqual([]);
    // Every shard of every training round was published (its claim had lapsed), but the one whose
    // worker filled the barrier before: it aggregated, and computes its shard of the next round itself…
    expect(publishedTrainingTasks('linger-lapse-1', before)).toBe((SPEC.workers - 1) * reference.result.rounds);
    // …and computed by the late workers too: duplicates, whose partials were refused.
    const late = logs.events('worker-done').filter((e) => e.jobId === 'linger-lapse-1' && e.lingered === true);
    expect(late.length).toBeGreaterThan(0);
  });

  it('a lingering worker killed: its claim holds the shard back until the recovery sweep publishes it', async () => {
    // Prepare: the first worker that polls for round 2 dies while waiting (as Lambda kills an
    // invocation). Not the one that filled round 1: it aggregated and computes round 2 without a wait.
    // Claims of 1.5 s (rounds take milliseconds here): the others wait out theirs polling the store.
    const killed: number[] = [];
    const worker = workerWith((store) => ({
      handedOver: async (jobId, round, shard, shards) => {
        if (jobId === 'linger-killed-1' && round === 2 && killed.length === 0) {
          killed.push(shard);
          throw new Error('Task timed out (killed while lingering)');
        }
        return store.handedOver(jobId, round, shard, shards);
      },
    }));
    const sweep = createRecoverHandler(() => p.wiring, () => Date.now() + 3_600_000);

    // Act: the round stalls (nothing published for the killed worker's shard); the sweep finds it and publishes it.
    await p.start({ spec: specOf(1500), jobId: 'linger-killed-1' });
    const first = await deliverConcurrently(p, emulators.queueUrl, { worker, context: fresh });
    const stalled = await p.wiring.store.getJob('linger-killed-1');
    const arrived = await p.wiring.store.arrivals('linger-killed-1', 2, SPEC.workers);
    const swept = (await sweep()).filter((r) => r.jobId === 'linger-killed-1');
    await deliverConcurrently(p, emulators.queueUrl, { worker, context: fresh });

    // Assess
    expect(killed).toHaveLength(1);
    const shard = killed[0]!;
    expect(first.workerErrors).toHaveLength(1);
    expect(stalled).toMatchObject({ status: 'RUNNING', round: 2 });
    expect(arrived).toEqual([0, 1, 2].filter((s) => s !== shard));
    expect(swept).toEqual([{ jobId: 'linger-killed-1', action: 'republished', detail: `shards ${shard}` }]);
    expect(await p.wiring.store.getJob('linger-killed-1')).toMatchObject({ status: 'SUCCEEDED' });
    expect(await modelOf('linger-killed-1')).toEqual(reference.result);
  });

  it('a lingering worker killed after its claim: the claim lapses before the hand-over, which publishes the shard; same model, no sweep', async () => {
    // Prepare: shard 1's first invocation has 300 ms left past the margin, so its claim of round 1
    // ends 300 ms after it is made; it is killed as soon as the claim lands. It arrives first in
    // round 0 (the others wait for it), so a healthy worker fills the round; that worker's
    // hand-over of round 1 comes 800 ms late, after shard 1's claim has lapsed.
    const jobId = 'linger-killed-lapse-1';
    const before = p.sns.calls.length;
    const killed: string[] = [];
    const doomed = mortalWorker(p.wiring, (store, kill) => ({
      claim: async (job, round, shard, shards, until) => {
        const answer = await store.claim(job, round, shard, shards, until);
        killed.push(`shard ${shard} killed after claiming round ${round} (${answer})`);
        return kill('Task timed out (killed while lingering)');
      },
    }));
    const healthy = workerWith((store) => ({
      arrive: async (job, round, shard, shards) => {
        for (let i = 0; job === jobId && round === 0 && i < 2000 && !(await store.arrivals(job, 0, shards)).includes(1); i++) await sleep(5);
        return store.arrive(job, round, shard, shards);
      },
      handOver: async (job, round, shards, ended, model) => {
        if (job === jobId && round === 1) await sleep(800);
        return store.handOver(job, round, shards, ended, model);
      },
    }));
    let first = true;
    const worker = (event: unknown, context?: { getRemainingTimeInMillis(): number }) => {
      const task = taskOf(event);
      if (task.jobId === jobId && task.shard === 1 && task.round === 0 && first) {
        first = false;
        return doomed(event, { getRemainingTimeInMillis: () => LINGER_MARGIN_MS + 300 });
      }
      return healthy(event, context);
    };

    // Act
    await p.start({ spec: specOf(20_000), jobId });
    const delivered = await deliverConcurrently(p, emulators.queueUrl, { worker, context: fresh });

    // Assess
    expect(killed).toEqual(['shard 1 killed after claiming round 1 (claimed)']);
    expect(delivered.workerErrors).toHaveLength(1);
    expect(delivered.workerErrors[0]).toBeInstanceOf(Killed);
    expect(await p.wiring.store.getJob(jobId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await modelOf(jobId)).toEqual(reference.result);
    // Shard 1 of round 1 was published (its claim had lapsed), once; a fresh invocation took it and lingered on.
    const published = p.sns.calls.slice(before).flatMap((c) => c.PublishBatchRequestEntries ?? []).map((e) => JSON.parse(e.Message!) as { jobId: string; round: number; shard: number });
    expect(published.filter((t) => t.jobId === jobId && t.round > 0).map((t) => [t.round, t.shard])).toEqual([[1, 1]]);
    expect(delivered.workerInvocations).toBe(SPEC.workers + 1);
    expect(delivered.aggregatorBatches).toBe(0);
  });

  it('an inline aggregation lost with its worker: the recovery sweep re-sends the completion, the aggregator completes the round; same model', async () => {
    // Prepare: the worker that fills round 1 is killed while aggregating it (storing round 2's
    // model), so neither the aggregation nor its fallback completion happens.
    const jobId = 'linger-lost-inline-1';
    const killed: string[] = [];
    const worker = (event: unknown, context?: { getRemainingTimeInMillis(): number }) =>
      mortalWorker(p.wiring, (store, kill) => ({
        putModel: async (job, round, bytes) => {
          if (job === jobId && round === 2 && killed.length === 0) {
            killed.push(`killed storing the model of round ${round}`);
            return kill('Task timed out (killed while aggregating)');
          }
          return store.putModel(job, round, bytes);
        },
      }))(event, context);
    const sweep = createRecoverHandler(() => p.wiring, () => Date.now() + 3_600_000);

    // Act: the round stalls with every shard arrived; the sweep (minutes later on AWS: every claim
    // has lapsed by then) re-sends its completion.
    await p.start({ spec: specOf(1000), jobId });
    const first = await deliverConcurrently(p, emulators.queueUrl, { worker, context: fresh });
    const stalled = await p.wiring.store.getJob(jobId);
    await sleep(1000 + LINGER_LAPSE_GRACE_MS);
    const swept = (await sweep()).filter((r) => r.jobId === jobId);
    const second = await deliverConcurrently(p, emulators.queueUrl, { worker, context: fresh });

    // Assess
    expect(killed).toEqual(['killed storing the model of round 2']);
    expect(first.workerErrors).toHaveLength(1);
    expect(first.aggregatorBatches).toBe(0);
    expect(stalled).toMatchObject({ status: 'RUNNING', round: 1 });
    expect(swept).toEqual([{ jobId, action: 'completion-resent' }]);
    expect(second.aggregatorBatches).toBeGreaterThan(0);
    expect(second.workerErrors).toEqual([]);
    expect(await p.wiring.store.getJob(jobId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await modelOf(jobId)).toEqual(reference.result);
  });

  it('a finished job is never SUCCEEDED without its model file: the write and its fallback send both fail, the job stays RUNNING, the sweep completes it', async () => {
    // Prepare: S3 refuses this job's model file, and the workers' completions cannot be sent (the
    // aggregator's Invoke or queue is down), so the inline aggregation that ends the job can neither
    // write the file nor hand the round to the aggregator function.
    const jobId = 'linger-no-model-file-1';
    const s3 = p.wiring.s3 as unknown as { send: (command: unknown, ...rest: unknown[]) => Promise<unknown> };
    const send = s3.send;
    const refused: string[] = [];
    s3.send = function (this: unknown, command: unknown, ...rest: unknown[]) {
      if (command instanceof PutObjectCommand && command.input.Key?.includes(`/${jobId}.json`)) {
        refused.push(command.input.Key);
        return Promise.reject(new Error('ServiceUnavailable: S3 is down'));
      }
      return send.call(this, command, ...rest);
    };
    const completion = { send: async () => Promise.reject(new Error('the aggregator cannot be reached')) };
    const worker = createWorkerHandler(() => ({ ...p.wiring, deps: { ...p.wiring.deps, completion } }));
    const sweep = createRecoverHandler(() => p.wiring, () => Date.now() + 3_600_000);

    // Act: the job's last round fails to finish; S3 comes back; the sweep re-sends its completion.
    let first, ended;
    try {
      await p.start({ spec: specOf(500), jobId });
      first = await deliverConcurrently(p, emulators.queueUrl, { worker, context: fresh });
      ended = await p.wiring.store.getJob(jobId);
    } finally {
      s3.send = send;
    }
    const swept = (await sweep()).filter((r) => r.jobId === jobId);
    await deliverConcurrently(p, emulators.queueUrl, { context: fresh });

    // Assess: refused, the job was not SUCCEEDED (before the fix it was, with no file, and the sweep never looked at it again).
    expect(refused.length).toBeGreaterThan(0);
    expect(first.workerErrors).toHaveLength(1);
    expect(ended).toMatchObject({ status: 'RUNNING', round: reference.result.rounds });
    expect(swept).toEqual([{ jobId, action: 'completion-resent' }]);
    expect(await p.wiring.store.getJob(jobId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await modelOf(jobId)).toEqual(reference.result);
    expect(logs.events('model-written').filter((e) => e.jobId === jobId)).toHaveLength(1);
  });

  it('stops lingering well before the function times out: with less time left than the margin, no claim is made', async () => {
    // Prepare: every invocation has only the margin plus a second left.
    const before = p.sns.calls.length;
    const short = () => ({ getRemainingTimeInMillis: () => LINGER_MARGIN_MS + 1000 - 2000 });

    // Act
    await p.start({ spec: specOf(20_000), jobId: 'linger-short-1' });
    const delivered = await deliverConcurrently(p, emulators.queueUrl, { context: short });

    // Assess: the event-driven rounds, one invocation per shard per round.
    expect(await modelOf('linger-short-1')).toEqual(reference.result);
    expect(delivered.workerInvocations).toBe(SPEC.workers * (reference.result.rounds + 1));
    expect(publishedTrainingTasks('linger-short-1', before)).toBe(SPEC.workers * reference.result.rounds);
    expect(logs.events('worker-lingered').filter((e) => e.jobId === 'linger-short-1')).toEqual([]);
  });
});
