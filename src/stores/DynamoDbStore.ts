import { randomUUID } from 'node:crypto';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { JobExistsError, MissingStateError, PartialMissingError, StoreError } from '../errors.js';
import type { Arrival, StateStore } from '../ports/StateStore.js';
import { barrierGroups, groupSize } from '../domain/groups.js';
import { claimGroupOf, claimGroups, decodeClaim, encodeClaim, signalOf, sortClaims, type Claim, type ClaimAnswer, type LingerSignal, type ReleaseAnswer } from '../domain/claims.js';
import type { JobPatch, JobRecord, JobStatus, RoundMetrics } from '../domain/job.js';
import { endpointOf } from '../util/clients.js';
import { recordIo } from '../util/io-meter.js';
import { forEachLimit, sleep } from '../util/async.js';
import { fromJson, toJson } from './json.js';

type Item = Record<string, AttributeValue>;
type Key = { pk: AttributeValue; sk: AttributeValue };

/**
 * Bytes per chunk item. DynamoDB's item limit is 400 KB including attribute names and keys;
 * 350,000 leaves room for the key (job ids, nonce) and bookkeeping attributes.
 */
export const CHUNK_BYTES = 350_000;
/** BatchWriteItem's per-request item limit. */
const BATCH_WRITE_KEYS = 25;
/** BatchGetItem's per-request key limit. */
const BATCH_GET_KEYS = 100;
/** Concurrent requests one store call makes for chunk writes. */
const PARALLEL_REQUESTS = 4;
/**
 * Concurrent BatchGetItem requests when reading a round's partials back: at W = 1,000 the heads
 * alone are 10 requests, and each partial head sits in a partition of its own, so they can all go
 * at once without meeting one partition's 3,000 read units/s.
 */
const PARALLEL_BATCH_GETS = 16;
/** Unprocessed-key retries without progress before giving up (DynamoDB asks callers to back off). */
const MAX_IDLE_RETRIES = 8;

export interface DynamoDbStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Destroy the client on close(). */
  ownsClient?: boolean;
  /** When set, every item carries `expiresAt` (epoch seconds) = write time + ttlSeconds, for DynamoDB TTL. */
  ttlSeconds?: number;
  /** Runs after the client is released: lets whoever started a local server stop it with the store. */
  onClose?: () => Promise<void>;
}

/**
 * State in one DynamoDB table (pk, sk), laid out as in DESIGN.md. Byte payloads larger than an
 * item are split into chunk items that are written before the head item that points at them, so a
 * reader that sees a head always finds its chunks; chunks are never deleted, only expired by TTL,
 * so a reader holding an older head still finds its chunks after a rewrite.
 */
export class DynamoDbStore implements StateStore {
  readonly kind = 'dynamodb';
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly ttlSeconds?: number;
  private readonly onClose?: () => Promise<void>;
  private closed = false;

  constructor(options: DynamoDbStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ownsClient = options.ownsClient ?? false;
    this.ttlSeconds = options.ttlSeconds;
    this.onClose = options.onClose;
  }

