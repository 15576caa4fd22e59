import type { Redis } from 'ioredis';
import { JobExistsError, MissingStateError, PartialMissingError, StoreError } from '../errors.js';
import type { Arrival, StateStore } from '../ports/StateStore.js';
import { barrierGroups, groupOf, groupSize } from '../domain/groups.js';
import { claimGroupOf, claimGroups, decodeClaim, encodeClaim, signalOf, sortClaims, type Claim, type ClaimAnswer, type LingerPoll, type ReleaseAnswer } from '../domain/claims.js';
import type { JobPatch, JobRecord, JobStatus, RoundMetrics } from '../domain/job.js';
import { redisEndpointOf } from '../util/clients.js';
import { recordIo } from '../util/io-meter.js';
import { copyBytes, fromJson, toJson } from './json.js';

/** A week: long enough to inspect a finished job, short enough that abandoned jobs clean themselves up. */
export const DEFAULT_REDIS_TTL_SECONDS = 7 * 24 * 3600;

export interface RedisStoreOptions {
  client: Redis;
  /** Seconds every key lives after its last write (default 7 days). */
  ttlSeconds?: number;
  /** First part of every key (default "bspml"). */
  keyPrefix?: string;
  /** Disconnect the client on close(). */
  ownsClient?: boolean;
  /** Runs after the client is released: lets whoever started a local server stop it with the store. */
  onClose?: () => Promise<void>;
}

/**
 * Create-if-absent of the job hash: EXISTS and HSET in one script, so two creators cannot both
 * succeed. ARGV: ttl, then field/value pairs.
 */
const CREATE_JOB = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

/**
 * Compare-and-set on the job hash. Fields hold JSON, so the expected round and status are compared
 * as the exact strings the client encoded: no cjson decoding (which rounds numbers to 14 digits).
 * ARGV: ttl, expected round, expected status, n, n fields to delete, then field/value pairs to set.
 */
const UPDATE_JOB = `
local cur = redis.call('HMGET', KEYS[1], 'round', 'status')
if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] then return 0 end
local n = tonumber(ARGV[4])
if n > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, 5, 4 + n)) end
if #ARGV > 4 + n then redis.call('HSET', KEYS[1], unpack(ARGV, 5 + n)) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

/**
 * The barrier in one round trip: the round's set decides (a duplicate SADD adds 0), its size is the
 * count; the shard's barrier group (src/domain/groups.ts) has a set too, whose size says whether
 * the group is complete (the tree merge's trigger).
 */
const ARRIVE = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return {added, redis.call('SCARD', KEYS[1]), redis.call('SCARD', KEYS[2])}`;

/*
 * Claims of lingering workers, per claim group: a set `claims:{round}:{group}` of `shard@until` and a
 * string `handed:{round}:{group}` once the group is handed over. Each script reads the mark and
 * changes the set in one step, so a claim lands before the hand-over (which returns it) or is refused.
 */
/** KEYS: claims set, handed mark. ARGV: member, ttl. */
const CLAIM = `
local h = redis.call('GET', KEYS[2])
if h then return h end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 'claimed'`;
/** KEYS: claims set, handed mark. ARGV: member. */
const RELEASE = `
local h = redis.call('GET', KEYS[2])
if h then return h end
redis.call('SREM', KEYS[1], ARGV[1])
return 'released'`;
/**
 * KEYS: claims set, handed mark and model of each group, in threes. ARGV: the mark, ttl, the model
 * (empty: none). Returns every claim. The model is kept beside the mark, first write wins as the mark's.
 */
const HAND_OVER = `
local out = {}
for i = 1, #KEYS, 3 do
  if redis.call('SET', KEYS[i + 1], ARGV[1], 'NX', 'EX', ARGV[2]) and ARGV[3] ~= '' then
    redis.call('SET', KEYS[i + 2], ARGV[3], 'EX', ARGV[2])
  end
  for _, m in ipairs(redis.call('SMEMBERS', KEYS[i])) do out[#out + 1] = m end
end
return out`;
/** KEYS: claims set, handed mark, model. The mark (or whether the group is still there) and the model ('' when none). */
const HANDED_OVER = `
local h = redis.call('GET', KEYS[2])
if h then return {h, redis.call('GET', KEYS[3]) or ''} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'waiting', ''} end
return {'gone', ''}`;

