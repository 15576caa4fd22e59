import type { Arrival, StateStore } from '../ports/StateStore.js';
import type { JobPatch, JobRecord, JobStatus, RoundMetrics } from '../domain/job.js';
import { barrierGroupPk, CHUNK_BYTES, claimGroupPk, groupPartialPk, partialPk } from '../stores/dynamodb/layout.js';
import { barrierGroups } from '../domain/groups.js';
import { claimGroupOf, claimGroups, type Claim, type ClaimAnswer, type LingerPoll, type ReleaseAnswer } from '../domain/claims.js';
import { MemoryStore } from '../stores/MemoryStore.js';
import type { Service, Services, StoreRequest } from './services.js';

export type SimBackend = 'dynamodb' | 's3' | 'redis' | 'memory';
/** DynamoDB layouts: today's (spread over partition keys, two-level barrier) or the one before it. */
export type DynamoLayout = 'spread' | 'single';

const KB = 1024;
/** BatchGetItem's key limit and the adapter's parallel batch requests (src/stores/dynamodb/layout.ts). */
const BATCH_KEYS = 100;
const BATCH_LANES = 16;
const CHUNK_LANES = 4;
/** S3Store reads partials with this many GETs in flight (assumption: the adapter's lanes). */
const S3_LANES = 16;

/**
 * A state store for the simulator: a MemoryStore holds the state (so the protocol runs for real),
 * and every call first makes, under the virtual clock, the requests the named backend's adapter
 * makes for it — DynamoDB items and partition keys as src/stores/dynamodb/layout.ts lays them out
 * (the same key functions), S3 objects, Redis commands — so their latency, throughput limits,
 * retries and prices apply.
 */
export class SimStore implements StateStore {
  readonly kind: string;
  private readonly state = new MemoryStore();
  /** Arrived shards per barrier group (DynamoDB spread layout), to know which arrival fills a group. */
  private readonly groups = new Map<string, Set<number>>();
  private readonly jobBytes = new Map<string, number>();

  /**
   * Called with the bytes of the partials a reader has just fetched, in the reader's invocation:
   * the simulator makes it the time the aggregator takes to merge them (see simulate.ts).
   */
  onPartialsRead?: (bytes: number) => Promise<void>;

  constructor(private readonly services: Services, readonly backend: SimBackend, private readonly layout: DynamoLayout = 'spread') {
    this.kind = backend;
  }

  async createJob(job: JobRecord): Promise<void> {
    this.jobBytes.set(job.jobId, jsonBytes(job));
    await this.write('createJob', jobKey(job.jobId), this.jobBytes.get(job.jobId)!);
    return this.state.createJob(job);
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    await this.read('getJob', jobKey(jobId), this.jobBytes.get(jobId) ?? KB);
    return this.state.getJob(jobId);
  }

