import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { decodePartial, encodePartial } from '../../src/protocol/codec.js';
import { treeMerge, type GroupReport } from '../../src/protocol/groupMerge.js';
import { barrierGroups, groupMembers } from '../../src/domain/groups.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import type { RoundTask } from '../../src/domain/job.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs, separable } from '../helpers/data.js';
import { drive, harness, type Harness } from '../helpers/protocol.js';
import { Rng } from '../../src/util/random.js';

/*
 * The tree merge (issue 18, item 4): whichever arrival fills which group, whatever the order and
 * duplicates, a tree-merged job ends with the flat merge's model bit for bit, and the aggregator
 * reads ⌈√W⌉ group partials.
 */

const datasets = new MemoryDatasetSource()
  .add('blobs', blobs([[0, 0, 0], [6, 6, 0], [-6, 6, 3], [0, -7, 2]], 60, 1.5, 9))
  .add('separable', separable(400, 5, 17, 0.1));
const SPECS = {
  kmeans: { algorithm: 'kmeans', k: 4, seed: 3, maxRounds: 4, tol: 0, threads: 1, data: { uri: 'blobs' } },
  newton: { algorithm: 'logreg', solver: 'newton', l2: 0.01, maxRounds: 4, tol: 0, threads: 1, data: { uri: 'separable' } },
} as const;

let container: WorkerContainer;
beforeAll(() => {
  container = new WorkerContainer(1);
});
afterAll(async () => {
  await container?.close();
});

interface Run {
  model: Buffer;
  result: unknown;
  reads: { partialBytes: number; readBytes?: number }[];
  h: Harness;
  jobId: string;
}

/** Runs a job to its end; `seed` picks a random delivery order, `duplicate` re-queues that share of tasks. */
async function run(spec: Record<string, unknown>, options: { seed?: number; duplicate?: number } = {}): Promise<Run> {
  const store = new MemoryStore();
  const h = harness(store, datasets);
  const jobId = `tree-${Math.random().toString(36).slice(2)}`;
  await startJob(h.deps, { jobId, spec });
  if (options.duplicate) {
    // Duplicate a share of every publish: wrap the fan-out's publish.
    const rng = new Rng(options.seed ?? 1);
    const publish = h.fanout.publish.bind(h.fanout);
    h.fanout.publish = async (tasks: RoundTask[]) => publish([...tasks, ...tasks.filter(() => rng.next() < options.duplicate!)]);
    h.fanout.pending.push(...h.fanout.pending.filter(() => rng.next() < options.duplicate!).map((t) => ({ ...t })));
  }
  await drive(h, container, { seed: options.seed });
  const job = (await store.getJob(jobId))!;
  expect(job.status, job.error).toBe('SUCCEEDED');
  const model = Buffer.from((await store.getModel(jobId, job.round + 1))!);
  const reads = (await store.listRoundMetrics(jobId)).filter((m) => m.phase !== 'prepare');
  return { model, result: job.result, reads, h, jobId };
}

