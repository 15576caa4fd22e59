import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { startJob } from '../../src/protocol/startJob.js';
import type { ModelResult } from '../../src/domain/results.js';
import { BACKENDS, openStore, type Backend } from '../../src/emulators/open.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { findRedisServer } from '../../src/emulators/redis-server.js';
import { blobs } from '../helpers/data.js';
import { FAULT_KINDS, FORGERIES, FaultyStore, NO_DISORDER, type Disorder, type Fault } from '../helpers/faults.js';
import { LingerScheduler, runDisturbedLingering } from '../helpers/faults-linger.js';
import { drive, harness } from '../helpers/protocol.js';
import { LONG, faultSeed, faultStoreSelected } from '../helpers/fault-mode.js';

/*
 * The fault-injection suite for lingering workers (`sync: 'linger'`): as test/faults/faults.test.ts,
 * with worker invocations that wait for later rounds (driven one at a time under a virtual clock,
 * test/helpers/faults-linger.ts). A crash or lost reply at every store call of workers (their
 * claims, polls and releases included), aggregator and sweep; duplicated, reordered, dropped, late
 * and forged messages; woken sleepers in any order. Every run must end with the event-driven model
 * bit for bit and never hang. A crash of a worker that may hold a claim (it finished a round) is
 * the one fault, with a lost message, that may need the recovery sweep. Each run twice: completions
 * sent to the aggregator, and rounds aggregated inline by their filling worker (a crashed invocation
 * makes no call after its crash, its fallback send included).
 *
 * Fast by default: memory and Redis (the stores' own claim semantics are in the contract suite,
 * test/stores/contract.ts); BSPML_FAULTS=long: every call index × fault kind on every store, the
 * emulators (dynalite, s3rver: seconds a run here) included, and many more random runs.
 */

/** Random runs per store: fast / long. A run on the emulators costs seconds here (dynalite, s3rver; polls included). */
const RANDOM_RUNS: Record<Backend, [number, number]> = { memory: [40, 3000], redis: [10, 800], dynamodb: [0, 200], s3: [0, 100] };
const FAST_INDICES: Record<Backend, number | 'all'> = { memory: 'all', redis: 6, dynamodb: 0, s3: 0 };
/**
 * How the round a worker fills is aggregated: `queue`, the completion sent to the aggregator (the
 * event-driven path); `inline`, by the filling worker itself, which then computes its shard of the next round without a claim (the
 * local runtime and the AWS worker handler). Inline, a crash during the aggregation loses the round's
 * completion with the invocation: the recovery sweep re-sends it.
 */
const MODES = ['queue', 'inline'] as const;
type Mode = (typeof MODES)[number];
/** The fast mode's share of the inline runs: a spread of call indices and fewer random runs (the queue mode's cover the stores). */
const FAST_INLINE = { indices: 9, randomRuns: 10 };

const DATA = blobs([[0, 0], [8, 8], [-8, 8]], 20, 1.5, 4); // 60 rows
const datasets = new MemoryDatasetSource().add('faults', DATA);
const EVENT_SPEC = { algorithm: 'kmeans', k: 3, workers: 3, threads: 1, maxRounds: 3, tol: 0, seed: 3, data: { uri: 'faults' } } as const;
/** Virtual milliseconds: polls at 2, 4, … 50 ms, so a whole wait is about seven polls. */
const SPEC = { ...EVENT_SPEC, sync: 'linger', lingerMs: 150 } as const;

let container: WorkerContainer;
let clean: Record<Mode, { result: ModelResult; model: Buffer; calls: number; lingered: number }>;
let runs = 0;
let fired = 0;
let sweptRuns = 0;

beforeAll(async () => {
  container = new WorkerContainer(1);
  // The event-driven model is the reference; the fault-free lingering run must give it, and says
  // how many store calls a run makes.
  const event = harness(new MemoryStore(), datasets);
  await startJob(event.deps, { jobId: 'event', spec: EVENT_SPEC });
  await drive(event, container);
  const done = (await event.store.getJob('event'))!;
  const model = Buffer.from((await event.store.getModel('event', done.round + 1))!);

  clean = {} as typeof clean;
  for (const mode of MODES) {
    const store = new FaultyStore(new MemoryStore());
    const h = harness(store, datasets);
    const scheduler = new LingerScheduler();
    const jobId = `reference-${mode}`;
    await startJob({ ...h.deps, now: scheduler.now }, { jobId, spec: SPEC });
    store.armed = true;
    const log = await runDisturbedLingering(h, scheduler, container, jobId, NO_DISORDER, undefined, 0, mode === 'inline');
    store.armed = false;
    const job = (await store.getJob(jobId))!;
    expect(job.result).toEqual(done.result);
    expect(Buffer.from((await store.getModel(jobId, job.round + 1))!).equals(model)).toBe(true);
    // Inline, no completion is ever sent: the workers aggregated every round.
    if (mode === 'inline') expect(h.completion.sent).toEqual([]);
    clean[mode] = { result: done.result!, model, calls: store.calls, lingered: log.lingeredRounds };
  }
});

afterAll(async () => {
  await container?.close();
  console.log(
    `linger fault-injection suite: ${runs} runs, ${fired} with a fault that fired, ${sweptRuns} needing a recovery sweep, reference jobs ${clean?.queue?.calls} (completions queued) and ${clean?.inline?.calls} (aggregated inline) store calls, ${clean?.queue?.lingered} rounds lingered into (${LONG ? 'long' : 'fast'} mode)`,
  );
});