  async updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
    const bytes = Math.max(this.jobBytes.get(jobId) ?? KB, jsonBytes(patch));
    if (this.backend === 's3') await this.read('updateJob', jobKey(jobId), bytes); // read for the ETag, then If-Match
    // A DynamoDB update is billed on the larger of the item before and after.
    await this.write('updateJob', jobKey(jobId), bytes);
    const ok = await this.state.updateJob(jobId, expect, patch);
    if (ok) {
      const job = await this.state.getJob(jobId);
      if (job) this.jobBytes.set(jobId, jsonBytes(job));
    }
    return ok;
  }

  async putModel(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    await this.putBlob('putModel', jobKey(jobId), bytes.byteLength);
    return this.state.putModel(jobId, round, bytes);
  }

  async getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
    const model = await this.state.getModel(jobId, round);
    await this.getBlobs('getModel', [jobKey(jobId)], [model?.byteLength ?? 0]);
    return model;
  }

  async putModelView(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    await this.putBlob('putModelView', jobKey(jobId), bytes.byteLength);
    return this.state.putModelView(jobId, round, bytes);
  }

  async getModelView(jobId: string, round: number): Promise<Uint8Array | undefined> {
    const view = await this.state.getModelView(jobId, round);
    await this.getBlobs('getModelView', [jobKey(jobId)], [view?.byteLength ?? 0]);
    return view;
  }

  async putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean> {
    await this.putBlob('putPartial', this.partialKey(jobId, round, shard), bytes.byteLength);
    return this.state.putPartial(jobId, round, shard, bytes);
  }

  async discardPartial(jobId: string, round: number, shard: number): Promise<void> {
    await this.write('discardPartial', this.partialKey(jobId, round, shard), 64);
    return this.state.discardPartial(jobId, round, shard);
  }

  async getPartials(jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]> {
    const wanted = which ?? Array.from({ length: shards }, (_, s) => s);
    const keys = wanted.map((s) => this.partialKey(jobId, round, s));
    const found = await this.state.getPartials(jobId, round, shards, wanted).catch((error: unknown) => error as Error);
    await this.getBlobs('getPartials', keys, keys.map((_, i) => (found instanceof Error ? 0 : found[i]!.byteLength)));
    if (found instanceof Error) throw found;
    await this.onPartialsRead?.(found.reduce((sum, b) => sum + b.byteLength, 0));
    return found;
  }

  async putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean> {
    await this.putBlob('putGroupPartial', this.groupKey(jobId, round, group), bytes.byteLength);
    return this.state.putGroupPartial(jobId, round, group, bytes);
  }

  async getGroupPartials(jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]> {
    const keys = Array.from({ length: groups }, (_, g) => this.groupKey(jobId, round, g));
    const found = await this.state.getGroupPartials(jobId, round, groups);
    await this.getBlobs('getGroupPartials', keys, found.map((b) => b?.byteLength ?? 0));
    await this.onPartialsRead?.(found.reduce((sum, b) => sum + (b?.byteLength ?? 0), 0));
    return found;
  }

  async discardGroupPartial(jobId: string, round: number, group: number): Promise<void> {
    await this.write('discardGroupPartial', this.groupKey(jobId, round, group), 64);
    return this.state.discardGroupPartial(jobId, round, group);
  }

  /**
   * Not timed nor priced here: the aggregator clears a round after publishing the next, off the
   * critical path (its delete requests are left out of the simulated bill).
   */
  async clearRound(jobId: string, round: number, shards: number): Promise<void> {
    return this.state.clearRound(jobId, round, shards);
  }

  async arrive(jobId: string, round: number, shard: number, shards: number): Promise<Arrival> {
    const W = shards ?? 1;
    if (this.backend === 'dynamodb') {
      if (this.layout === 'single') {
        // One item holds the round's set: it grows with W, and every arrival rewrites it.
        await this.write('arrive', jobKey(jobId), 64 + 6 * ((await this.state.arrivals(jobId, round)).length + 1));
      } else {
        const G = barrierGroups(W);
        const g = shard % G;
        const key = `${jobId}/${round}/${g}`;
        let set = this.groups.get(key);
        if (!set) this.groups.set(key, (set = new Set()));
        await this.write('arrive', barrierGroupPk(jobId, round, g), 64 + 6 * (set.size + 1));
        const fills = !set.has(shard) && set.size + 1 === Math.floor((W - 1 - g) / G) + 1;
        set.add(shard);
        if (fills && G > 1) await this.write('arrive', jobKey(jobId), 64 + 6 * G);
      }
    } else if (this.backend === 's3') {
      // A marker, the LIST of markers and tickets, then the next ticket read and created (src/stores/S3Store.ts).
      const prefix = jobKey(jobId);
      await this.write('arrive', prefix, 64);
      await this.read('arrive', prefix, 64 * W);
      await this.read('arrive', prefix, 8 * W);
      await this.write('arrive', prefix, 8 * W);
    } else {
      await this.write('arrive', jobKey(jobId), 64);
    }
    return this.state.arrive(jobId, round, shard, W);
  }

  async arrivals(jobId: string, round: number, shards: number): Promise<number[]> {
    const W = shards ?? 1;
    if (this.backend === 'dynamodb' && this.layout === 'spread') {
      const G = barrierGroups(W);
      await this.batchGet('arrivals', Array.from({ length: G }, (_, g) => barrierGroupPk(jobId, round, g)), Array(G).fill(64 + 6 * Math.ceil(W / G)));
    } else {
      await this.read('arrivals', jobKey(jobId), 64 + 6 * W);
    }
    return this.state.arrivals(jobId, round);
  }

  /*
   * Lingering workers' claims, with the requests each adapter makes: DynamoDB one conditional
   * UpdateItem on the group's own partition (a read more when refused); S3 a GET of the mark, a PUT
   * and a GET again (a DELETE and a GET to release; the hand-over a PUT per group and a LIST);
   * Redis one script.
   */
  async claim(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer> {
    const key = this.claimKey(jobId, round, claimGroupOf(shard, shards));
    const answer = await this.state.claim(jobId, round, shard, shards, until);
    if (this.backend === 's3') {
      await this.read('claim', key, 16);
      if (answer === 'claimed') {
        await this.write('claim', key, 64);
        await this.read('claim', key, 16);
      }
    } else {
      await this.write('claim', key, 64);
      if (this.backend === 'dynamodb' && answer !== 'claimed') await this.read('claim', key, 64);
    }
    return answer;
  }

  async release(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer> {
    const key = this.claimKey(jobId, round, claimGroupOf(shard, shards));
    await this.write('release', key, 64);
    if (this.backend === 's3') await this.read('release', key, 16);
    const answer = await this.state.release(jobId, round, shard, shards, until);
    if (this.backend === 'dynamodb' && answer !== 'released') await this.read('release', key, 64);
    return answer;
  }

  async handOver(jobId: string, round: number, shards: number, ended?: boolean, model?: Uint8Array): Promise<Claim[]> {
    const G = claimGroups(shards);
    const carried = model?.byteLength ?? 0;
    if (this.backend === 'dynamodb') {
      // One UpdateItem per group, all at once (src/stores/dynamodb/claims.ts), each billed on the item with the model.
      const keys = Array.from({ length: G }, (_, g) => this.claimKey(jobId, round, g));
      await this.services.parallel(keys.map((k) => this.request('handOver', k, 'write', 64 + (8 * shards) / G + carried)));
    } else if (this.backend === 's3') {
      // A conditional PUT of each group's mark (16 in flight, S3Store's lanes), then the LIST of the claims.
      const keys = Array.from({ length: G }, (_, g) => this.claimKey(jobId, round, g));
      for (let i = 0; i < keys.length; i += S3_LANES) await this.services.parallel(keys.slice(i, i + S3_LANES).map((k) => this.request('handOver', k, 'write', 16 + carried)));
      await this.read('handOver', jobKey(jobId), 64 * shards);
    } else {
      await this.write('handOver', jobKey(jobId), 16 * G + carried);
    }
    return this.state.handOver(jobId, round, shards, ended, model);
  }

  async handedOver(jobId: string, round: number, shard: number, shards: number): Promise<LingerPoll> {
    // The poll that sees the mark reads the model with it (a larger item, more read units); the
    // answer is the state when the reply leaves, as before the model was carried.
    const seen = await this.state.handedOver(jobId, round, shard, shards);
    await this.read('handedOver', this.claimKey(jobId, round, claimGroupOf(shard, shards)), 64 + (seen.model?.byteLength ?? 0));
    return this.state.handedOver(jobId, round, shard, shards);
  }

  private claimKey(jobId: string, round: number, group: number): string {
    return this.backend === 'dynamodb' ? claimGroupPk(jobId, round, group) : jobKey(jobId);
  }

  async putRoundMetrics(jobId: string, metrics: RoundMetrics): Promise<void> {
    await this.write('putRoundMetrics', jobKey(jobId), jsonBytes(metrics));
    return this.state.putRoundMetrics(jobId, metrics);
  }

  async listRoundMetrics(jobId: string): Promise<RoundMetrics[]> {
    const all = await this.state.listRoundMetrics(jobId);
    await this.read('listRoundMetrics', jobKey(jobId), all.reduce((s, m) => s + jsonBytes(m), 0));
    return all;
  }

  async close(): Promise<void> {
    await this.state.close();
  }

  /** The job record as it stands, read around the simulated requests (for the simulator's own bookkeeping). */
  peekJob(jobId: string): Promise<JobRecord | undefined> {
    return this.state.getJob(jobId);
  }

  peekRounds(jobId: string): Promise<RoundMetrics[]> {
    return this.state.listRoundMetrics(jobId);
  }

  private groupKey(jobId: string, round: number, group: number): string {
    if (this.backend !== 'dynamodb') return jobKey(jobId);
    return this.layout === 'spread' ? groupPartialPk(jobId, round, group) : `JOB#${jobId}#R#${round}`;
  }

  private partialKey(jobId: string, round: number, shard: number): string {
    if (this.backend !== 'dynamodb') return jobKey(jobId);
    return this.layout === 'spread' ? partialPk(jobId, round, shard) : `JOB#${jobId}#R#${round}`;
  }

  /** A payload as a head item, after its chunks when it is larger than one (4 in flight), or one object / SET. */
  private async putBlob(op: string, key: string, bytes: number): Promise<void> {
    if (this.backend === 'dynamodb' && bytes > CHUNK_BYTES) {
      const chunks = Math.ceil(bytes / CHUNK_BYTES);
      for (let i = 0; i < chunks; i += CHUNK_LANES) {
        const lane = Math.min(CHUNK_LANES, chunks - i);
        await this.services.parallel(Array.from({ length: lane }, (_, j) => this.request(op, key, 'write', Math.min(CHUNK_BYTES, bytes - (i + j) * CHUNK_BYTES))));
      }
      await this.write(op, key, 128);
      return;
    }
    await this.write(op, key, bytes + 128);
  }

  private async getBlobs(op: string, keys: string[], sizes: number[]): Promise<void> {
    if (this.backend === 'dynamodb') {
      if (keys.length === 1 && sizes[0]! <= CHUNK_BYTES) return this.read(op, keys[0]!, sizes[0]! + 128);
      return this.batchGet(op, keys, sizes);
    }
    if (this.backend === 's3') {
      for (let i = 0; i < keys.length; i += S3_LANES) {
        await this.services.parallel(keys.slice(i, i + S3_LANES).map((k, j) => this.request(op, k, 'read', sizes[i + j]!)));
      }
      return;
    }
    // Redis: one MGET; memory: one call.
    return this.read(op, keys[0]!, sizes.reduce((a, b) => a + b, 0));
  }

  /** BatchGetItem of heads in batches of 100, 16 batches in flight; chunks of large payloads likewise after. */
  private async batchGet(op: string, keys: string[], sizes: number[]): Promise<void> {
    const items: { key: string; bytes: number }[] = [];
    for (let i = 0; i < keys.length; i++) {
      const size = sizes[i]!;
      if (size <= CHUNK_BYTES) items.push({ key: keys[i]!, bytes: size + 128 });
      else for (let c = 0; c < Math.ceil(size / CHUNK_BYTES); c++) items.push({ key: keys[i]!, bytes: Math.min(CHUNK_BYTES, size - c * CHUNK_BYTES) });
    }
    const batches: { key: string; bytes: number }[][] = [];
    for (let i = 0; i < items.length; i += BATCH_KEYS) batches.push(items.slice(i, i + BATCH_KEYS));
    for (let i = 0; i < batches.length; i += BATCH_LANES) {
      await Promise.all(batches.slice(i, i + BATCH_LANES).map((batch) => this.batch(op, batch)));
    }
  }

  /**
   * One BatchGetItem: each item draws read units from its own partition; the request answers when
   * every item has been served (throttled items come back as UnprocessedKeys and are asked again).
   */
  private async batch(op: string, items: { key: string; bytes: number }[]): Promise<void> {
    const byKey = new Map<string, number>();
    for (const it of items) byKey.set(it.key, (byKey.get(it.key) ?? 0) + Math.max(1, Math.ceil(it.bytes / (4 * KB))));
    const total = items.reduce((s, it) => s + it.bytes, 0);
    // The transfer is shared by the whole response: charge it once, on the largest share.
    const requests = [...byKey.entries()].map(([key, units], i) => ({ ...this.request(op, key, 'read', i === 0 ? total : 0), units }));
    await this.services.parallel(requests);
    this.services.counters.requests[op] = (this.services.counters.requests[op] ?? 0) - requests.length + 1;
  }

  private read(op: string, key: string, bytes: number): Promise<void> {
    return this.services.serial([this.request(op, key, 'read', bytes)]);
  }

  private write(op: string, key: string, bytes: number): Promise<void> {
    return this.services.serial([this.request(op, key, 'write', bytes)]);
  }

  private request(op: string, key: string, kind: 'read' | 'write', bytes: number): StoreRequest {
    const service: Service = this.backend;
    const units = service === 'dynamodb' ? Math.max(1, Math.ceil(bytes / (kind === 'write' ? KB : 4 * KB))) : 1;
    return { service, key: service === 'redis' || service === 'memory' ? 'server' : key, kind, bytes, units, op };
  }
}

const jobKey = (jobId: string) => `JOB#${jobId}`;

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}
