import { randomUUID } from 'node:crypto';
import { PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { JobExistsError, MissingStateError, StoreError } from '../../errors.js';
import type { JobPatch, JobRecord, JobStatus, RoundMetrics } from '../../domain/job.js';
import { recordIo } from '../../util/io-meter.js';
import { fromJson, toJson } from '../json.js';
import { assemble, putBlob } from './blobs.js';
import { isConditionFailure, itemBytes, jobPk, n, pad, s, str, valueBytes, type Item } from './layout.js';
import type { Table } from './table.js';

/* The job record (META) and the round records (ROUND#r) under the job's key. */

export async function createJob(t: Table, job: JobRecord): Promise<void> {
  const item = t.withTtl(encodeJob(job));
  await spillLargeFields(t, job.jobId, item);
  recordIo(1, itemBytes(item), 0);
  try {
    await t.call('createJob', 'PutItem', true, () =>
      t.client.send(
        new PutItemCommand({ TableName: t.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw new JobExistsError(job.jobId);
    throw err;
  }
}

export async function getJob(t: Table, jobId: string): Promise<JobRecord | undefined> {
  const item = await t.getItem('getJob', { pk: s(jobPk(jobId)), sk: s('META') });
  if (!item) return undefined;
  await loadSpilledFields(t, jobId, item);
  return decodeJob(item);
}

export async function updateJob(t: Table, jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
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
  await spillLargeFields(t, jobId, values);
  if (t.ttlSeconds !== undefined) {
    names['#expiresAt'] = 'expiresAt';
    values[':expiresAt'] = n(t.expiresAt());
    set.push('#expiresAt = :expiresAt');
  }

  const update = `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`;
  recordIo(1, Object.values(values).reduce((sum, v) => sum + valueBytes(v), update.length), 0);
  try {
    await t.call('updateJob', 'UpdateItem', true, () =>
      t.client.send(
        new UpdateItemCommand({
          TableName: t.tableName,
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

export async function putRoundMetrics(t: Table, jobId: string, metrics: RoundMetrics): Promise<void> {
  const item = t.withTtl({
    pk: s(jobPk(jobId)),
    sk: s(`ROUND#${pad(metrics.round)}`),
    round: n(metrics.round),
    metrics: s(toJson(metrics)),
  });
  recordIo(1, itemBytes(item), 0);
  await t.call('putRoundMetrics', 'PutItem', false, () =>
    t.client.send(new PutItemCommand({ TableName: t.tableName, Item: item })),
  );
}

export async function listRoundMetrics(t: Table, jobId: string): Promise<RoundMetrics[]> {
  const out: RoundMetrics[] = [];
  let start: Item | undefined;
  do {
    const page = await t.call('listRoundMetrics', 'Query', false, () =>
      t.client.send(
        new QueryCommand({
          TableName: t.tableName,
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

/**
 * Moves JSON fields too large for the job item (a final model with many centroids or weights)
 * into chunked items of their own, leaving a reference in their place: the record stays under
 * the 400 KB item limit whatever the model's size. Works on encoded attributes, whether of a
 * whole item or of an update's values. The blob key is per write, so the conditional write of
 * the record decides which one counts; a losing writer's blob is an orphan until its TTL.
 */
async function spillLargeFields(t: Table, jobId: string, attributes: Item): Promise<void> {
  for (const [key, value] of Object.entries(attributes)) {
    if (value.S === undefined || Buffer.byteLength(value.S) <= INLINE_JSON_BYTES) continue;
    const sk = `FIELD#${randomUUID()}`;
    await putBlob(t, 'storing a large job field', jobPk(jobId), sk, Buffer.from(value.S), false);
    attributes[key] = s(`${SPILLED}${sk}`);
  }
}

/** Reads back the fields `spillLargeFields` moved out of the job item, in place. */
async function loadSpilledFields(t: Table, jobId: string, item: Item): Promise<void> {
  for (const [field, value] of Object.entries(item)) {
    if (!value.S?.startsWith(SPILLED)) continue;
    const sk = value.S.slice(SPILLED.length);
    const head = await t.getItem('getJob', { pk: s(jobPk(jobId)), sk: s(sk) });
    if (!head) throw new MissingStateError(`job ${jobId}: field ${field} was stored as ${sk}, which is missing`);
    const [bytes] = await assemble(t, 'getJob', [head], (i) => `field ${field} of job ${jobId} (chunk ${i})`);
    item[field] = s(Buffer.from(bytes!).toString('utf8'));
  }
}

/** Item attributes that are not JobRecord fields. */
const STORE_ATTRIBUTES = new Set(['pk', 'sk', 'expiresAt', 'live', 'listed']);
const LIVE_ATTRIBUTE = 'live';
const LIVE = 'LIVE';
const LISTED = 'JOB';
const LIVE_STATUSES = new Set<JobStatus>(['STARTING', 'RUNNING']);
/**
 * JobRecord fields held as JSON strings. Every other field is a top-level scalar attribute, so
 * conditions can test it and an update can set it without reading the record first; new scalar
 * fields need no change here, a new object field must be listed.
 */
const JSON_FIELDS = new Set(['spec', 'layout', 'data', 'result', 'predict']);
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
