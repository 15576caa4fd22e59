import type { Algorithm } from '../algorithms/types.js';
import { BspmlError, PartialMissingError } from '../errors.js';
import type { StateStore } from '../ports/StateStore.js';
import { decodePartial, encodePartial } from './codec.js';
import { barrierGroups, groupMembers } from '../domain/groups.js';
import type { JobSpec } from '../domain/spec.js';
import type { JobRecord, WorkerReport } from '../domain/job.js';

/*
 * The tree merge (issue 18): the arrival that completes a barrier group (src/domain/groups.ts)
 * merges that group's partials into one group partial and stores it, so the aggregator reads
 * G = ⌈√W⌉ group partials instead of W partials. The order of every sum is fixed: within a group,
 * its shards in ascending order; then the groups in order. The aggregator merges in that same
 * two-level order whether a group's sum comes from a stored group partial or from the group's
 * own partials (the flat merge does too), so flat and tree give the same model bit for bit,
 * whichever arrival fills which group and whichever groups got merged.
 */

/**
 * Below this many bytes of partials per round (W × one partial), `merge: auto` reads them flat:
 * the aggregator gets them in a handful of batched reads, one round trip, and the tree would only
 * add its own round trip (a group merger reads its group and writes its sum) to the critical path.
 * Above it the aggregator's reading grows with W × partial while the tree's is G × partial, read by
 * G mergers in parallel. 1 MiB: assumption, a few BatchGetItem responses' worth (a response holds up
 * to 16 MB and 100 items; the DynamoDB developer guide, BatchGetItem).
 */
export const TREE_MIN_ROUND_BYTES = 1024 * 1024;

/** What a group partial carries beside the group's sum: its members' reports, folded. */
export interface GroupReport {
  group: number;
  /** The shards merged, ascending: every member of the group. */
  shards: number[];
  /** The digest every member's partial was computed from. */
  modelDigest: string;
  rows: number;
  /** Slowest member's compute and load time; members that found their shard cached. */
  computeMs: number;
  loadMs: number;
  cacheHits: number;
  /** Bytes of the members' stored partials. */
  partialBytes: number;
  /** The members' arrival times (their reports' `arrivedAt`), in member order. */
  arrivals: (number | null)[];
}

/** Whether a job's training rounds merge in a tree: the spec's `merge`, and for `auto` the round's size. */
export function treeMerge(spec: Pick<JobSpec, 'merge'>, shards: number, partialLength: number): boolean {
  const mode = spec.merge ?? 'auto';
  if (mode === 'flat' || barrierGroups(shards) === shards) return false;
  if (mode === 'tree') return true;
  return shards * partialLength * 8 >= TREE_MIN_ROUND_BYTES;
}

export type GroupMergeOutcome = 'merged' | 'exists' | { skipped: string };

/**
 * Merges the partials of `group` into its group partial, once. Merges nothing when a member's
 * partial is missing, damaged, or not computed from `digest` (a stray: see aggregate.ts), leaving
 * the group to the aggregator, which then reads its members one by one and deals with the strays.
 */
export async function mergeGroup(
  store: StateStore,
  algorithm: Algorithm,
  job: Pick<JobRecord, 'jobId' | 'shards'>,
  round: number,
  group: number,
  digest: string,
  partialLength: number,
): Promise<GroupMergeOutcome> {
  const members = groupMembers(group, job.shards);
  let stored: Uint8Array[];
  try {
    stored = await store.getPartials(job.jobId, round, job.shards, members);
  } catch (error) {
    // A partial discarded as a stray (its re-run will arrive again and retry), or a round already cleared.
    if (error instanceof PartialMissingError) return { skipped: `shard ${error.shard}'s partial is missing` };
    throw error;
  }
  const sum = new Float64Array(partialLength);
  const report: GroupReport = { group, shards: members, modelDigest: digest, rows: 0, computeMs: 0, loadMs: 0, cacheHits: 0, partialBytes: 0, arrivals: [] };
  for (const [i, bytes] of stored.entries()) {
    const one = decodeOrUndefined<WorkerReport>(bytes);
    if (!one || one.report.modelDigest !== digest || one.partial.length !== partialLength || one.report.shard !== members[i]) {
      return { skipped: `shard ${members[i]}'s partial is not one of this round's model` };
    }
    algorithm.merge(sum, one.partial);
    report.rows += one.report.rows;
    report.computeMs = Math.max(report.computeMs, one.report.computeMs);
    report.loadMs = Math.max(report.loadMs, one.report.loadMs);
    if (one.report.cacheHit) report.cacheHits++;
    report.partialBytes += bytes.byteLength;
    report.arrivals.push(one.report.arrivedAt ?? null);
  }
  return (await store.putGroupPartial(job.jobId, round, group, encodePartial(sum, report))) ? 'merged' : 'exists';
}

