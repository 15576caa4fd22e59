import { JobExistsError, MissingStateError, PartialMissingError } from '../errors.js';
import type { Arrival, StateStore } from '../ports/StateStore.js';
import { barrierGroups, groupComplete } from '../domain/groups.js';
import { claimGroupOf, claimGroups, decodeClaim, encodeClaim, signalOf, sortClaims, type Claim, type ClaimAnswer, type Handed, type LingerPoll, type ReleaseAnswer } from '../domain/claims.js';
import type { JobPatch, JobRecord, JobStatus, RoundMetrics } from '../domain/job.js';
import { recordIo } from '../util/io-meter.js';

/**
 * State in this process's memory: the default for local runs. Values are copied in and out, so
 * callers cannot change stored state by mutating what they passed or got.
 */
export class MemoryStore implements StateStore {
  readonly kind = 'memory';
  private readonly jobs = new Map<string, JobRecord>();
  private readonly blobs = new Map<string, Uint8Array>();
  private readonly barriers = new Map<string, Set<number>>();
  private readonly metrics = new Map<string, Map<number, RoundMetrics>>();
  /** Claim groups: `${jobId}/${round}/${group}` → the claims (`shard@until`) and how it was handed over. */
  private readonly claims = new Map<string, ClaimGroup>();

  async createJob(job: JobRecord): Promise<void> {
    recordIo(1, jsonSize(job), 0);
    if (this.jobs.has(job.jobId)) throw new JobExistsError(job.jobId);
    this.jobs.set(job.jobId, structuredClone(job));
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const job = this.jobs.get(jobId);
    recordIo(1, 0, job ? jsonSize(job) : 0);
    return job ? structuredClone(job) : undefined;
  }

