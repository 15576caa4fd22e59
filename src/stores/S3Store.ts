import { randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { JobExistsError, MissingStateError, PartialMissingError, StoreError } from '../errors.js';
import type { Arrival, StateStore } from '../ports/StateStore.js';
import { groupComplete } from '../domain/groups.js';
import { claimGroupOf, claimGroups, decodeClaim, encodeClaim, signalOf, sortClaims, type Claim, type ClaimAnswer, type LingerPoll, type ReleaseAnswer } from '../domain/claims.js';
import type { JobPatch, JobRecord, JobStatus, RoundMetrics } from '../domain/job.js';
import { endpointOf } from '../util/clients.js';
import { recordIo } from '../util/io-meter.js';
import { copyBytes, fromJson, toJson } from './json.js';
import { forEachLimit, sleep } from '../util/async.js';

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  /** Put before every key, e.g. "state/" (default none). */
  prefix?: string;
  /** Destroy the client on close(). */
  ownsClient?: boolean;
  /** Runs after the client is released: lets whoever started a local server stop it with the store. */
  onClose?: () => Promise<void>;
  /** Keys per LIST page (S3's maximum and default is 1,000); smaller only to test paging. */
  listPageSize?: number;
}

/** Concurrent GETs one store call makes (a round's partials, its metrics). */
const PARALLEL_REQUESTS = 16;
/** Attempts at a write that S3 answers 409 ConditionalRequestConflict (a concurrent conditional write in flight). */
const MAX_CONFLICT_RETRIES = 8;
/** Compare-and-set attempts on the job record that keep losing to writers leaving round and status alone. */
const MAX_CAS_ATTEMPTS = 16;

/**
 * State in one S3 bucket, one object per record, under `{prefix}jobs/{jobId}/`:
 *
 * | key | holds | written |
 * |---|---|---|
 * | `job.json` | the job record | create: If-None-Match `*`; update: If-Match its ETag (compare-and-set) |
 * | `models/{round}` | model bytes | plain PUT (a rewrite carries the same bytes) |
 * | `views/{round}` | the workers' view of the model (src/protocol/modelView.ts) | plain PUT, as the model |
 * | `partials/{round}/{shard}` | partial bytes | If-None-Match `*`: the first write wins |
 * | `partials/{round}/group-{g}` | a barrier group's merged partial (tree merge) | If-None-Match `*` |
 * | `barrier/{round}/arrived/{shard}` | marker (the shard id) | If-None-Match `*`: `added` |
 * | `barrier/{round}/ticket/{n}` | the arrival order so far (shard ids) | If-None-Match `*`: `count` |
 * | `rounds/{round}.json` | round metrics | plain PUT |
 * | `claims/{round}/{group}/handed` | the hand-over mark (`next` or `end`) | If-None-Match `*`: the first wins |
 * | `claims/{round}/{group}/c/{shard}@{until}` | a lingering worker's claim | PUT; DELETE to release |
 *
 * The barrier needs what DynamoDB's conditional ADD gives: a duplicate never counts, and every
 * first arrival gets a distinct count, so exactly one sees the round full. A marker per shard,
 * created once, makes `added`; but markers alone cannot give distinct counts (two arrivals that LIST
 * at once see the same number). So arrivals also extend a chain of *tickets*: ticket n+1 is created
 * once, by whoever wins it, holding ticket n's order followed by every marker its creator listed
 * that the order lacked. The chain is one total order of arrived shards, agreed on by everyone; a
 * shard's `count` is its place in it, which is at most the number of markers (every shard in it has
 * one), and exactly one shard is at place W. An arrival that loses a ticket race usually finds
 * itself admitted by the winner, so a burst of W arrivals costs O(W) requests, not O(W²) as a
 * counter claimed one slot at a time would. Every object is written once and never changed, except
 * the job record (ETag compare-and-set), models, views and metrics (same content on a rewrite), so S3's
 * strong read-after-write consistency is all the rest relies on.
 *
 * Needs conditional writes (If-None-Match, If-Match on PutObject): real S3 has them; s3rver 3.7.1
 * ignores them, so `openS3Store` refuses an endpoint that does, and the in-process s3rver it starts
 * gets them from `enforceConditionalWrites`.
 */
export class S3Store implements StateStore {
  readonly kind = 's3';
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly onClose?: () => Promise<void>;
  private readonly listPageSize: number;
  private closed = false;