/** What the aggregator gathered of a training round. */
export type Gathered =
  | { kind: 'merged'; merged: Float64Array; computeMs: number; loadMs: number; cacheHits: number; partialBytes: number; readBytes: number; arrivals: (number | undefined)[] }
  /** A shard without a partial (not arrived yet, or discarded). */
  | { kind: 'missing'; shard: number }
  /** Shards whose partials were not computed from the round's model: discard and re-run them. */
  | { kind: 'strays'; shards: number[] };

/**
 * The round's merged partial, in the fixed two-level order: group partials where stored and sound
 * (with `tree`), else each group's own partials summed in shard order. A group partial not of this
 * round's model is discarded and its group read member by member.
 */
export async function gatherPartials(
  store: StateStore,
  algorithm: Algorithm,
  job: Pick<JobRecord, 'jobId' | 'shards' | 'round'>,
  digest: string,
  partialLength: number,
  tree: boolean,
): Promise<Gathered> {
  const W = job.shards;
  const G = barrierGroups(W);
  const sums: (Float64Array | undefined)[] = new Array(G).fill(undefined);
  const out = { computeMs: 0, loadMs: 0, cacheHits: 0, partialBytes: 0, readBytes: 0, arrivals: [] as (number | undefined)[] };
  const need: number[] = [];
  const groupBytes = tree ? await store.getGroupPartials(job.jobId, job.round, G) : new Array<undefined>(G).fill(undefined);
  for (let g = 0; g < G; g++) {
    const bytes = groupBytes[g];
    if (bytes) {
      out.readBytes += bytes.byteLength;
      const one = decodeOrUndefined<GroupReport>(bytes);
      const members = groupMembers(g, W);
      if (one && one.report.modelDigest === digest && one.partial.length === partialLength && sameShards(one.report.shards, members)) {
        sums[g] = one.partial;
        out.computeMs = Math.max(out.computeMs, one.report.computeMs);
        out.loadMs = Math.max(out.loadMs, one.report.loadMs);
        out.cacheHits += one.report.cacheHits;
        out.partialBytes += one.report.partialBytes;
        for (const t of one.report.arrivals ?? []) out.arrivals.push(t ?? undefined);
        continue;
      }
      await store.discardGroupPartial(job.jobId, job.round, g);
    }
    need.push(...groupMembers(g, W));
  }

  if (need.length > 0) {
    let stored: Uint8Array[];
    try {
      // Everything (the flat merge, or no group merged yet): the whole round in shard order, as ever.
      stored = need.length === W ? await store.getPartials(job.jobId, job.round, W) : await store.getPartials(job.jobId, job.round, W, need);
    } catch (error) {
      if (!(error instanceof PartialMissingError) || error.jobId !== job.jobId || error.round !== job.round) throw error;
      return { kind: 'missing', shard: error.shard };
    }
    const order = need.length === W ? Array.from({ length: W }, (_, i) => i) : need;
    const byShard = new Map<number, { partial: Float64Array; report: WorkerReport; bytes: number }>();
    const strays: number[] = [];
    stored.forEach((bytes, i) => {
      const shard = order[i]!;
      const one = decodeOrUndefined<WorkerReport>(bytes);
      if (!one || one.report.modelDigest !== digest || one.partial.length !== partialLength) strays.push(shard);
      else byShard.set(shard, { ...one, bytes: bytes.byteLength });
      out.readBytes += bytes.byteLength;
    });
    if (strays.length > 0) return { kind: 'strays', shards: strays.sort((a, b) => a - b) };
    for (let g = 0; g < G; g++) {
      if (sums[g]) continue;
      const sum = new Float64Array(partialLength);
      for (const shard of groupMembers(g, W)) {
        const one = byShard.get(shard)!;
        algorithm.merge(sum, one.partial);
        out.computeMs = Math.max(out.computeMs, one.report.computeMs);
        out.loadMs = Math.max(out.loadMs, one.report.loadMs);
        if (one.report.cacheHit) out.cacheHits++;
        out.partialBytes += one.bytes;
        out.arrivals.push(one.report.arrivedAt);
      }
      sums[g] = sum;
    }
  }

  const merged = new Float64Array(partialLength);
  for (const sum of sums) algorithm.merge(merged, sum!);
  return { kind: 'merged', merged, ...out };
}

function sameShards(a: number[] | undefined, b: number[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((v, i) => v === b[i]);
}

function decodeOrUndefined<R>(bytes: Uint8Array): { partial: Float64Array; report: R } | undefined {
  try {
    return decodePartial<R>(bytes);
  } catch (error) {
    if (error instanceof BspmlError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