interface Scripts {
  bspmlClaim(set: string, mark: string, member: string, ttl: number): Promise<string>;
  bspmlRelease(set: string, mark: string, member: string): Promise<string>;
  bspmlHandOver(...args: (string | number | Buffer)[]): Promise<string[]>;
  bspmlHandedOverBuffer(set: string, mark: string, model: string): Promise<[Buffer, Buffer]>;
  bspmlCreateJob(key: string, ...args: (string | number)[]): Promise<number>;
  bspmlUpdateJob(key: string, ...args: (string | number)[]): Promise<number>;
  bspmlArriveInGroup(key: string, groupKey: string, shard: number, ttl: number): Promise<[number, number, number]>;
}

/**
 * State in Redis. Every key is `{prefix}:{jobId}:...`: the braces are a cluster hash tag, so all of a
 * job's keys live on one slot (scripts may touch only one slot) and jobs stay apart. Every write
 * refreshes the key's expiry, so a job's keys disappear `ttlSeconds` after its last activity.
 * Payloads are stored whole: a Redis string holds up to 512 MB, far beyond any partial.
 */
export class RedisStore implements StateStore {
  readonly kind = 'redis';
  readonly ttlSeconds: number;
  private readonly client: Redis & Scripts;
  private readonly prefix: string;
  private readonly ownsClient: boolean;
  private readonly onClose?: () => Promise<void>;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_REDIS_TTL_SECONDS;
    if (!Number.isInteger(this.ttlSeconds) || this.ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be a positive integer, not ${this.ttlSeconds}`);
    this.prefix = options.keyPrefix ?? 'bspml';
    this.ownsClient = options.ownsClient ?? false;
    this.onClose = options.onClose;
    const client = options.client;
    // defineCommand sends EVALSHA, falling back to EVAL once per connection when the script is not cached.
    if (!('bspmlArriveInGroup' in client)) {
      client.defineCommand('bspmlCreateJob', { numberOfKeys: 1, lua: CREATE_JOB });
      client.defineCommand('bspmlUpdateJob', { numberOfKeys: 1, lua: UPDATE_JOB });
      client.defineCommand('bspmlArriveInGroup', { numberOfKeys: 2, lua: ARRIVE });
    }
    if (!('bspmlClaim' in client)) {
      client.defineCommand('bspmlClaim', { numberOfKeys: 2, lua: CLAIM });
      client.defineCommand('bspmlRelease', { numberOfKeys: 2, lua: RELEASE });
      client.defineCommand('bspmlHandOver', { lua: HAND_OVER });
      client.defineCommand('bspmlHandedOver', { numberOfKeys: 3, lua: HANDED_OVER });
    }
    this.client = client as Redis & Scripts;
  }

  /** A job's key for `suffix`. Exported shape for tests: `bspml:{job}:part:3:0`. */
  key(jobId: string, suffix: string): string {
    return `${this.prefix}:{${jobId}}:${suffix}`;
  }

  async createJob(job: JobRecord): Promise<void> {
    const pairs = encodeFields(job);
    recordIo(1, pairsBytes(pairs), 0);
    const created = await this.call('createJob', () => this.client.bspmlCreateJob(this.key(job.jobId, 'job'), this.ttlSeconds, ...pairs));
    if (created !== 1) throw new JobExistsError(job.jobId);
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const hash = await this.call('getJob', () => this.client.hgetall(this.key(jobId, 'job')));
    const fields = Object.entries(hash);
    recordIo(1, 0, fields.reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0));
    if (fields.length === 0) return undefined;
    const job: Record<string, unknown> = {};
    for (const [field, value] of fields) job[field] = fromJson(value);
    return job as unknown as JobRecord;
  }

  async updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
    const remove: string[] = [];
    const set: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(patch)) {
      // A field present with undefined is cleared, as Object.assign leaves it in MemoryStore.
      if (value === undefined) remove.push(field);
      else set[field] = value;
    }
    set.updatedAt = Date.now();
    const pairs = encodeFields(set);
    const args = [this.ttlSeconds, toJson(expect.round), toJson(expect.status), remove.length, ...remove, ...pairs];
    recordIo(1, pairsBytes(pairs) + remove.join('').length, 0);
    const applied = await this.call('updateJob', () => this.client.bspmlUpdateJob(this.key(jobId, 'job'), ...args));
    return applied === 1;
  }

  putModel(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    return this.setBlob('putModel', this.key(jobId, `model:${round}`), bytes);
  }

  getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return this.getBlob('getModel', this.key(jobId, `model:${round}`));
  }

  putModelView(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    return this.setBlob('putModelView', this.key(jobId, `view:${round}`), bytes);
  }

  getModelView(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return this.getBlob('getModelView', this.key(jobId, `view:${round}`));
  }

  /** A blob written whole, unconditionally (rewrites carry the same bytes), expiring with the job's keys. */
  private async setBlob(operation: string, key: string, bytes: Uint8Array): Promise<void> {
    recordIo(1, bytes.byteLength, 0);
    await this.call(operation, () => this.client.set(key, toBuffer(bytes), 'EX', this.ttlSeconds));
  }

  private async getBlob(operation: string, key: string): Promise<Uint8Array | undefined> {
    const value = await this.call(operation, () => this.client.getBuffer(key));
    recordIo(1, 0, value?.byteLength ?? 0);
    return value ? copyBytes(value) : undefined;
  }

  async putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean> {
    recordIo(1, bytes.byteLength, 0);
    // SET NX decides in one command: the first write wins, a duplicate gets null and changes nothing.
    const reply = await this.call('putPartial', () =>
      this.client.set(this.key(jobId, `part:${round}:${shard}`), toBuffer(bytes), 'EX', this.ttlSeconds, 'NX'),
    );
    return reply === 'OK';
  }

  async discardPartial(jobId: string, round: number, shard: number): Promise<void> {
    recordIo(1, 0, 0);
    await this.call('discardPartial', () => this.client.del(this.key(jobId, `part:${round}:${shard}`)));
  }

  async clearRound(jobId: string, round: number, shards: number): Promise<void> {
    const keys = Array.from({ length: shards }, (_, shard) => this.key(jobId, `part:${round}:${shard}`));
    keys.push(this.key(jobId, `barrier:${round}`));
    for (let group = 0; group < barrierGroups(Math.max(1, shards)); group++) {
      keys.push(this.key(jobId, `group:${round}:${group}`), this.key(jobId, `barrier:${round}:g:${group}`));
    }
    for (let g = 0; g < claimGroups(shards); g++) keys.push(...this.claimKeys(jobId, round, g), this.modelKey(jobId, round, g));
    recordIo(1, 0, 0);
    // One DEL of all of a round's keys: they share the job's hash slot.
    await this.call('clearRound', () => this.client.del(...keys));
  }

  async getPartials(jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]> {
    const wanted = which ?? Array.from({ length: shards }, (_, i) => i);
    if (wanted.length === 0) return [];
    const keys = wanted.map((shard) => this.key(jobId, `part:${round}:${shard}`));
    const values = await this.call('getPartials', () => this.client.mgetBuffer(...keys));
    recordIo(1, 0, values.reduce((n, v) => n + (v?.byteLength ?? 0), 0));
    return values.map((value, i) => {
      if (!value) throw new PartialMissingError(jobId, round, wanted[i]!);
      return copyBytes(value);
    });
  }

  async putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean> {
    recordIo(1, bytes.byteLength, 0);
    const reply = await this.call('putGroupPartial', () =>
      this.client.set(this.key(jobId, `group:${round}:${group}`), toBuffer(bytes), 'EX', this.ttlSeconds, 'NX'),
    );
    return reply === 'OK';
  }

  async getGroupPartials(jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]> {
    if (groups === 0) return [];
    const keys = Array.from({ length: groups }, (_, group) => this.key(jobId, `group:${round}:${group}`));
    const values = await this.call('getGroupPartials', () => this.client.mgetBuffer(...keys));
    recordIo(1, 0, values.reduce((n, v) => n + (v?.byteLength ?? 0), 0));
    return values.map((value) => (value ? copyBytes(value) : undefined));
  }

  async discardGroupPartial(jobId: string, round: number, group: number): Promise<void> {
    recordIo(1, 0, 0);
    await this.call('discardGroupPartial', () => this.client.del(this.key(jobId, `group:${round}:${group}`)));
  }

  async arrive(jobId: string, round: number, shard: number, shards: number): Promise<Arrival> {
    recordIo(1, 16, 8);
    const W = Math.max(1, shards ?? 1);
    const groups = barrierGroups(W);
    const group = groupOf(shard, W);
    const [added, count, inGroup] = await this.call('arrive', () =>
      this.client.bspmlArriveInGroup(this.key(jobId, `barrier:${round}`), this.key(jobId, `barrier:${round}:g:${group}`), shard, this.ttlSeconds),
    );
    return { added: added === 1, count, groupFilled: inGroup === groupSize(W, groups, group) };
  }

  async arrivals(jobId: string, round: number, _shards?: number): Promise<number[]> {
    const members = await this.call('arrivals', () => this.client.smembers(this.key(jobId, `barrier:${round}`)));
    recordIo(1, 0, members.reduce((n, m) => n + m.length, 0));
    return members.map(Number).sort((a, b) => a - b);
  }

  async claim(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer> {
    recordIo(1, 32, 8);
    const [set, mark] = this.claimKeys(jobId, round, claimGroupOf(shard, shards));
    const answer = await this.call('claim', () => this.client.bspmlClaim(set, mark, encodeClaim(shard, until), this.ttlSeconds));
    return answer === 'claimed' ? 'claimed' : (signalOf(answer) as ClaimAnswer);
  }

  async release(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer> {
    recordIo(1, 32, 8);
    const [set, mark] = this.claimKeys(jobId, round, claimGroupOf(shard, shards));
    const answer = await this.call('release', () => this.client.bspmlRelease(set, mark, encodeClaim(shard, until)));
    return answer === 'released' ? 'released' : (signalOf(answer) as ReleaseAnswer);
  }

  async handOver(jobId: string, round: number, shards: number, ended = false, model?: Uint8Array): Promise<Claim[]> {
    const keys: string[] = [];
    for (let g = 0; g < claimGroups(shards); g++) keys.push(...this.claimKeys(jobId, round, g), this.modelKey(jobId, round, g));
    // One script over every group: the job's keys share a hash slot.
    const body = model ? Buffer.from(model.buffer, model.byteOffset, model.byteLength) : '';
    const members = await this.call('handOver', () => this.client.bspmlHandOver(keys.length, ...keys, ended ? 'end' : 'next', this.ttlSeconds, body));
    recordIo(1, 16 + (model?.byteLength ?? 0), members.reduce((n, m) => n + m.length, 0));
    return sortClaims(members.map(decodeClaim));
  }

  async handedOver(jobId: string, round: number, shard: number, shards: number): Promise<LingerPoll> {
    const group = claimGroupOf(shard, shards);
    const [set, mark] = this.claimKeys(jobId, round, group);
    const [answer, model] = await this.call('handedOver', () => this.client.bspmlHandedOverBuffer(set, mark, this.modelKey(jobId, round, group)));
    recordIo(1, 0, 8 + model.byteLength);
    const text = answer.toString();
    const signal = text === 'waiting' || text === 'gone' ? text : signalOf(text);
    return { signal, ...(model.byteLength > 0 ? { model: new Uint8Array(model) } : {}) };
  }

  private claimKeys(jobId: string, round: number, group: number): [string, string] {
    return [this.key(jobId, `claims:${round}:${group}`), this.key(jobId, `handed:${round}:${group}`)];
  }

  /** The model a group's hand-over carried. */
  private modelKey(jobId: string, round: number, group: number): string {
    return this.key(jobId, `handedModel:${round}:${group}`);
  }

  async putRoundMetrics(jobId: string, metrics: RoundMetrics): Promise<void> {
    const key = this.key(jobId, 'rounds');
    const json = toJson(metrics);
    recordIo(1, json.length, 0);
    // MULTI/EXEC: the write and its expiry travel in one round trip and apply together.
    const results = await this.call('putRoundMetrics', () => this.client.multi().hset(key, String(metrics.round), json).expire(key, this.ttlSeconds).exec());
    const failed = results?.find(([err]) => err);
    if (failed) throw new StoreError('putRoundMetrics', { cause: failed[0] });
  }

  async listRoundMetrics(jobId: string): Promise<RoundMetrics[]> {
    const values = await this.call('listRoundMetrics', () => this.client.hvals(this.key(jobId, 'rounds')));
    recordIo(1, 0, values.reduce((n, v) => n + Buffer.byteLength(v), 0));
    return values.map((v) => fromJson(v) as RoundMetrics).sort((a, b) => a.round - b.round);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) {
      // QUIT lets pending replies arrive; a dead connection cannot answer it, so disconnect then.
      await this.client.quit().catch(() => this.client.disconnect());
    }
    await this.onClose?.();
  }

  /** Runs one Redis request; any client or server error becomes a StoreError keeping it as cause. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw new StoreError(`${operation} on ${redisEndpointOf(this.client)}`, { cause: err });
    }
  }
}

/** Each record field as its own JSON value, so scripts can compare round and status without decoding. */
function encodeFields(record: object): string[] {
  const pairs: string[] = [];
  for (const [field, value] of Object.entries(record)) if (value !== undefined) pairs.push(field, toJson(value));
  return pairs;
}

function pairsBytes(pairs: string[]): number {
  return pairs.reduce((n, p) => n + Buffer.byteLength(p), 0);
}

/** A Buffer view (no copy): ioredis writes Buffers as binary-safe bulk strings. */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