  async createJob(job: JobRecord): Promise<void> {
    const item = this.withTtl(encodeJob(job));
    await this.spillLargeFields(job.jobId, item);
    recordIo(1, itemBytes(item), 0);
    try {
      await this.call('createJob', 'PutItem', true, () =>
        this.client.send(
          new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
        ),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new JobExistsError(job.jobId);
      throw err;
    }
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const item = await this.getItem('getJob', { pk: s(jobPk(jobId)), sk: s('META') });
    if (!item) return undefined;
    await this.loadSpilledFields(jobId, item);
    return decodeJob(item);
  }

  async updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
    const names: Record<string, string> = { '#round': 'round', '#status': 'status', '#updatedAt': 'updatedAt' };
    const values: Item = { ':expectRound': n(expect.round), ':expectStatus': s(expect.status), ':now': n(Date.now()) };
    const set = ['#updatedAt = :now'];
    const remove: string[] = [];
    // Placeholders are numbered: field names are not guaranteed to be valid expression tokens.
    let i = 0;
    for (const [field, value] of Object.entries(patch)) {
      if (STORE_ATTRIBUTES.has(field) || field === 'updatedAt') continue;
      const name = `#f${i}`;
      names[name] = field;
      // A field present with undefined is cleared, as Object.assign leaves it in MemoryStore.
      if (value === undefined) remove.push(name);
      else {
        values[`:f${i}`] = encodeField(field, value);
        set.push(`${name} = :f${i}`);
      }
      i++;
    }
    if (patch.status !== undefined) {
      // The live index follows the status: a job leaves it when it ends.
      names['#live'] = LIVE_ATTRIBUTE;
      if (LIVE_STATUSES.has(patch.status)) {
        values[':live'] = s(LIVE);
        set.push('#live = :live');
      } else remove.push('#live');
    }
    await this.spillLargeFields(jobId, values);
    if (this.ttlSeconds !== undefined) {
      names['#expiresAt'] = 'expiresAt';
      values[':expiresAt'] = n(this.expiresAt());
      set.push('#expiresAt = :expiresAt');
    }

    const update = `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`;
    recordIo(1, Object.values(values).reduce((sum, v) => sum + valueBytes(v), update.length), 0);
    try {
      await this.call('updateJob', 'UpdateItem', true, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: s(jobPk(jobId)), sk: s('META') },
            UpdateExpression: update,
            // A missing job fails this condition too, so updateJob never creates a record.
            ConditionExpression: '#round = :expectRound AND #status = :expectStatus',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async putModel(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    // Unconditional head: rewrites carry the same bytes, and the last writer's chunks are complete.
    await this.putBlob('putModel', jobPk(jobId), `MODEL#${pad(round)}`, bytes, false);
  }

  async getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
    const head = await this.getItem('getModel', { pk: s(jobPk(jobId)), sk: s(`MODEL#${pad(round)}`) });
    if (!head) return undefined;
    const [bytes] = await this.assemble('getModel', [head], (i) => `model of round ${round} of job ${jobId} (chunk ${i})`);
    return bytes;
  }

  async putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean> {
    return this.putBlob('putPartial', partialPk(jobId, round, shard), PARTIAL_SK, bytes, true);
  }

  async discardPartial(jobId: string, round: number, shard: number): Promise<void> {
    // The head only: its chunks (if any) are orphans that expire with the job, as after any rewrite.
    const key = { pk: s(partialPk(jobId, round, shard)), sk: s(PARTIAL_SK) };
    recordIo(1, 0, 0);
    await this.call('discardPartial', 'DeleteItem', false, () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: key })));
  }

  async clearRound(jobId: string, round: number, shards: number): Promise<void> {
    // The heads name their chunks (count and nonce): read just those attributes, then delete all,
    // with the barrier's groups and root.
    const heads: Key[] = [];
    for (let shard = 0; shard < shards; shard++) heads.push({ pk: s(partialPk(jobId, round, shard)), sk: s(PARTIAL_SK) });
    if (shards > 0) for (let g = 0; g < barrierGroups(shards); g++) heads.push({ pk: s(groupPartialPk(jobId, round, g)), sk: s(PARTIAL_SK) });
    const found = shards > 0 ? await this.batchGet('clearRound', heads, { projection: 'pk, sk, chunks, nonce', consistent: false }) : new Map<string, Item>();
    const doomed: Key[] = [{ pk: s(jobPk(jobId)), sk: s(`BARRIER#${pad(round)}`) }];
    for (let g = 0; g < barrierGroups(Math.max(1, shards)); g++) doomed.push({ pk: s(barrierGroupPk(jobId, round, g)), sk: s(BARRIER_SK) });
    for (let g = 0; g < claimGroups(shards); g++) doomed.push(claimKey(jobId, round, g));
    for (const head of found.values()) {
      doomed.push({ pk: head.pk!, sk: head.sk! });
      const count = Number(head.chunks?.N ?? 0);
      for (let i = 0; i < count; i++) doomed.push({ pk: head.pk!, sk: s(chunkSk(str(head, 'sk'), str(head, 'nonce'), i)) });
    }
    await this.batchDelete('clearRound', doomed);
  }


  async getPartials(jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]> {
    const wanted = which ?? Array.from({ length: shards }, (_, i) => i);
    const keys: Key[] = wanted.map((shard) => ({ pk: s(partialPk(jobId, round, shard)), sk: s(PARTIAL_SK) }));
    const found = keys.length ? await this.batchGet('getPartials', keys) : new Map<string, Item>();
    const heads: Item[] = [];
    for (const shard of wanted) {
      const head = found.get(keyId(partialPk(jobId, round, shard), PARTIAL_SK));
      if (!head) throw new PartialMissingError(jobId, round, shard);
      heads.push(head);
    }
    return this.assemble('getPartials', heads, (i, head) => `job ${jobId}: partial ${str(head, 'pk')} for round ${round} (chunk ${i})`);
  }

  async putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean> {
    return this.putBlob('putGroupPartial', groupPartialPk(jobId, round, group), PARTIAL_SK, bytes, true);
  }

  async getGroupPartials(jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]> {
    const keys: Key[] = Array.from({ length: groups }, (_, g) => ({ pk: s(groupPartialPk(jobId, round, g)), sk: s(PARTIAL_SK) }));
    const found = keys.length ? await this.batchGet('getGroupPartials', keys) : new Map<string, Item>();
    const present: number[] = [];
    const heads: Item[] = [];
    for (let g = 0; g < groups; g++) {
      const head = found.get(keyId(groupPartialPk(jobId, round, g), PARTIAL_SK));
      if (head) {
        present.push(g);
        heads.push(head);
      }
    }
    const bytes = await this.assemble('getGroupPartials', heads, (i, head) => `job ${jobId}: group partial ${str(head, 'pk')} for round ${round} (chunk ${i})`);
    const out = new Array<Uint8Array | undefined>(groups).fill(undefined);
    present.forEach((g, i) => (out[g] = bytes[i]));
    return out;
  }

  async discardGroupPartial(jobId: string, round: number, group: number): Promise<void> {
    const key = { pk: s(groupPartialPk(jobId, round, group)), sk: s(PARTIAL_SK) };
    recordIo(1, 0, 0);
    await this.call('discardGroupPartial', 'DeleteItem', false, () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: key })));
  }

  /**
   * A two-level barrier, so that no single item takes W writes in one burst (one item lives in one
   * partition, which takes about 1,000 write units/s): the W shards are dealt into G = ⌈√W⌉ groups
   * (shard mod G), each a set in a partition of its own; the arrival that fills its group (exactly
   * one per group: the set's conditional ADD is atomic) then adds the group to the round's root set,
   * and the arrival that fills the root (exactly one) is the round's filling arrival, with count W.
   * Other arrivals report a lower bound (their group's count, or the shards of the groups known
   * full), always below W. A filling arrival that dies between its two writes leaves the root short:
   * the shards have all arrived (`arrivals` reads the groups), so recovery re-sends the completion.
   */
  async arrive(jobId: string, round: number, shard: number, shards: number): Promise<Arrival> {
    const total = requireShards('arrive', shards);
    const groups = barrierGroups(total);
    const group = shard % groups;
    const size = groupSize(total, groups, group);
    const groupKey = { pk: s(barrierGroupPk(jobId, round, group)), sk: s(BARRIER_SK) };
    const rootKey = { pk: s(jobPk(jobId)), sk: s(`BARRIER#${pad(round)}`) };
    const first = await this.addToSet('arrive', groupKey, 'shards', shard);
    if (!first) {
      // A repeat: W only if the whole round is known full, else a lower bound.
      const [groupItem, rootItem] = await Promise.all([this.getItem('arrive', groupKey), this.getItem('arrive', rootKey)]);
      const inGroup = groupItem?.shards?.SS?.length ?? 0;
      const groupFilled = inGroup === size;
      const full = rootItem?.groups?.SS?.length ?? 0;
      if (groups === 1) return { added: false, count: inGroup, groupFilled };
      if (full === groups) return { added: false, count: total, groupFilled };
      return { added: false, count: Math.max(inGroup || 1, fullGroupShards(rootItem, total, groups)), groupFilled };
    }
    if (groups === 1 || first.length < size) return { added: true, count: first.length, groupFilled: first.length === size };
    const root = await this.addToSet('arrive', rootKey, 'groups', group);
    // Only this group's filling arrival adds the group, so the root ADD cannot be a repeat unless
    // this very call is a retried request; then the count is what the root holds now.
    const full = root ?? (await this.getItem('arrive', rootKey))?.groups?.SS ?? [];
    return { added: true, count: full.length === groups ? total : full.reduce((sum, g) => sum + groupSize(total, groups, Number(g)), 0), groupFilled: true };
  }

  async arrivals(jobId: string, round: number, shards: number): Promise<number[]> {
    const groups = barrierGroups(requireShards('arrivals', shards));
    const keys: Key[] = [];
    for (let g = 0; g < groups; g++) keys.push({ pk: s(barrierGroupPk(jobId, round, g)), sk: s(BARRIER_SK) });
    const found = await this.batchGet('arrivals', keys);
    const out: number[] = [];
    for (const item of found.values()) for (const id of item.shards?.SS ?? []) out.push(Number(id));
    return out.sort((a, b) => a - b);
  }

  /**
   * Adds `member` to the string set `attribute` of an item, unless present. Returns the set after
   * the add, or undefined when the member was there already (nothing changed).
   */
  private async addToSet(operation: string, key: Key, attribute: string, member: number): Promise<string[] | undefined> {
    const values: Item = { ':one': n(1), ':set': { SS: [String(member)] }, ':member': s(String(member)) };
    let update = `ADD arrived :one, ${attribute} :set`;
    if (this.ttlSeconds !== undefined) {
      values[':expiresAt'] = n(this.expiresAt());
      update = `SET expiresAt = :expiresAt ${update}`;
    }
    recordIo(1, 32, 16);
    try {
      const out = await this.call(operation, 'UpdateItem', true, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: update,
            // The set, not the counter, decides: a redelivered shard finds its id and counts nothing.
            ConditionExpression: `attribute_not_exists(${attribute}) OR NOT contains(${attribute}, :member)`,
            ExpressionAttributeValues: values,
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      );
      return out.Attributes?.[attribute]?.SS ?? [];
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return undefined;
    }
  }

  /**
   * Claims live in one item per claim group (a partition of its own, as the barrier's groups): a
   * string set `claims` of `shard@until`, and `handed` once the group is handed over. A claim is
   * `ADD claims` under `attribute_not_exists(handed)` (no transactions needed: one item decides), so
   * a claim either lands before the hand-over, which then returns it, or is refused.
   */
  async claim(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer> {
    const key = claimKey(jobId, round, claimGroupOf(shard, shards));
    const values: Item = { ':claim': { SS: [encodeClaim(shard, until)] } };
    const update = this.ttlSeconds === undefined ? 'ADD claims :claim' : 'SET expiresAt = :expiresAt ADD claims :claim';
    if (this.ttlSeconds !== undefined) values[':expiresAt'] = n(this.expiresAt());
    recordIo(1, 32, 0);
    try {
      await this.call('claim', 'UpdateItem', true, () =>
        this.client.send(
          new UpdateItemCommand({ TableName: this.tableName, Key: key, UpdateExpression: update, ConditionExpression: 'attribute_not_exists(handed)', ExpressionAttributeValues: values }),
        ),
      );
      return 'claimed';
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return signalOf((await this.getItem('claim', key))?.handed?.S ?? 'next') as ClaimAnswer;
    }
  }

  async release(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer> {
    const key = claimKey(jobId, round, claimGroupOf(shard, shards));
    recordIo(1, 32, 0);
    try {
      await this.call('release', 'UpdateItem', true, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'DELETE claims :claim',
            // An item that is gone (the round was cleared) must not be created again by the release.
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(handed)',
            ExpressionAttributeValues: { ':claim': { SS: [encodeClaim(shard, until)] } },
          }),
        ),
      );
      return 'released';
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const item = await this.getItem('release', key);
      return item?.handed?.S === undefined ? 'released' : (signalOf(item.handed.S) as ReleaseAnswer);
    }
  }

  async handOver(jobId: string, round: number, shards: number, ended = false): Promise<Claim[]> {
    const groups = claimGroups(shards);
    const out: Claim[] = [];
    await forEachLimit(groups, PARALLEL_BATCH_GETS, async (g) => {
      const values: Item = { ':handed': s(ended ? 'end' : 'next') };
      let update = 'SET handed = if_not_exists(handed, :handed)';
      if (this.ttlSeconds !== undefined) {
        values[':expiresAt'] = n(this.expiresAt());
        update += ', expiresAt = :expiresAt';
      }
      recordIo(1, 16, 0);
      const reply = await this.call('handOver', 'UpdateItem', false, () =>
        this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: claimKey(jobId, round, g), UpdateExpression: update, ExpressionAttributeValues: values, ReturnValues: 'ALL_NEW' })),
      );
      for (const member of reply.Attributes?.claims?.SS ?? []) out.push(decodeClaim(member));
    });
    return sortClaims(out);
  }

  async handedOver(jobId: string, round: number, shard: number, shards: number): Promise<LingerSignal> {
    const item = await this.getItem('handedOver', claimKey(jobId, round, claimGroupOf(shard, shards)));
    return item ? signalOf(item.handed?.S) : 'gone';
  }

  async putRoundMetrics(jobId: string, metrics: RoundMetrics): Promise<void> {
    const item = this.withTtl({
      pk: s(jobPk(jobId)),
      sk: s(`ROUND#${pad(metrics.round)}`),
      round: n(metrics.round),
      metrics: s(toJson(metrics)),
    });
    recordIo(1, itemBytes(item), 0);
    await this.call('putRoundMetrics', 'PutItem', false, () =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item })),
    );
  }

  async listRoundMetrics(jobId: string): Promise<RoundMetrics[]> {
    const out: RoundMetrics[] = [];
    let start: Item | undefined;
    do {
      const page = await this.call('listRoundMetrics', 'Query', false, () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': s(jobPk(jobId)), ':prefix': s('ROUND#') },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      const items = page.Items ?? [];
      recordIo(1, 0, items.reduce((sum, item) => sum + itemBytes(item), 0));
      for (const item of items) out.push(fromJson(str(item, 'metrics')) as RoundMetrics);
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.round - b.round);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
    await this.onClose?.();
  }

  /**
   * Moves JSON fields too large for the job item (a final model with many centroids or weights)
   * into chunked items of their own, leaving a reference in their place: the record stays under
   * the 400 KB item limit whatever the model's size. Works on encoded attributes, whether of a
   * whole item or of an update's values. The blob key is per write, so the conditional write of
   * the record decides which one counts; a losing writer's blob is an orphan until its TTL.
   */
  private async spillLargeFields(jobId: string, attributes: Item): Promise<void> {
    for (const [key, value] of Object.entries(attributes)) {
      if (value.S === undefined || Buffer.byteLength(value.S) <= INLINE_JSON_BYTES) continue;
      const sk = `FIELD#${randomUUID()}`;
      await this.putBlob('storing a large job field', jobPk(jobId), sk, Buffer.from(value.S), false);
      attributes[key] = s(`${SPILLED}${sk}`);
    }
  }

  /** Reads back the fields `spillLargeFields` moved out of the job item, in place. */
  private async loadSpilledFields(jobId: string, item: Item): Promise<void> {
    for (const [field, value] of Object.entries(item)) {
      if (!value.S?.startsWith(SPILLED)) continue;
      const sk = value.S.slice(SPILLED.length);
      const head = await this.getItem('getJob', { pk: s(jobPk(jobId)), sk: s(sk) });
      if (!head) throw new MissingStateError(`job ${jobId}: field ${field} was stored as ${sk}, which is missing`);
      const [bytes] = await this.assemble('getJob', [head], (i) => `field ${field} of job ${jobId} (chunk ${i})`);
      item[field] = s(Buffer.from(bytes!).toString('utf8'));
    }
  }

  /**
   * Writes a payload as a head item, inline when it fits, else after its chunks. Chunk keys carry a
   * nonce of this write, so concurrent writers never overwrite each other's chunks: with
   * `once`, the writer whose head lands first wins and the others' chunks are orphans.
   */
  private async putBlob(operation: string, pk: string, sk: string, bytes: Uint8Array, once: boolean): Promise<boolean> {
    const head: Item = { pk: s(pk), sk: s(sk), size: n(bytes.byteLength) };
    if (bytes.byteLength <= CHUNK_BYTES) {
      head.chunks = n(0);
      // Omitted when empty: older DynamoDB API versions and emulators reject empty binaries.
      if (bytes.byteLength > 0) head.bytes = { B: bytes };
    } else {
      const nonce = randomUUID();
      const count = Math.ceil(bytes.byteLength / CHUNK_BYTES);
      head.nonce = s(nonce);
      head.chunks = n(count);
      await forEachLimit(count, PARALLEL_REQUESTS, async (i) => {
        const chunk = this.withTtl({
          pk: s(pk),
          sk: s(chunkSk(sk, nonce, i)),
          bytes: { B: bytes.subarray(i * CHUNK_BYTES, Math.min(bytes.byteLength, (i + 1) * CHUNK_BYTES)) },
        });
        recordIo(1, itemBytes(chunk), 0);
        await this.call(operation, 'PutItem', false, () =>
          this.client.send(new PutItemCommand({ TableName: this.tableName, Item: chunk })),
        );
      });
    }
    this.withTtl(head);
    recordIo(1, itemBytes(head), 0);
    try {
      await this.call(operation, 'PutItem', once, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: head,
            ConditionExpression: once ? 'attribute_not_exists(pk)' : undefined,
          }),
        ),
      );
      return true;
    } catch (err) {
      if (once && isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** The payloads that `heads` describe, in the same order, reading all their chunks in batches. */
  private async assemble(operation: string, heads: Item[], describe: (chunk: number, head: Item) => string): Promise<Uint8Array[]> {
    const keys: Key[] = [];
    for (const head of heads) {
      const count = num(head, 'chunks');
      for (let i = 0; i < count; i++) keys.push({ pk: head.pk!, sk: s(chunkSk(str(head, 'sk'), str(head, 'nonce'), i)) });
    }
    const chunks = keys.length ? await this.batchGet(operation, keys) : new Map<string, Item>();
    return heads.map((head) => {
      const size = num(head, 'size');
      const count = num(head, 'chunks');
      if (count === 0) return (head.bytes?.B ?? new Uint8Array(0)).slice();
      const out = new Uint8Array(size);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const chunk = chunks.get(keyId(str(head, 'pk'), chunkSk(str(head, 'sk'), str(head, 'nonce'), i)));
        const part = chunk?.bytes?.B;
        if (!part || offset + part.byteLength > size) throw new MissingStateError(`${describe(i, head)} is missing or damaged`);
        out.set(part, offset);
        offset += part.byteLength;
      }
      if (offset !== size) throw new MissingStateError(`${describe(count - 1, head)}: ${offset} of ${size} bytes found`);
      return out;
    });
  }

  /** BatchWriteItem deletes of any number of keys, 25 a request; retries unprocessed ones, backing off when none were served. */
  private async batchDelete(operation: string, keys: Key[]): Promise<void> {
    const groups: Key[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_WRITE_KEYS) groups.push(keys.slice(i, i + BATCH_WRITE_KEYS));
    await forEachLimit(groups.length, PARALLEL_REQUESTS, async (g) => {
      let pending: { DeleteRequest: { Key: Item } }[] = groups[g]!.map((Key) => ({ DeleteRequest: { Key } }));
      let idle = 0;
      while (pending.length) {
        const request = pending;
        recordIo(1, 0, 0);
        const out = await this.call(operation, 'BatchWriteItem', false, () =>
          this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: request } })),
        );
        const left = (out.UnprocessedItems?.[this.tableName] ?? []).filter((r) => r.DeleteRequest?.Key);
        pending = left.map((r) => ({ DeleteRequest: { Key: r.DeleteRequest!.Key! } }));
        if (!pending.length) break;
        if (pending.length < request.length) idle = 0;
        else if (++idle > MAX_IDLE_RETRIES) {
          throw new StoreError(`${operation} BatchWriteItem on table ${this.tableName}`, {
            cause: new Error(`${pending.length} deletes still unprocessed after ${MAX_IDLE_RETRIES} retries`),
          });
        } else await sleep(Math.min(2000, 25 * 2 ** idle) * (0.5 + Math.random() / 2));
      }
    });
  }

  /** BatchGetItem of any number of keys (consistent unless told); retries unprocessed keys, backing off when none were served. */
  private async batchGet(operation: string, keys: Key[], options: { projection?: string; consistent?: boolean } = {}): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const groups: Key[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) groups.push(keys.slice(i, i + BATCH_GET_KEYS));
    await forEachLimit(groups.length, PARALLEL_BATCH_GETS, async (g) => {
      let pending: Item[] = groups[g]!;
      let idle = 0;
      while (pending.length) {
        const request = pending;
        const out = await this.call(operation, 'BatchGetItem', false, () =>
          this.client.send(
            new BatchGetItemCommand({
              RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: options.consistent ?? true, ProjectionExpression: options.projection } },
            }),
          ),
        );
        const items = out.Responses?.[this.tableName] ?? [];
        recordIo(1, 0, items.reduce((sum, item) => sum + itemBytes(item), 0));
        for (const item of items) found.set(keyId(str(item, 'pk'), str(item, 'sk')), item);
        pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (!pending.length) break;
        if (items.length > 0) idle = 0;
        else if (++idle > MAX_IDLE_RETRIES) {
          throw new StoreError(`${operation} BatchGetItem on table ${this.tableName} at ${await endpointOf(this.client)}`, {
            cause: new Error(`${pending.length} keys still unprocessed after ${MAX_IDLE_RETRIES} retries`),
          });
        } else await sleep(Math.min(2000, 25 * 2 ** idle) * (0.5 + Math.random() / 2));
      }
    });
    return found;
  }

  private async getItem(operation: string, key: Key): Promise<Item | undefined> {
    const out = await this.call(operation, 'GetItem', false, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    recordIo(1, 0, out.Item ? itemBytes(out.Item) : 0);
    return out.Item;
  }

  /**
   * Runs one SDK request. A ConditionalCheckFailedException passes through untouched when the
   * caller set a condition (it is an answer, not a failure); every other error becomes a StoreError
   * whose cause is the SDK's error, keeping its $metadata (request id, HTTP status).
   */
  private async call<T>(operation: string, request: string, conditional: boolean, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      if (conditional && isConditionFailure(err)) throw err;
      throw new StoreError(`${operation} ${request} on table ${this.tableName} at ${await endpointOf(this.client)}`, { cause: err });
    }
  }

  private withTtl(item: Item): Item {
    if (this.ttlSeconds !== undefined) item.expiresAt = n(this.expiresAt());
    return item;
  }

  private expiresAt(): number {
    return Math.floor(Date.now() / 1000) + (this.ttlSeconds ?? 0);
  }
}

