import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDatasetSource } from '../../src/data/sources/MemoryDatasetSource.js';
import { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import { aggregate } from '../../src/protocol/aggregate.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import { startJob } from '../../src/protocol/startJob.js';
import { BACKUP_FACTOR, backupQuorum, checkStragglers, MAX_BACKUP_CHECKS, quorumMs } from '../../src/protocol/stragglers.js';
import { type BackupCheck } from '../../src/ports/DelayedChannel.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { blobs } from '../helpers/data.js';
import { drive, harness, type Harness } from '../helpers/protocol.js';

/*
 * Backup tasks (issue 18, item 5): the aggregation that publishes a round schedules a delayed check
 * at BACKUP_FACTOR × the round before's quorum time; the check re-publishes the missing shards once
 * when most have arrived, and the first partial of a shard wins, so the model is unchanged.
 */

const datasets = new MemoryDatasetSource().add('blobs', blobs([[0, 0], [7, 7], [-7, 7]], 50, 1.5, 5));
const W = 10;
const SPEC = { algorithm: 'kmeans', k: 3, seed: 4, workers: W, threads: 1, maxRounds: 3, tol: 0, data: { uri: 'blobs' } } as const;

let container: WorkerContainer;
beforeAll(() => {
  container = new WorkerContainer(1);
});
afterAll(async () => {
  await container?.close();
});

/** A harness whose clock steps 10 ms per worker and whose delayed checks are recorded. */
function withChecks(): Harness & { checks: { check: BackupCheck; delayMs: number }[]; tick: () => void } {
  const h = harness(new MemoryStore(), datasets);
  let now = 1_000_000;
  const checks: { check: BackupCheck; delayMs: number }[] = [];
  h.deps.now = () => now;
  h.deps.delayed = { send: async (check, delayMs) => void checks.push({ check: structuredClone(check), delayMs }) };
  return Object.assign(h, { checks, tick: () => void (now += 10) });
}

describe('backup tasks for stragglers', () => {
  it('counts the quorum as 90 % of the shards, at least one', () => {
    expect([1, 2, 3, 10, 300].map(backupQuorum)).toEqual([1, 1, 2, 9, 270]);
    expect(quorumMs([130, 100, undefined, 110], 100, 4)).toBe(30); // 3 of 4 needed: the third of 100, 110, 130
    expect(quorumMs([undefined], 0, 1)).toBeUndefined();
  });

  it('schedules one check per round at the factor times the round before\'s quorum time, and backs up the stragglers once', async () => {
    // Prepare: run the preparation round with 10 ms between arrivals, holding back round 1's shard 7.
    const h = withChecks();
    const jobId = 'backups';
    await startJob(h.deps, { jobId, spec: SPEC });
    for (;;) {
      const task = h.fanout.pending.shift();
      if (task) {
        h.tick();
        await runWorker(h.deps, container, task);
      } else if (h.completion.pending.length) await aggregate(h.deps, h.completion.pending.shift()!);
      if (h.fanout.pending.every((t) => t.round === 1) && h.completion.pending.length === 0) break;
    }
    const round0 = (await h.store.listRoundMetrics(jobId))[0]!;
    const straggler = h.fanout.pending.find((t) => t.shard === 7)!;
    h.fanout.pending.splice(h.fanout.pending.indexOf(straggler), 1);
    for (const task of h.fanout.pending.splice(0)) await runWorker(h.deps, container, task);

    // Act: the check arrives; then again (a duplicate delivery).
    const [scheduled] = h.checks;
    const first = await checkStragglers(h.deps, scheduled!.check);
    const again = await checkStragglers(h.deps, scheduled!.check);
    const backup = h.fanout.pending.splice(0);
    for (const task of backup) await runWorker(h.deps, container, task);
    await runWorker(h.deps, container, straggler); // the original, late: its partial loses
    await drive(h, container);

    // Assess
    // Round 0's quorum: 9 of 10 arrivals, 10 ms apart from the start's clock.
    expect(round0.quorumMs).toBe(90);
    expect(h.checks[0]).toEqual({ check: { jobId, round: 1, check: 1, delayMs: BACKUP_FACTOR * 90 }, delayMs: BACKUP_FACTOR * 90 });
    expect(first).toEqual({ action: 'backups', shards: [7] });
    expect(again).toEqual({ action: 'none', reason: 'round 1 had its backups' });
    expect(backup.map((t) => [t.round, t.shard])).toEqual([[1, 7]]);
    const job = (await h.store.getJob(jobId))!;
    expect(job.status).toBe('SUCCEEDED');
    // One check per published round (1, 2, 3).
    expect(h.checks.map((c) => c.check.round)).toEqual([1, 2, 3]);
    const plain = harness(new MemoryStore(), datasets);
    await startJob(plain.deps, { jobId: 'plain', spec: SPEC });
    await drive(plain, container);
    expect(job.result).toEqual((await plain.store.getJob('plain'))!.result);
  });

  it('looks again later while less than the quorum has arrived, at most a few times, and never once the round is over', async () => {
    // Prepare: round 0 published, nothing arrived yet.
    const h = withChecks();
    const jobId = 'slow-round';
    await startJob(h.deps, { jobId, spec: SPEC });
    const check: BackupCheck = { jobId, round: 0, check: 1, delayMs: 50 };

    // Act
    const early = await checkStragglers(h.deps, check);
    const last = await checkStragglers(h.deps, { ...check, check: MAX_BACKUP_CHECKS });
    await drive(h, container);
    const over = await checkStragglers(h.deps, check);

    // Assess
    expect(early).toEqual({ action: 'rescheduled' });
    expect(h.checks[0]).toEqual({ check: { ...check, check: 2 }, delayMs: 50 });
    expect(last).toEqual({ action: 'none', reason: `only 0 of ${W} shards arrived` });
    expect(over).toEqual({ action: 'none', reason: 'the round is over' });
    expect(h.fanout.of(jobId, 0)).toHaveLength(W);
  });
});