  constructor(options: S3StoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.ownsClient = options.ownsClient ?? false;
    this.onClose = options.onClose;
    this.listPageSize = options.listPageSize ?? 1000;
  }

  /** The key of a job's record `suffix`. Job ids are URI-encoded so a '/' in one cannot reach into another job's keys. */
  key(jobId: string, suffix: string): string {
    return `${this.prefix}jobs/${encodeURIComponent(jobId)}/${suffix}`;
  }

  async createJob(job: JobRecord): Promise<void> {
    if (!(await this.createOnce('createJob', this.key(job.jobId, 'job.json'), toJson(job)))) throw new JobExistsError(job.jobId);
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    return (await this.readJob('getJob', jobId))?.job;
  }

  async updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
    const key = this.key(jobId, 'job.json');
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.readJob('updateJob', jobId);
      if (!current || current.job.round !== expect.round || current.job.status !== expect.status) return false;
      const next = { ...current.job, ...patch, updatedAt: Date.now() };
      try {
        await this.put('updateJob', { Key: key, Body: toJson(next), IfMatch: current.etag });
        return true;
      } catch (err) {
        // 412: another writer replaced the record since we read it; 404: it was deleted. Re-read and decide again.
        if (!isPreconditionFailed(err) && !isNotFound(err)) throw err;
      }
    }
    throw new StoreError(`updateJob on s3://${this.bucket}/${key}`, { cause: new Error(`lost the compare-and-set ${MAX_CAS_ATTEMPTS} times in a row`) });
  }

  async putModel(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    await this.put('putModel', { Key: this.key(jobId, `models/${pad(round)}`), Body: bytes });
  }

  async getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return (await this.get('getModel', this.key(jobId, `models/${pad(round)}`)))?.bytes;
  }

  async putModelView(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    await this.put('putModelView', { Key: this.key(jobId, `views/${pad(round)}`), Body: bytes });
  }

  async getModelView(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return (await this.get('getModelView', this.key(jobId, `views/${pad(round)}`)))?.bytes;
  }

  async putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean> {
    return this.createOnce('putPartial', this.key(jobId, `partials/${pad(round)}/${shard}`), bytes);
  }

  async discardPartial(jobId: string, round: number, shard: number): Promise<void> {
    const key = this.key(jobId, `partials/${pad(round)}/${shard}`);
    recordIo(1, key.length, 0);
    await this.call('discardPartial', `DeleteObject ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async clearRound(jobId: string, round: number, _shards: number): Promise<void> {
    // Listed rather than named: the barrier's tickets and any stray partial go too.
    const keys = [
      ...(await this.list('clearRound', this.key(jobId, `partials/${pad(round)}/`))),
      ...(await this.list('clearRound', this.key(jobId, `barrier/${pad(round)}/`))),
      ...(await this.list('clearRound', this.key(jobId, `claims/${pad(round)}/`))),
    ];
    await forEachLimit(keys.length, PARALLEL_REQUESTS, async (i) => {
      const key = keys[i]!;
      recordIo(1, key.length, 0);
      await this.call('clearRound', `DeleteObject ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
    });
  }

  async getPartials(jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]> {
    const wanted = which ?? Array.from({ length: shards }, (_, i) => i);
    const out = new Array<Uint8Array | undefined>(wanted.length);
    await forEachLimit(wanted.length, PARALLEL_REQUESTS, async (i) => {
      out[i] = (await this.get('getPartials', this.key(jobId, `partials/${pad(round)}/${wanted[i]}`)))?.bytes;
    });
    const missing = out.findIndex((bytes) => bytes === undefined);
    if (missing >= 0) throw new PartialMissingError(jobId, round, wanted[missing]!);
    return out as Uint8Array[];
  }

  async putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean> {
    // Under the round's partials/ prefix, so that clearRound's listing takes it too.
    return this.createOnce('putGroupPartial', this.key(jobId, `partials/${pad(round)}/group-${group}`), bytes);
  }

  async getGroupPartials(jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]> {
    const out = new Array<Uint8Array | undefined>(groups).fill(undefined);
    await forEachLimit(groups, PARALLEL_REQUESTS, async (group) => {
      out[group] = (await this.get('getGroupPartials', this.key(jobId, `partials/${pad(round)}/group-${group}`)))?.bytes;
    });
    return out;
  }

  async discardGroupPartial(jobId: string, round: number, group: number): Promise<void> {
    const key = this.key(jobId, `partials/${pad(round)}/group-${group}`);
    recordIo(1, key.length, 0);
    await this.call('discardGroupPartial', `DeleteObject ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  /**
   * `groupFilled`: a first arrival's group is complete when every member precedes it in the ticket
   * chain's order (one total order, so exactly one member, the last in it, finds that); a repeat's
   * when every member has a marker.
   */
  async arrive(jobId: string, round: number, shard: number, shards: number): Promise<Arrival> {
    const W = Math.max(1, shards ?? 1);
    const barrier = this.key(jobId, `barrier/${pad(round)}/`);
    // A non-empty body: the SDK cannot tell an empty string's length and warns on every PUT.
    const added = await this.createOnce('arrive', `${barrier}arrived/${shard}`, String(shard));
    if (!added) {
      const markers = (await this.list('arrive', `${barrier}arrived/`)).map((k) => Number(k.slice(barrier.length + 'arrived/'.length)));
      return { added, count: markers.length, groupFilled: groupComplete(shard, W, new Set(markers)) };
    }
    const placed = (order: number[], place: number): Arrival => ({
      added,
      count: place + 1,
      groupFilled: groupComplete(shard, W, new Set(order.slice(0, place + 1))),
    });
    for (let attempt = 0; ; attempt++) {
      // One LIST shows both the markers and how far the ticket chain has got.
      const keys = await this.list('arrive', barrier);
      const markers = keys.filter((k) => k.startsWith(`${barrier}arrived/`)).map((k) => Number(k.slice(barrier.length + 'arrived/'.length)));
      const tickets = keys.filter((k) => k.startsWith(`${barrier}ticket/`)).length;
      const admitted = tickets === 0 ? [] : await this.readTicket(`${barrier}ticket/${pad(tickets)}`);
      const mine = admitted.indexOf(shard);
      // Another arrival's ticket took this shard in: its place in the order is its count.
      if (mine >= 0) return placed(admitted, mine);
      const seen = new Set(admitted);
      const order = [...admitted, ...markers.filter((m) => !seen.has(m)).sort((a, b) => a - b)];
      if (await this.createOnce('arrive', `${barrier}ticket/${pad(tickets + 1)}`, JSON.stringify(order))) {
        return placed(order, order.indexOf(shard));
      }
      // Lost the ticket to a concurrent arrival, which admitted every marker it listed: look again.
      // Each lost race is a ticket that admitted at least one new shard, so this ends within W turns.
      if (attempt > 100_000) throw new StoreError(`arrive on s3://${this.bucket}/${barrier}`, { cause: new Error('the ticket chain did not settle') });
    }
  }

  async arrivals(jobId: string, round: number, _shards?: number): Promise<number[]> {
    const markers = this.key(jobId, `barrier/${pad(round)}/arrived/`);
    const keys = await this.list('arrivals', markers);
    return keys.map((key) => Number(key.slice(markers.length))).sort((a, b) => a - b);
  }

  /*
   * Claims without a conditional update of one object: a claim writes its marker, then reads the
   * group's mark; the hand-over writes every mark, then lists the markers. With S3's strong
   * read-after-write consistency, a claim that read no mark wrote its marker before the mark, so the
   * listing after the mark sees it; a claim that read the mark is answered 'handed' (the worker
   * computes, whether or not the listing saw it). A release deletes its marker, then reads the
   * mark the same way. The hand-over may thus also return claims that were told 'handed'.
   */
  async claim(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer> {
    const group = claimGroupOf(shard, shards);
    const before = await this.handedMark(jobId, round, group);
    if (before) return signalOf(before) as ClaimAnswer;
    await this.put('claim', { Key: this.key(jobId, `claims/${pad(round)}/${group}/c/${encodeClaim(shard, until)}`), Body: String(shard) });
    const after = await this.handedMark(jobId, round, group);
    return after ? (signalOf(after) as ClaimAnswer) : 'claimed';
  }

  async release(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer> {
    const group = claimGroupOf(shard, shards);
    const key = this.key(jobId, `claims/${pad(round)}/${group}/c/${encodeClaim(shard, until)}`);
    recordIo(1, key.length, 0);
    await this.call('release', `DeleteObject ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
    const mark = await this.handedMark(jobId, round, group);
    return mark ? (signalOf(mark) as ReleaseAnswer) : 'released';
  }

  async handOver(jobId: string, round: number, shards: number, ended = false, model?: Uint8Array): Promise<Claim[]> {
    const groups = claimGroups(shards);
    const body = markBody(ended ? 'end' : 'next', model);
    await forEachLimit(groups, PARALLEL_REQUESTS, async (g) => {
      await this.createOnce('handOver', this.key(jobId, `claims/${pad(round)}/${g}/handed`), body);
    });
    const prefix = this.key(jobId, `claims/${pad(round)}/`);
    const claims = (await this.list('handOver', prefix)).map((key) => key.slice(prefix.length).split('/')).filter((parts) => parts[1] === 'c');
    return sortClaims(claims.map((parts) => decodeClaim(parts[2]!)));
  }

  /** One GET of the group's mark (with the model it carried). S3 cannot tell a cleared group from a waiting one in the same request: 'waiting' then. */
  async handedOver(jobId: string, round: number, shard: number, shards: number): Promise<LingerPoll> {
    const got = await this.handedGroup(jobId, round, claimGroupOf(shard, shards));
    if (!got) return { signal: 'waiting' };
    return { signal: signalOf(got.mark), ...(got.model ? { model: got.model } : {}) };
  }

  private async handedMark(jobId: string, round: number, group: number): Promise<string | undefined> {
    return (await this.handedGroup(jobId, round, group))?.mark;
  }

  /** The group's hand-over mark and the model it carried, or undefined before the hand-over. */
  private async handedGroup(jobId: string, round: number, group: number): Promise<{ mark: string; model?: Uint8Array } | undefined> {
    const got = await this.get('handedOver', this.key(jobId, `claims/${pad(round)}/${group}/handed`));
    return got ? parseMark(got.bytes) : undefined;
  }

  async putRoundMetrics(jobId: string, metrics: RoundMetrics): Promise<void> {
    await this.put('putRoundMetrics', { Key: this.key(jobId, `rounds/${pad(metrics.round)}.json`), Body: toJson(metrics) });
  }

  async listRoundMetrics(jobId: string): Promise<RoundMetrics[]> {
    const keys = await this.list('listRoundMetrics', this.key(jobId, 'rounds/'));
    const out: RoundMetrics[] = [];
    await forEachLimit(keys.length, PARALLEL_REQUESTS, async (i) => {
      const got = await this.get('listRoundMetrics', keys[i]!);
      if (got) out.push(fromJson(new TextDecoder().decode(got.bytes)) as RoundMetrics);
    });
    return out.sort((a, b) => a.round - b.round);
  }

  /**
   * Writes an object twice with If-None-Match: `*` and fails unless the second write is refused.
   * An endpoint that ignores the condition (s3rver 3.7.1 does) would count duplicate arrivals and
   * let a duplicate partial replace the first: running on it must fail loudly, not drift.
   */
  async verifyConditionalWrites(): Promise<void> {
    const key = `${this.prefix}bspml-probe/${randomUUID()}`;
    const first = await this.createOnce('verifyConditionalWrites', key, 'first');
    const second = await this.createOnce('verifyConditionalWrites', key, 'second');
    await this.call('verifyConditionalWrites', `DeleteObject ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
    if (!first || second) {
      throw new StoreError(`checking conditional writes on bucket ${this.bucket}`, {
        cause: new Error(
          'the endpoint ignored If-None-Match on PutObject, so duplicate partials and arrivals could not be detected; ' +
            'use AWS S3, or leave out --endpoint to run an in-process s3rver that honours it',
        ),
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
    await this.onClose?.();
  }

  /** The cumulative arrival order a ticket holds. Tickets are never rewritten, so any read of one is final. */
  private async readTicket(key: string): Promise<number[]> {
    const got = await this.get('arrive', key);
    if (!got) throw new StoreError(`arrive on s3://${this.bucket}`, { cause: new Error(`ticket ${key} was listed but cannot be read`) });
    return JSON.parse(new TextDecoder().decode(got.bytes)) as number[];
  }

  private async readJob(operation: string, jobId: string): Promise<{ job: JobRecord; etag: string } | undefined> {
    const got = await this.get(operation, this.key(jobId, 'job.json'));
    if (!got) return undefined;
    if (!got.etag) throw new StoreError(`${operation} on s3://${this.bucket}`, { cause: new Error('GetObject returned no ETag') });
    return { job: fromJson(new TextDecoder().decode(got.bytes)) as JobRecord, etag: got.etag };
  }

  /** PUT with If-None-Match `*`: true when this call created the object, false when it existed. */
  private async createOnce(operation: string, key: string, body: Uint8Array | string): Promise<boolean> {
    try {
      await this.put(operation, { Key: key, Body: body, IfNoneMatch: '*' });
      return true;
    } catch (err) {
      if (isPreconditionFailed(err)) return false;
      throw err;
    }
  }

  /**
   * One PutObject (retried only on 409, which S3 returns while a concurrent conditional write to the
   * key is in flight: the retry then gets the definite answer). A 412 or 404 to a conditional PUT
   * passes through as the SDK's error, since it is an answer; every other error becomes a StoreError.
   */
  private async put(operation: string, input: Omit<PutObjectCommandInput, 'Bucket'>): Promise<void> {
    const size = typeof input.Body === 'string' ? Buffer.byteLength(input.Body) : (input.Body as Uint8Array).byteLength;
    const conditional = input.IfMatch !== undefined || input.IfNoneMatch !== undefined;
    for (let attempt = 0; ; attempt++) {
      recordIo(1, size + input.Key!.length, 0);
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, ...input }));
        return;
      } catch (err) {
        if (isConflict(err) && attempt < MAX_CONFLICT_RETRIES) {
          await sleep(Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random() / 2));
          continue;
        }
        if (conditional && (isPreconditionFailed(err) || (input.IfMatch !== undefined && isNotFound(err)))) throw err;
        throw new StoreError(`${operation} PutObject on s3://${this.bucket}/${input.Key} at ${await endpointOf(this.client)}`, { cause: err });
      }
    }
  }

  /** One GetObject; undefined when the key does not exist. */
  private async get(operation: string, key: string): Promise<{ bytes: Uint8Array; etag?: string } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = copyBytes((await out.Body?.transformToByteArray()) ?? new Uint8Array(0));
      recordIo(1, key.length, bytes.byteLength);
      return { bytes, etag: out.ETag };
    } catch (err) {
      recordIo(1, key.length, 0);
      if (isNotFound(err)) return undefined;
      throw new StoreError(`${operation} GetObject on s3://${this.bucket}/${key} at ${await endpointOf(this.client)}`, { cause: err });
    }
  }

  /**
   * Every key under `prefix`, in key order. ListObjects (v1) pages with Marker = the last key: v2's
   * continuation tokens are DES-encrypted by s3rver, which Node 20's OpenSSL 3 refuses without
   * --openssl-legacy-provider; v1 paging needs nothing special and behaves the same on S3.
   */
  private async list(operation: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.call(operation, `ListObjects ${prefix}`, () =>
        this.client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, Marker: marker, MaxKeys: this.listPageSize })),
      );
      const found = (page.Contents ?? []).map((o) => o.Key!).filter((k) => k !== undefined);
      recordIo(1, prefix.length, found.reduce((n, k) => n + k.length + 100, 0));
      keys.push(...found);
      if (!page.IsTruncated || found.length === 0) return keys;
      marker = found[found.length - 1];
    }
  }

  private async call<T>(operation: string, request: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw new StoreError(`${operation} ${request} on s3://${this.bucket} at ${await endpointOf(this.client)}`, { cause: err });
    }
  }
}

