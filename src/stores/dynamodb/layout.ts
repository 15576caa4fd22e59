import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { StoreError } from '../../errors.js';

/*
 * The state table's layout (pk, sk): keys of the job record, models, partials, barrier and claim
 * items, the attribute helpers every part of the DynamoDB store shares, and the request limits.
 */

export type Item = Record<string, AttributeValue>;
export type Key = { pk: AttributeValue; sk: AttributeValue };

/**
 * Bytes per chunk item. DynamoDB's item limit is 400 KB including attribute names and keys;
 * 350,000 leaves room for the key (job ids, nonce) and bookkeeping attributes.
 */
export const CHUNK_BYTES = 350_000;
/** BatchWriteItem's per-request item limit. */
export const BATCH_WRITE_KEYS = 25;
/** BatchGetItem's per-request key limit. */
export const BATCH_GET_KEYS = 100;
/** Concurrent requests one store call makes for chunk writes. */
export const PARALLEL_REQUESTS = 4;
/**
 * Concurrent BatchGetItem requests when reading a round's partials back: at W = 1,000 the heads
 * alone are 10 requests, and each partial head sits in a partition of its own, so they can all go
 * at once without meeting one partition's 3,000 read units/s.
 */
export const PARALLEL_BATCH_GETS = 16;
/** Unprocessed-key retries without progress before giving up (DynamoDB asks callers to back off). */
export const MAX_IDLE_RETRIES = 8;

/**
 * The state table's sparse global secondary indexes (created by createStateTable and by
 * serverless.yml alike). `live` holds only the records of jobs that are STARTING or RUNNING, keyed by
 * `updatedAt`: the recovery sweep reads those and never the finished jobs, however many the table
 * keeps. `jobs` holds every job record, keyed by `createdAt`: `bspml jobs` lists newest first.
 */
export const JOB_INDEXES = { live: 'live', jobs: 'jobs' } as const;

export const jobPk = (jobId: string) => `JOB#${jobId}`;
/**
 * Each shard's partial (head and chunks) gets a partition key of its own: a round's W partials
 * written in the same instant would otherwise all land on one partition, which takes about 1,000
 * write units/s (300 workers × 32 KB partials = 9,600 units, seconds of throttling). They are read
 * back with parallel BatchGetItem requests. Job ids may hold '#', but what follows the last '#R#'
 * has only digits and '#S#' (or '#M#' for a group partial), so two jobs' partition keys cannot coincide.
 */
export const partialPk = (jobId: string, round: number, shard: number) => `JOB#${jobId}#R#${round}#S#${shard}`;
export const PARTIAL_SK = 'PART';
/** One partition key per barrier group (see `arrive`), beside the root item under the job's key. */
export const barrierGroupPk = (jobId: string, round: number, group: number) => `JOB#${jobId}#B#${round}#G#${group}`;
export const BARRIER_SK = 'BARRIER';
/** A barrier group's merged partial (the tree merge): a partition of its own, as each shard's partial. */
export const groupPartialPk = (jobId: string, round: number, group: number) => `JOB#${jobId}#R#${round}#M#${group}`;
/** One partition key per claim group of a round (lingering workers, see `claim`). */
export const claimGroupPk = (jobId: string, round: number, group: number) => `JOB#${jobId}#C#${round}#G#${group}`;
export const claimKey = (jobId: string, round: number, group: number): Key => ({ pk: s(claimGroupPk(jobId, round, group)), sk: s('CLAIMS') });
export const chunkSk = (headSk: string, nonce: string, index: number) => `${headSk}#${nonce}#${String(index).padStart(5, '0')}`;
/** Zero-padded so that sort keys order rounds numerically. */
export const pad = (round: number) => String(round).padStart(10, '0');
export const keyId = (pk: string, sk: string) => `${pk}\u0000${sk}`;
export const s = (value: string): AttributeValue => ({ S: value });
export const n = (value: number): AttributeValue => ({ N: String(value) });

export function str(item: Item, attr: string): string {
  const value = item[attr]?.S;
  if (value === undefined) throw new StoreError('decoding an item', { cause: new Error(`attribute ${attr} is missing or not a string`) });
  return value;
}

export function num(item: Item, attr: string): number {
  const value = item[attr]?.N;
  if (value === undefined) throw new StoreError('decoding an item', { cause: new Error(`attribute ${attr} is missing or not a number`) });
  return Number(value);
}

/** Approximate stored size, for the I/O meter: names plus values, as DynamoDB bills them. */

export function itemBytes(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += name.length + valueBytes(value);
  return size;
}

export function valueBytes(value: AttributeValue): number {
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

export function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

export function isConditionFailure(err: unknown): boolean {
  return errorName(err) === 'ConditionalCheckFailedException';
}

export function requireShards(operation: string, shards: number | undefined): number {
  if (shards === undefined || !Number.isInteger(shards) || shards < 1) {
    throw new StoreError(`${operation} on DynamoDB`, { cause: new Error(`the barrier needs the round's shard count, got ${shards}`) });
  }
  return shards;
}