async function disturbedRun(inner: StateStore, mode: Mode, fault: Fault | undefined, disorder: Disorder, lagMs = 0): Promise<FaultyStore> {
  runs++;
  const store = new FaultyStore(inner);
  const h = harness(store, datasets);
  const scheduler = new LingerScheduler();
  const jobId = `linger-faults-${runs}-${Math.floor(Math.random() * 1e9)}`;
  await startJob({ ...h.deps, now: scheduler.now }, { jobId, spec: SPEC });
  store.fault = fault;
  store.armed = true;
  const what = `${inner.kind}, ${mode}, fault ${JSON.stringify(fault)}, disorder ${JSON.stringify(disorder)}, aggregator clock ${lagMs} ms behind`;

  const log = await runDisturbedLingering(h, scheduler, container, jobId, disorder, undefined, lagMs, mode === 'inline');
  if (log.sweeps > 0) sweptRuns++;
  if (disorder.drop.length === 0 && log.lingerersKilled === 0) expect(log.sweeps, `${what}: recovery sweeps needed (${store.fired ?? 'no fault fired'})`).toBe(0);

  store.armed = false;
  const job = await store.getJob(jobId);
  expect(job?.status, `${what}: ${job?.error ?? ''} (${store.fired ?? 'no fault fired'}; ${log.steps} steps, ${log.sweeps} sweeps)`).toBe('SUCCEEDED');
  expect(job!.result, what).toEqual(clean[mode].result);
  const model = Buffer.from((await store.getModel(jobId, job!.round + 1))!);
  expect(model.equals(clean[mode].model), `${what}: final model bytes`).toBe(true);
  if (store.fired) fired++;
  return store;
}

const disorderArb: fc.Arbitrary<Disorder> = fc.record({
  orderSeed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  duplicate: fc.array(fc.nat(30), { maxLength: 3 }),
  drop: fc.array(fc.nat(30), { maxLength: 2 }),
  replay: fc.array(fc.record({ step: fc.nat(40), pick: fc.nat(1000) }), { maxLength: 2 }),
  forge: fc.option(fc.record({ step: fc.nat(25), kind: fc.constantFrom(...FORGERIES) }), { nil: undefined }),
});

const hasRedis = findRedisServer() !== undefined;

const STORES = BACKENDS.filter((b) => (b !== 'redis' || hasRedis) && (LONG || FAST_INDICES[b] !== 0) && faultStoreSelected(b));

describe.each(STORES.flatMap((backend) => MODES.map((mode) => [backend, mode] as const)))('fault injection with lingering workers on the %s store, rounds aggregated %s', (backend, mode) => {
  let inner: StateStore;

  beforeAll(async () => {
    inner = await openStore(backend);
  });

  afterAll(async () => {
    await inner?.close();
  });

  it('the reference job lingers into every training round and makes claims, polls and hand-overs worth disturbing', () => {
    expect(clean[mode].lingered).toBe(EVENT_SPEC.workers * clean[mode].result.rounds);
    expect(clean[mode].calls).toBeGreaterThan(40);
  });

  const fastIndices = mode === 'inline' && FAST_INDICES[backend] === 'all' ? FAST_INLINE.indices : FAST_INDICES[backend];
  const exhaustive = LONG || fastIndices === 'all';
  it(`a crash before, a crash after and a lost reply at ${exhaustive ? 'every' : 'a spread of'} store call(s)`, { timeout: LONG ? 3_600_000 : 180_000 }, async () => {
    const indices = Array.from({ length: clean[mode].calls }, (_, i) => i + 1);
    const step = Math.ceil(clean[mode].calls / Number(fastIndices));
    const chosen = exhaustive ? indices : indices.filter((i) => (i - 1) % step === 0);
    for (const at of chosen) {
      for (const kind of FAULT_KINDS) {
        const store = await disturbedRun(inner, mode, { at, kind }, NO_DISORDER);
        // One invocation at a time: undisturbed until the fault, the run makes the reference's calls.
        expect(store.fired, `${kind} at call ${at}`).toBe(`${kind} ${store.trace[at - 1]} (call ${at})`);
      }
    }
  });

  const [queueFast, long] = RANDOM_RUNS[backend];
  const fast = mode === 'inline' ? Math.min(queueFast, FAST_INLINE.randomRuns) : queueFast;
  it(`${LONG ? long : fast} random combinations of one fault with duplicated, reordered, dropped, late and forged messages, coroutines interleaved at every store call and the aggregator's clock behind`, { timeout: LONG ? 3_600_000 : 180_000 }, async () => {
    const faultArb = fc.option(fc.record({ at: fc.integer({ min: 1, max: clean[mode].calls + 10 }), kind: fc.constantFrom(...FAULT_KINDS) }), { nil: undefined });
    // Up to a whole budget behind: the aggregator may count a claim whose worker is releasing it.
    const lagArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: SPEC.lingerMs }));
    await fc.assert(
      fc.asyncProperty(faultArb, disorderArb, lagArb, async (fault, disorder, lag) => {
        await disturbedRun(inner, mode, fault, disorder, lag);
      }),
      { numRuns: LONG ? long : fast, seed: faultSeed(18_002) },
    );
  });
});
