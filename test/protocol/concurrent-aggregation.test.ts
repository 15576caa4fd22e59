import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { aggregate, type AggregateOutcome } from '../../src/protocol/aggregate.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { Rng } from '../../src/util/random.js';
import { separable } from '../helpers/data.js';
import { Interleaver } from '../helpers/interleave.js';
import { drive, harness, type Harness } from '../helpers/protocol.js';

/*
 * With the invoke trigger (issue 18, item 3) nothing runs one job's aggregations one at a time, as
 * SQS FIFO's message group did: two deliveries of one round's completion may aggregate at once.
 * Here two aggregations of the same round run through every interleaving of their store calls that
 * puts one whole aggregation at each point of the other, strict alternation, and seeded random
 * ones; the round must be aggregated into the job once, its metrics and next model written with the
 * same bytes, the next round's fan-out published at least once (at most twice: harmless duplicates),
 * and the job must end with the undisturbed model bit for bit.
 */

// Logistic regression by gradient descent with tol 0: no round converges early.
const datasets = new MemoryDatasetSource().add('separable', separable(200, 3, 5, 0.1));
const W = 5;
const NOW = 1_700_000_000_000;

let container: WorkerContainer;
beforeAll(() => {
  container = new WorkerContainer(1);
});
afterAll(async () => {
  await container?.close();
});

/** A job run until round `round`'s barrier is full and its completion waits. */
async function upTo(round: number, maxRounds: number): Promise<{ h: Harness; store: MemoryStore; jobId: string }> {
  const store = new MemoryStore();
  const h = harness(store, datasets);
  h.deps.now = () => NOW;
  const jobId = `concurrent-${Math.random().toString(36).slice(2)}`;
  const spec = { algorithm: 'logreg', solver: 'gd', lr: 0.5, workers: W, threads: 1, maxRounds, tol: 0, merge: 'tree', data: { uri: 'separable' } };
  await startJob(h.deps, { jobId, spec });
  for (;;) {
    const task = h.fanout.pending.shift();
    if (task) {
      await runWorker(h.deps, container, task);
      continue;
    }
    const completion = h.completion.pending[0]!;
    if (completion.round === round) return { h, store, jobId };
    await aggregate(h.deps, h.completion.pending.shift()!);
  }
}

type Policy = (ready: number[], granted: readonly number[]) => number;

/** The policies: B whole after A's first k calls (every k), strict alternation, seeded random. */
function policies(calls: number): [string, Policy][] {
  const out: [string, Policy][] = [];
  for (let k = 0; k <= calls; k++) {
    out.push([`A's first ${k} calls, then B whole`, (ready, granted) => (granted.filter((a) => a === 0).length < k && ready.includes(0) ? 0 : ready.includes(1) ? 1 : 0)]);
  }
  out.push(['strict alternation', (ready, granted) => (granted.length % 2 === 0 && ready.includes(0)) || !ready.includes(1) ? 0 : 1]);
  for (let seed = 1; seed <= 40; seed++) {
    const rng = new Rng(seed);
    out.push([`random ${seed}`, (ready) => ready[rng.int(ready.length)]!]);
  }
  return out;
}

describe('two aggregations of one round at once', () => {
  for (const [label, round, maxRounds] of [
    ['a round that advances', 2, 4],
    ['the last round (the job finishes)', 3, 3],
  ] as const) {
    it(`${label}: exactly once in every forced interleaving`, async () => {
      // Prepare: the reference, and a solo aggregation's store calls.
      const reference = await upTo(round, maxRounds);
      const message = reference.h.completion.pending.shift()!;
      const soloCalls = new Interleaver();
      await soloCalls.run([(store) => aggregate({ ...reference.h.deps, store }, message)], reference.store, () => 0);
      await drive(reference.h, container);
      const refJob = (await reference.store.getJob(reference.jobId))!;
      const refModel = Buffer.from((await reference.store.getModel(reference.jobId, refJob.round + 1))!);
      expect(refJob.status).toBe('SUCCEEDED');

      for (const [name, policy] of policies(soloCalls.granted.length)) {
        const { h, store, jobId } = await upTo(round, maxRounds);
        const completion = h.completion.pending.shift()!;
        const published = h.fanout.published.length;

        // Act
        const il = new Interleaver();
        const run = (s: StateStore) => aggregate({ ...h.deps, store: s }, completion);
        const results = await il.run([run, run], store, policy);

        // Assess
        const what = `${name} (${il.trace.join(' ')})`;
        const outcomes = results.map((r) => {
          if ('error' in r) throw new Error(`${what}: ${String(r.error)}`);
          return r.value as AggregateOutcome;
        });
        const job = (await store.getJob(jobId))!;
        const metrics = (await store.listRoundMetrics(jobId)).filter((m) => m.round === round);
        // Both computed the same record from the same partials (the clock is pinned): whichever write landed last, it is that one.
        const computed = outcomes.flatMap((o) => ('metrics' in o ? [o.metrics] : []));
        expect(computed.length, what).toBeGreaterThanOrEqual(1);
        for (const m of computed) expect(metrics, what).toEqual([m]);
        if (round < maxRounds) {
          // One advanced; the other found the round aggregated (ignored) or, starting between the
          // advance and its fan-out mark, published the fan-out again (republished).
          expect(outcomes.filter((o) => o.status === 'advanced'), what).toHaveLength(1);
          for (const o of outcomes) expect(['advanced', 'ignored', 'republished'], what).toContain(o.status);
          expect(job).toMatchObject({ status: 'RUNNING', round: round + 1, fanoutRound: round + 1 });
          const next = h.fanout.published.slice(published).filter((t) => t.round === round + 1);
          for (let shard = 0; shard < W; shard++) {
            const copies = next.filter((t) => t.shard === shard).length;
            expect(copies, `${what}: shard ${shard} of round ${round + 1}`).toBeGreaterThanOrEqual(1);
            // Twice only when the loser started inside the winner's publish window.
            expect(copies, `${what}: shard ${shard} of round ${round + 1}`).toBe(outcomes.some((o) => o.status === 'republished') ? 2 : 1);
          }
          // The round just aggregated is kept (a late duplicate must find it); the one before is cleared.
          expect(await store.arrivals(jobId, round, W), what).toHaveLength(W);
          expect(await store.arrivals(jobId, round - 1, W), what).toEqual([]);
        } else {
          // One finished; the other finished too (it found its own round SUCCEEDED) or started after the end (ignored).
          expect(outcomes.some((o) => o.status === 'finished'), `${what}: ${JSON.stringify(outcomes)}`).toBe(true);
          for (const o of outcomes) expect(['finished', 'ignored'], what).toContain(o.status);
          expect(job.status).toBe('SUCCEEDED');
          expect(job.result).toEqual(refJob.result);
          expect(await store.arrivals(jobId, round, W), what).toEqual([]);
        }
        await drive(h, container);
        const end = (await store.getJob(jobId))!;
        expect(end.status, what).toBe('SUCCEEDED');
        expect(end.result, what).toEqual(refJob.result);
        expect(Buffer.from((await store.getModel(jobId, end.round + 1))!).equals(refModel), `${what}: final model`).toBe(true);
      }
    });
  }
});
