import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { claimGroupOf, claimGroups, decodeClaim, encodeClaim, signalOf, sortClaims, type Claim, type ClaimAnswer, type LingerPoll, type ReleaseAnswer } from '../../domain/claims.js';
import { forEachLimit } from '../../util/async.js';
import { recordIo } from '../../util/io-meter.js';
import { claimKey, isConditionFailure, n, s, type Item } from './layout.js';
import type { Table } from './table.js';

/**
 * Claims live in one item per claim group (a partition of its own, as the barrier's groups): a
 * string set `claims` of `shard@until`, and `handed` once the group is handed over. A claim is
 * `ADD claims` under `attribute_not_exists(handed)` (no transactions needed: one item decides), so
 * a claim either lands before the hand-over, which then returns it, or is refused.
 */
export async function claim(t: Table, jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer> {
  const key = claimKey(jobId, round, claimGroupOf(shard, shards));
  const values: Item = { ':claim': { SS: [encodeClaim(shard, until)] } };
  const update = t.ttlSeconds === undefined ? 'ADD claims :claim' : 'SET expiresAt = :expiresAt ADD claims :claim';
  if (t.ttlSeconds !== undefined) values[':expiresAt'] = n(t.expiresAt());
  recordIo(1, 32, 0);
  try {
    await t.call('claim', 'UpdateItem', true, () =>
      t.client.send(
        new UpdateItemCommand({ TableName: t.tableName, Key: key, UpdateExpression: update, ConditionExpression: 'attribute_not_exists(handed)', ExpressionAttributeValues: values }),
      ),
    );
    return 'claimed';
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return signalOf((await t.getItem('claim', key))?.handed?.S ?? 'next') as ClaimAnswer;
  }
}

export async function release(t: Table, jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer> {
  const key = claimKey(jobId, round, claimGroupOf(shard, shards));
  recordIo(1, 32, 0);
  try {
    await t.call('release', 'UpdateItem', true, () =>
      t.client.send(
        new UpdateItemCommand({
          TableName: t.tableName,
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
    const item = await t.getItem('release', key);
    return item?.handed?.S === undefined ? 'released' : (signalOf(item.handed.S) as ReleaseAnswer);
  }
}

/**
 * Every group's item at once (⌈√W⌉ of them, each in its own partition): the hand-over is on the
 * round's critical path, and waves of 16 would add a request's time for W > 256.
 */
const HAND_OVER_LANES = 64;

export async function handOver(t: Table, jobId: string, round: number, shards: number, ended = false, model?: Uint8Array): Promise<Claim[]> {
  const groups = claimGroups(shards);
  const out: Claim[] = [];
  await forEachLimit(groups, HAND_OVER_LANES, async (g) => {
    const values: Item = { ':handed': s(ended ? 'end' : 'next') };
    let update = 'SET handed = if_not_exists(handed, :handed)';
    // The model beside the mark, first write wins as the mark's: a repeat finds the same bytes.
    if (model) {
      values[':model'] = { B: model };
      update += ', handedModel = if_not_exists(handedModel, :model)';
    }
    if (t.ttlSeconds !== undefined) {
      values[':expiresAt'] = n(t.expiresAt());
      update += ', expiresAt = :expiresAt';
    }
    recordIo(1, 16 + (model?.byteLength ?? 0), 0);
    const reply = await t.call('handOver', 'UpdateItem', false, () =>
      t.client.send(new UpdateItemCommand({ TableName: t.tableName, Key: claimKey(jobId, round, g), UpdateExpression: update, ExpressionAttributeValues: values, ReturnValues: 'ALL_NEW' })),
    );
    for (const member of reply.Attributes?.claims?.SS ?? []) out.push(decodeClaim(member));
  });
  return sortClaims(out);
}

/** One strongly consistent GetItem of the group's item: the mark, and the model when the hand-over carried it. */
export async function handedOver(t: Table, jobId: string, round: number, shard: number, shards: number): Promise<LingerPoll> {
  const item = await t.getItem('handedOver', claimKey(jobId, round, claimGroupOf(shard, shards)));
  if (!item) return { signal: 'gone' };
  const model = item.handed?.S !== undefined ? item.handedModel?.B : undefined;
  return { signal: signalOf(item.handed?.S), ...(model ? { model: new Uint8Array(model) } : {}) };
}
