import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { startJob } from '../../src/protocol/startJob.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';
import { harness, runRound, type Harness } from '../helpers/protocol.js';

/*
 * Issue 20: an aggregator that died between advancing the job and clearing the round behind it
 * left that round's partials and barrier until the store's TTL. Whichever step comes next (the
 * next round's aggregation, or the redelivered completion of the last round) clears it.
 */

const DATA = blobs([[0, 0], [6, 6]], 10, 1, 5);
const SPEC = { algorithm: 'kmeans', k: 2, workers: 2, threads: 1, maxRounds: 4, tol: 0, seed: 2, data: { uri: 'clear' } } as const;

/** A store whose first clearRound that `when` picks dies, as the aggregator's process would. */
class DyingClear extends MemoryStore {
  died = false;
  constructor(private readonly when: (store: MemoryStore, jobId: string, round: number) => Promise<boolean>) {
    super();
  }
  override async clearRound(jobId: string, round: number, shards: number): Promise<void> {
    if (!this.died && (await this.when(this, jobId, round))) {
      this.died = true;
      throw new Error(`the aggregator died clearing round ${round}`);
    }
    return super.clearRound(jobId, round, shards);
  }
}

/** Each round's arrivals and stored partials (shard numbers). */
async function state(store: MemoryStore, jobId: string, rounds: number): Promise<{ round: number; arrivals: number[]; partials: number[] }[]> {
  const out = [];
  for (let round = 0; round <= rounds; round++) {
    const partials: number[] = [];
    for (const shard of [0, 1]) if (await store.getPartials(jobId, round, 2, [shard]).then(() => true, () => false)) partials.push(shard);
    out.push({ round, arrivals: await store.arrivals(jobId, round, 2), partials });
  }
  return out;
}

/** Runs the job's round and aggregates its completion; the aggregation's error, if any, is returned. */
async function step(h: Harness, container: WorkerContainer, jobId: string, round: number): Promise<unknown> {
  await runRound(h, container, jobId, round);
  const message = h.completion.pending.shift()!;
  return aggregate(h.deps, message).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('issue 20: a round left behind by an aggregator that died before clearing it', () => {
  const container = new WorkerContainer(1);
  afterAll(() => container.close());

  it('the next round\'s aggregation clears it, though the dead one\'s completion is never redelivered', async () => {
    // Prepare: round 1's aggregation dies clearing round 0 (after advancing and publishing round 2)
    const store = new DyingClear(async (_s, _j, round) => round === 0);
    const h = harness(store, new MemoryDatasetSource().add('clear', DATA));
    const jobId = 'clear-next';
    await startJob(h.deps, { jobId, spec: SPEC });
    expect(await step(h, container, jobId, 0)).toBeUndefined();
    const died = await step(h, container, jobId, 1);
    expect(String(died)).toMatch(/died clearing round 0/);
    expect((await store.getJob(jobId))!.round).toBe(2);
    expect((await state(store, jobId, 0))[0]).toEqual({ round: 0, arrivals: [0, 1], partials: [0, 1] });

    // Act: the job goes on; the completion of round 1 is lost for good
    expect(await step(h, container, jobId, 2)).toBeUndefined();

    // Assess: rounds 0 and 1 cleared (2, just aggregated, is kept a round longer)
    expect(await state(store, jobId, 1)).toEqual([0, 1].map((round) => ({ round, arrivals: [], partials: [] })));
  });

  it('the last round: the redelivered completion of the finished job clears what its aggregator did not', async () => {
    // Prepare: the last aggregation ends the job, then dies clearing its first round
    const store = new DyingClear(async (s, jobId) => (await s.getJob(jobId))!.status === 'SUCCEEDED');
    const h = harness(store, new MemoryDatasetSource().add('clear', DATA));
    const jobId = 'clear-last';
    await startJob(h.deps, { jobId, spec: SPEC });
    let died: unknown;
    for (let round = 0; died === undefined; round++) died = await step(h, container, jobId, round);
    expect(String(died)).toMatch(/died clearing round/);
    const job = (await store.getJob(jobId))!;
    expect(job.status).toBe('SUCCEEDED');
    const last = h.completion.sent.at(-1)!;
    expect(last.round).toBe(job.round);
    expect((await state(store, jobId, job.round)).some((r) => r.partials.length > 0)).toBe(true);

    // Act: SQS redelivers the completion of the invocation that failed
    const outcome = await aggregate(h.deps, last);

    // Assess
    expect(outcome).toEqual({ status: 'ignored', reason: 'job is SUCCEEDED' });
    expect(await state(store, jobId, job.round)).toEqual(Array.from({ length: job.round + 1 }, (_, round) => ({ round, arrivals: [], partials: [] })));
  });
});
