import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Claim, ClaimAnswer, LingerPoll, ReleaseAnswer } from '../domain/claims.js';
import type { JobPatch, JobRecord, JobStatus, RoundMetrics } from '../domain/job.js';
import type { Arrival, StateStore } from '../ports/StateStore.js';
import { arrivals, arrive } from './dynamodb/barrier.js';
import { claim, handedOver, handOver, release } from './dynamodb/claims.js';
import { createJob, getJob, listRoundMetrics, putRoundMetrics, updateJob } from './dynamodb/jobs.js';
import { clearRound, discardGroupPartial, discardPartial, getGroupPartials, getModel, getModelView, getPartials, putGroupPartial, putModel, putModelView, putPartial } from './dynamodb/partials.js';
import { Table } from './dynamodb/table.js';

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
 * State in one DynamoDB table (pk, sk), laid out as src/stores/dynamodb/layout.ts says. Byte payloads larger than an
 * item are split into chunk items that are written before the head item that points at them, so a
 * reader that sees a head always finds its chunks; chunks are never deleted, only expired by TTL,
 * so a reader holding an older head still finds its chunks after a rewrite.
 * Its parts, by concern, are in src/stores/dynamodb/: the table's layout (keys, attributes, limits),
 * its requests, chunked blobs, the job and round records, models and partials, the barrier, the
 * lingering workers' claims, and the table's creation.
 */
export class DynamoDbStore implements StateStore {
  readonly kind = 'dynamodb';
  readonly tableName: string;
  private readonly table: Table;
  private readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly onClose?: () => Promise<void>;
  private closed = false;

  constructor(options: DynamoDbStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ownsClient = options.ownsClient ?? false;
    this.onClose = options.onClose;
    this.table = new Table(options.client, options.tableName, options.ttlSeconds);
  }

  createJob(job: JobRecord): Promise<void> {
    return createJob(this.table, job);
  }

  getJob(jobId: string): Promise<JobRecord | undefined> {
    return getJob(this.table, jobId);
  }

  updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
    return updateJob(this.table, jobId, expect, patch);
  }

  putModel(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    return putModel(this.table, jobId, round, bytes);
  }

  getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return getModel(this.table, jobId, round);
  }

  putModelView(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    return putModelView(this.table, jobId, round, bytes);
  }

  getModelView(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return getModelView(this.table, jobId, round);
  }

  putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean> {
    return putPartial(this.table, jobId, round, shard, bytes);
  }

  discardPartial(jobId: string, round: number, shard: number): Promise<void> {
    return discardPartial(this.table, jobId, round, shard);
  }

  clearRound(jobId: string, round: number, shards: number): Promise<void> {
    return clearRound(this.table, jobId, round, shards);
  }

  getPartials(jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]> {
    return getPartials(this.table, jobId, round, shards, which);
  }

  putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean> {
    return putGroupPartial(this.table, jobId, round, group, bytes);
  }

  getGroupPartials(jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]> {
    return getGroupPartials(this.table, jobId, round, groups);
  }

  discardGroupPartial(jobId: string, round: number, group: number): Promise<void> {
    return discardGroupPartial(this.table, jobId, round, group);
  }

  arrive(jobId: string, round: number, shard: number, shards: number): Promise<Arrival> {
    return arrive(this.table, jobId, round, shard, shards);
  }

  arrivals(jobId: string, round: number, shards: number): Promise<number[]> {
    return arrivals(this.table, jobId, round, shards);
  }

  claim(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer> {
    return claim(this.table, jobId, round, shard, shards, until);
  }

  release(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer> {
    return release(this.table, jobId, round, shard, shards, until);
  }

  handOver(jobId: string, round: number, shards: number, ended = false, model?: Uint8Array): Promise<Claim[]> {
    return handOver(this.table, jobId, round, shards, ended, model);
  }

  handedOver(jobId: string, round: number, shard: number, shards: number): Promise<LingerPoll> {
    return handedOver(this.table, jobId, round, shard, shards);
  }

  putRoundMetrics(jobId: string, metrics: RoundMetrics): Promise<void> {
    return putRoundMetrics(this.table, jobId, metrics);
  }

  listRoundMetrics(jobId: string): Promise<RoundMetrics[]> {
    return listRoundMetrics(this.table, jobId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
    await this.onClose?.();
  }
}