  async updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
    recordIo(1, jsonSize(patch), 0);
    const job = this.jobs.get(jobId);
    if (!job || job.round !== expect.round || job.status !== expect.status) return false;
    Object.assign(job, structuredClone(patch), { updatedAt: Date.now() });
    return true;
  }

  async putModel(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    this.putBlob(`${jobId}/model/${round}`, bytes);
  }

  async getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return this.getBlob(`${jobId}/model/${round}`);
  }

  async putModelView(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    this.putBlob(`${jobId}/view/${round}`, bytes);
  }

  async getModelView(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return this.getBlob(`${jobId}/view/${round}`);
  }

  /** One request writing a copy (the caller may reuse its buffer), as a real store's write would. */
  private putBlob(key: string, bytes: Uint8Array): void {
    recordIo(1, bytes.byteLength, 0);
    this.blobs.set(key, bytes.slice());
  }

  /** One request returning a copy, so a reader cannot change what is stored. */
  private getBlob(key: string): Uint8Array | undefined {
    const bytes = this.blobs.get(key);
    recordIo(1, 0, bytes?.byteLength ?? 0);
    return bytes?.slice();
  }

  async putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean> {
    recordIo(1, bytes.byteLength, 0);
    const key = `${jobId}/partial/${round}/${shard}`;
    if (this.blobs.has(key)) return false;
    this.blobs.set(key, bytes.slice());
    return true;
  }

  async discardPartial(jobId: string, round: number, shard: number): Promise<void> {
    recordIo(1, 0, 0);
    this.blobs.delete(`${jobId}/partial/${round}/${shard}`);
  }

  async clearRound(jobId: string, round: number, shards: number): Promise<void> {
    recordIo(1, 0, 0);
    for (let shard = 0; shard < shards; shard++) this.blobs.delete(`${jobId}/partial/${round}/${shard}`);
    for (let group = 0; group < barrierGroups(Math.max(1, shards)); group++) this.blobs.delete(`${jobId}/group/${round}/${group}`);
    this.barriers.delete(`${jobId}/${round}`);
    for (let g = 0; g < claimGroups(shards); g++) this.claims.delete(`${jobId}/${round}/${g}`);
  }

  async getPartials(jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const shard of which ?? Array.from({ length: shards }, (_, i) => i)) {
      const bytes = this.blobs.get(`${jobId}/partial/${round}/${shard}`);
      if (!bytes) throw new PartialMissingError(jobId, round, shard);
      recordIo(1, 0, bytes.byteLength);
      out.push(bytes.slice());
    }
    return out;
  }

  async putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean> {
    recordIo(1, bytes.byteLength, 0);
    const key = `${jobId}/group/${round}/${group}`;
    if (this.blobs.has(key)) return false;
    this.blobs.set(key, bytes.slice());
    return true;
  }

  async getGroupPartials(jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]> {
    const out = Array.from({ length: groups }, (_, group) => this.blobs.get(`${jobId}/group/${round}/${group}`)?.slice());
    recordIo(1, 0, out.reduce((n, b) => n + (b?.byteLength ?? 0), 0));
    return out;
  }

  async discardGroupPartial(jobId: string, round: number, group: number): Promise<void> {
    recordIo(1, 0, 0);
    this.blobs.delete(`${jobId}/group/${round}/${group}`);
  }

  async arrive(jobId: string, round: number, shard: number, shards: number): Promise<Arrival> {
    recordIo(1, 16, 8);
    const key = `${jobId}/${round}`;
    let set = this.barriers.get(key);
    if (!set) this.barriers.set(key, (set = new Set()));
    const added = !set.has(shard);
    set.add(shard);
    return { added, count: set.size, groupFilled: groupComplete(shard, Math.max(1, shards ?? 1), set) };
  }

  async arrivals(jobId: string, round: number, _shards?: number): Promise<number[]> {
    const set = this.barriers.get(`${jobId}/${round}`);
    recordIo(1, 0, (set?.size ?? 0) * 4);
    return [...(set ?? [])].sort((a, b) => a - b);
  }

  async putRoundMetrics(jobId: string, metrics: RoundMetrics): Promise<void> {
    recordIo(1, jsonSize(metrics), 0);
    let rounds = this.metrics.get(jobId);
    if (!rounds) this.metrics.set(jobId, (rounds = new Map()));
    rounds.set(metrics.round, structuredClone(metrics));
  }

  async listRoundMetrics(jobId: string): Promise<RoundMetrics[]> {
    const rounds = [...(this.metrics.get(jobId)?.values() ?? [])].sort((a, b) => a.round - b.round);
    recordIo(1, 0, rounds.reduce((n, m) => n + jsonSize(m), 0));
    return structuredClone(rounds);
  }

  async claim(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer> {
    recordIo(1, 16, 0);
    const group = this.claimGroup(jobId, round, claimGroupOf(shard, shards), true)!;
    if (group.handed) return signalOf(group.handed) as ClaimAnswer;
    group.members.add(encodeClaim(shard, until));
    return 'claimed';
  }

  async release(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer> {
    recordIo(1, 16, 0);
    const group = this.claimGroup(jobId, round, claimGroupOf(shard, shards), false);
    if (!group) return 'released';
    if (group.handed) return signalOf(group.handed) as ReleaseAnswer;
    group.members.delete(encodeClaim(shard, until));
    return 'released';
  }

  async handOver(jobId: string, round: number, shards: number, ended = false, model?: Uint8Array): Promise<Claim[]> {
    const out: Claim[] = [];
    for (let g = 0; g < claimGroups(shards); g++) {
      recordIo(1, 8 + (model?.byteLength ?? 0), 0);
      const group = this.claimGroup(jobId, round, g, true)!;
      if (!group.handed) {
        group.handed = ended ? 'end' : 'next';
        if (model) group.model = model.slice();
      }
      for (const member of group.members) out.push(decodeClaim(member));
    }
    return sortClaims(out);
  }

  async handedOver(jobId: string, round: number, shard: number, shards: number): Promise<LingerPoll> {
    const group = this.claimGroup(jobId, round, claimGroupOf(shard, shards), false);
    recordIo(1, 0, 8 + (group?.model?.byteLength ?? 0));
    if (!group) return { signal: 'gone' };
    return { signal: signalOf(group.handed), ...(group.model ? { model: group.model.slice() } : {}) };
  }

  private claimGroup(jobId: string, round: number, group: number, create: boolean): ClaimGroup | undefined {
    const key = `${jobId}/${round}/${group}`;
    let found = this.claims.get(key);
    if (!found && create) this.claims.set(key, (found = { members: new Set() }));
    return found;
  }

  async close(): Promise<void> {}
}

/** A claim group: its claims (`shard@until`), how it was handed over, and the model the hand-over carried. */
interface ClaimGroup {
  members: Set<string>;
  handed?: Handed;
  model?: Uint8Array;
}

function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