/** Zero-padded so that keys list rounds and tickets in numeric order. */
const pad = (n: number) => String(n).padStart(10, '0');

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function isPreconditionFailed(err: unknown): boolean {
  return errorName(err) === 'PreconditionFailed' || status(err) === 412;
}

function isConflict(err: unknown): boolean {
  return errorName(err) === 'ConditionalRequestConflict' || status(err) === 409;
}

/** The key is absent. A missing bucket is also a 404, but a configuration error, not an answer. */
function isNotFound(err: unknown): boolean {
  return errorName(err) === 'NoSuchKey' || (status(err) === 404 && errorName(err) !== 'NoSuchBucket');
}


/** A hand-over mark's object: the mark's text, then, when the hand-over carried the model, a NUL byte and the model. */
function markBody(mark: string, model: Uint8Array | undefined): Uint8Array | string {
  if (!model) return mark;
  const text = new TextEncoder().encode(mark);
  const body = new Uint8Array(text.byteLength + 1 + model.byteLength);
  body.set(text, 0);
  body.set(model, text.byteLength + 1);
  return body;
}

function parseMark(bytes: Uint8Array): { mark: string; model?: Uint8Array } {
  const nul = bytes.indexOf(0);
  if (nul < 0) return { mark: new TextDecoder().decode(bytes) };
  return { mark: new TextDecoder().decode(bytes.subarray(0, nul)), model: bytes.slice(nul + 1) };
}