/**
 * Creates the state table (on-demand, pk/sk strings) unless it exists, and waits until it is ACTIVE.
 * TTL on `expiresAt` is left to the deployment template: the emulators have no TTL API.
 */
export async function createStateTable(client: DynamoDBClient, tableName: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const describe = async (): Promise<string | undefined> => {
    try {
      const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
      return out.Table?.TableStatus;
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException') return undefined;
      throw new StoreError(`DescribeTable on table ${tableName} at ${await endpointOf(client)}`, { cause: err });
    }
  };

  let status = await describe();
  if (status === undefined) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
            { AttributeName: 'live', AttributeType: 'S' },
            { AttributeName: 'updatedAt', AttributeType: 'N' },
            { AttributeName: 'listed', AttributeType: 'S' },
            { AttributeName: 'createdAt', AttributeType: 'N' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          // As in serverless.yml (JOB_INDEXES).
          GlobalSecondaryIndexes: [
            {
              IndexName: JOB_INDEXES.live,
              KeySchema: [
                { AttributeName: 'live', KeyType: 'HASH' },
                { AttributeName: 'updatedAt', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status'] },
            },
            {
              IndexName: JOB_INDEXES.jobs,
              KeySchema: [
                { AttributeName: 'listed', KeyType: 'HASH' },
                { AttributeName: 'createdAt', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status', 'round', 'shards', 'updatedAt', 'error'] },
            },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (err) {
      // Another process created it first: fine, wait for it like our own.
      if (errorName(err) !== 'ResourceInUseException') throw new StoreError(`CreateTable ${tableName} at ${await endpointOf(client)}`, { cause: err });
    }
    status = await describe();
  }

  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let delay = 50;
  while (status !== 'ACTIVE') {
    if (Date.now() > deadline) {
      throw new StoreError(`waiting for table ${tableName}`, { cause: new Error(`table is still ${status ?? 'absent'}`) });
    }
    await sleep(delay);
    delay = Math.min(2000, delay * 2);
    status = await describe();
  }
}

/** Item attributes that are not JobRecord fields. */
const STORE_ATTRIBUTES = new Set(['pk', 'sk', 'expiresAt', 'live', 'listed']);

/**
 * The state table's sparse global secondary indexes (created by createStateTable and by
 * serverless.yml alike). `live` holds only the records of jobs that are STARTING or RUNNING, keyed by
 * `updatedAt`: the recovery sweep reads those and never the finished jobs, however many the table
 * keeps. `jobs` holds every job record, keyed by `createdAt`: `bspml jobs` lists newest first.
 */
export const JOB_INDEXES = { live: 'live', jobs: 'jobs' } as const;
const LIVE_ATTRIBUTE = 'live';
const LIVE = 'LIVE';
const LISTED = 'JOB';
const LIVE_STATUSES = new Set<JobStatus>(['STARTING', 'RUNNING']);
/**
 * JobRecord fields held as JSON strings. Every other field is a top-level scalar attribute, so
 * conditions can test it and an update can set it without reading the record first; new scalar
 * fields need no change here, a new object field must be listed.
 */
const JSON_FIELDS = new Set(['spec', 'layout', 'data', 'result']);
/** JSON fields above this many bytes are stored beside the job item (see spillLargeFields). */
const INLINE_JSON_BYTES = 64 * 1024;
/** Prefix of a field that holds a reference to its spilled value; JSON never starts with it. */
const SPILLED = '@spilled:';

function encodeJob(job: JobRecord): Item {
  const item: Item = { pk: s(jobPk(job.jobId)), sk: s('META'), listed: s(LISTED) };
  if (LIVE_STATUSES.has(job.status)) item.live = s(LIVE);
  for (const [field, value] of Object.entries(job)) {
    if (value !== undefined && !STORE_ATTRIBUTES.has(field)) item[field] = encodeField(field, value);
  }
  return item;
}

function encodeField(field: string, value: unknown): AttributeValue {
  if (JSON_FIELDS.has(field)) return s(toJson(value));
  if (typeof value === 'string') return s(value);
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return n(value);
    throw new StoreError('encoding a job record', { cause: new Error(`field ${field} is ${value}: DynamoDB numbers must be finite`) });
  }
  if (typeof value === 'boolean') return { BOOL: value };
  throw new StoreError('encoding a job record', {
    cause: new Error(`field ${field} holds a ${typeof value}: list it in JSON_FIELDS of DynamoDbStore`),
  });
}

function decodeJob(item: Item): JobRecord {
  const job: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(item)) {
    if (STORE_ATTRIBUTES.has(field)) continue;
    if (JSON_FIELDS.has(field)) job[field] = fromJson(str(item, field));
    else if (value.N !== undefined) job[field] = Number(value.N);
    else if (value.S !== undefined) job[field] = value.S;
    else if (value.BOOL !== undefined) job[field] = value.BOOL;
  }
  return job as unknown as JobRecord;
}

const jobPk = (jobId: string) => `JOB#${jobId}`;
/**
 * Each shard's partial (head and chunks) gets a partition key of its own: a round's W partials
 * written in the same instant would otherwise all land on one partition, which takes about 1,000
 * write units/s (300 workers × 32 KB partials = 9,600 units, seconds of throttling). They are read
 * back with parallel BatchGetItem requests. Job ids may hold '#', but what follows the last '#R#'
 * has only digits and '#S#' (or '#M#' for a group partial), so two jobs' partition keys cannot coincide.
 */
export const partialPk = (jobId: string, round: number, shard: number) => `JOB#${jobId}#R#${round}#S#${shard}`;
const PARTIAL_SK = 'PART';
/** One partition key per barrier group (see `arrive`), beside the root item under the job's key. */
export const barrierGroupPk = (jobId: string, round: number, group: number) => `JOB#${jobId}#B#${round}#G#${group}`;
const BARRIER_SK = 'BARRIER';
/** A barrier group's merged partial (the tree merge): a partition of its own, as each shard's partial. */
export const groupPartialPk = (jobId: string, round: number, group: number) => `JOB#${jobId}#R#${round}#M#${group}`;
/** One partition key per claim group of a round (lingering workers, see `claim`). */
export const claimGroupPk = (jobId: string, round: number, group: number) => `JOB#${jobId}#C#${round}#G#${group}`;
const claimKey = (jobId: string, round: number, group: number): Key => ({ pk: s(claimGroupPk(jobId, round, group)), sk: s('CLAIMS') });

/** The grouping is the protocol's (src/domain/groups.ts); re-exported for the simulator's request model. */
export { barrierGroups } from '../domain/groups.js';

function fullGroupShards(root: Item | undefined, shards: number, groups: number): number {
  return (root?.groups?.SS ?? []).reduce((sum, g) => sum + groupSize(shards, groups, Number(g)), 0);
}

function requireShards(operation: string, shards: number | undefined): number {
  if (shards === undefined || !Number.isInteger(shards) || shards < 1) {
    throw new StoreError(`${operation} on DynamoDB`, { cause: new Error(`the barrier needs the round's shard count, got ${shards}`) });
  }
  return shards;
}
const chunkSk = (headSk: string, nonce: string, index: number) => `${headSk}#${nonce}#${String(index).padStart(5, '0')}`;
/** Zero-padded so that sort keys order rounds numerically. */
const pad = (round: number) => String(round).padStart(10, '0');
const keyId = (pk: string, sk: string) => `${pk}\u0000${sk}`;

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });

function str(item: Item, attr: string): string {
  const value = item[attr]?.S;
  if (value === undefined) throw new StoreError('decoding an item', { cause: new Error(`attribute ${attr} is missing or not a string`) });
  return value;
}

function num(item: Item, attr: string): number {
  const value = item[attr]?.N;
  if (value === undefined) throw new StoreError('decoding an item', { cause: new Error(`attribute ${attr} is missing or not a number`) });
  return Number(value);
}

/** Approximate stored size, for the I/O meter: names plus values, as DynamoDB bills them. */
function itemBytes(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += name.length + valueBytes(value);
  return size;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return value.N.length;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.SS !== undefined) return value.SS.reduce((sum, v) => sum + Buffer.byteLength(v), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, v) => sum + v.length, 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, v) => sum + v.byteLength, 0);
  if (value.M !== undefined) return itemBytes(value.M);
  if (value.L !== undefined) return value.L.reduce((sum, v) => sum + valueBytes(v), 0);
  return 1;
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function isConditionFailure(err: unknown): boolean {
  return errorName(err) === 'ConditionalCheckFailedException';
}