describe('tree merge', () => {
  it.each([
    ['kmeans', 3],
    ['kmeans', 10],
    ['kmeans', 17],
    ['newton', 4],
    ['newton', 9],
    ['newton', 12],
  ] as const)('%s, W = %i: flat and tree give the same model bit for bit in any arrival order, with duplicates', async (name, workers) => {
    // Prepare
    const spec = { ...SPECS[name], workers };

    // Act
    const flat = await run({ ...spec, merge: 'flat' });
    const trees = [
      await run({ ...spec, merge: 'tree' }),
      await run({ ...spec, merge: 'tree' }, { seed: 11 }),
      await run({ ...spec, merge: 'tree' }, { seed: 12, duplicate: 0.3 }),
      await run({ ...spec, merge: 'tree' }, { seed: 13, duplicate: 1 }),
    ];

    // Assess
    const G = barrierGroups(workers);
    for (const [i, tree] of trees.entries()) {
      expect(tree.model.equals(flat.model), `tree run ${i}: final model bytes`).toBe(true);
      expect(tree.result, `tree run ${i}`).toEqual(flat.result);
    }
    // Flat reads every partial; the tree, in order, finds every group merged and reads its G group
    // partials (each a partial plus its members' folded report), not the W partials.
    expect(G).toBeLessThan(workers);
    for (const r of flat.reads) expect(r.readBytes).toBe(r.partialBytes);
    for (const r of trees[0]!.reads) {
      expect(r.readBytes).not.toBe(r.partialBytes);
      // Where the partial outweighs its report (Newton's Hessian), G ≤ W/3 group partials are less than half the bytes.
      if (name === 'newton' && workers >= 9) expect(r.readBytes!).toBeLessThan(r.partialBytes / 2);
    }
  });

  it('leaves a group with a stray partial unmerged; the aggregator re-runs the stray and the model is unchanged', async () => {
    // Prepare: W = 9 (groups {0,3,6} {1,4,7} {2,5,8}); in round 2 a partial of another model is written first for shard 3.
    const spec = { ...SPECS.kmeans, workers: 9, merge: 'tree' as const };
    const flat = await run({ ...spec, merge: 'flat' });
    const store = new MemoryStore();
    const h = harness(store, datasets);
    const jobId = 'tree-stray';
    await startJob(h.deps, { jobId, spec });
    const stray = 3;
    let skipped: unknown;
    const seen = new Set<number>();
    for (let step = 0; step < 10_000; step++) {
      const task = h.fanout.pending.shift();
      const completion = task ? undefined : h.completion.pending.shift();
      if (!task && !completion) break;
      if (task) {
        if (task.round === 2 && task.shard === stray && !seen.has(stray)) {
          // Act: the stray lands first, computed from a shifted model.
          seen.add(stray);
          const model = Buffer.from(task.model!, 'base64');
          const shifted = new Float64Array(model.buffer.slice(model.byteOffset, model.byteOffset + model.byteLength)).map((v) => v + 0.25);
          await runWorker(h.deps, container, { ...task, model: Buffer.from(shifted.buffer).toString('base64') });
          h.fanout.pending.push(task);
          continue;
        }
        const out = await runWorker(h.deps, container, task);
        if (out.status === 'done' && task.round === 2 && out.groupMerge && typeof out.groupMerge === 'object') skipped = out.groupMerge;
      } else {
        await aggregate(h.deps, completion!);
      }
    }
    const job = (await store.getJob(jobId))!;

    // Assess
    expect(skipped).toEqual({ skipped: `shard ${stray}'s partial is not one of this round's model` });
    expect(job.status).toBe('SUCCEEDED');
    expect(Buffer.from((await store.getModel(jobId, job.round + 1))!).equals(flat.model)).toBe(true);
    expect(h.fanout.of(jobId, 2).filter((t) => t.shard === stray).length).toBeGreaterThanOrEqual(2);
  });

  it('discards a group partial of another model and merges that group from its own partials', async () => {
    // Prepare: round 1 runs; before its completion is handled, group 1's partial is replaced by one tagged with another digest.
    const spec = { ...SPECS.newton, workers: 9, merge: 'tree' as const };
    const flat = await run({ ...spec, merge: 'flat' });
    const store = new MemoryStore();
    const h = harness(store, datasets);
    const jobId = 'tree-forged-group';
    await startJob(h.deps, { jobId, spec });
    while (h.fanout.pending.some((t) => t.round === 0) || h.completion.pending.some((c) => c.round === 0)) {
      const task = h.fanout.pending.shift();
      if (task) await runWorker(h.deps, container, task);
      else await aggregate(h.deps, h.completion.pending.shift()!);
    }
    while (h.fanout.pending.length) await runWorker(h.deps, container, h.fanout.pending.shift()!);
    const [g0, g1] = await store.getGroupPartials(jobId, 1, 3);
    const real = decodePartial<GroupReport>(g1!);
    await store.discardGroupPartial(jobId, 1, 1);
    await store.putGroupPartial(jobId, 1, 1, encodePartial(real.partial.map((v) => v * 2), { ...real.report, modelDigest: 'f'.repeat(32) }));

    // Act
    const outcome = await aggregate(h.deps, h.completion.pending.shift()!);
    await drive(h, container);
    const job = (await store.getJob(jobId))!;

    // Assess
    expect(g0).toBeDefined();
    expect(real.report.shards).toEqual(groupMembers(1, 9));
    expect(outcome.status).toBe('advanced');
    const round1 = (await store.listRoundMetrics(jobId)).find((m) => m.round === 1)!;
    // Two group partials and group 1's three partials were read.
    expect(round1.readBytes!).toBeGreaterThan(round1.partialBytes / 9 * 4);
    expect(Buffer.from((await store.getModel(jobId, job.round + 1))!).equals(flat.model)).toBe(true);
  });

  it('auto merges in a tree only when a round\'s partials reach a megabyte', () => {
    expect(treeMerge({}, 300, 137)).toBe(false); // k-means 16 × 8: 330 KB a round
    expect(treeMerge({}, 300, 301 * 301 + 302)).toBe(true); // Newton at d = 300
    expect(treeMerge({ merge: 'tree' }, 300, 10)).toBe(true);
    expect(treeMerge({ merge: 'tree' }, 2, 10)).toBe(false); // two groups of one: nothing to merge
    expect(treeMerge({ merge: 'flat' }, 300, 1e6)).toBe(false);
  });
});
