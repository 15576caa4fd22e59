import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { barrierGroups, groupSize } from '../../domain/groups.js';
import type { Arrival } from '../../ports/StateStore.js';
import { recordIo } from '../../util/io-meter.js';
import { BARRIER_SK, barrierGroupPk, isConditionFailure, jobPk, n, pad, requireShards, s, type Item, type Key } from './layout.js';
import type { Table } from './table.js';

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
export async function arrive(t: Table, jobId: string, round: number, shard: number, shards: number): Promise<Arrival> {
  const total = requireShards('arrive', shards);
  const groups = barrierGroups(total);
  const group = shard % groups;
  const size = groupSize(total, groups, group);
  const groupKey = { pk: s(barrierGroupPk(jobId, round, group)), sk: s(BARRIER_SK) };
  const rootKey = { pk: s(jobPk(jobId)), sk: s(`BARRIER#${pad(round)}`) };
  const first = await addToSet(t, 'arrive', groupKey, 'shards', shard);
  if (!first) {
    // A repeat: W only if the whole round is known full, else a lower bound.
    const [groupItem, rootItem] = await Promise.all([t.getItem('arrive', groupKey), t.getItem('arrive', rootKey)]);
    const inGroup = groupItem?.shards?.SS?.length ?? 0;
    const groupFilled = inGroup === size;
    const full = rootItem?.groups?.SS?.length ?? 0;
    if (groups === 1) return { added: false, count: inGroup, groupFilled };
    if (full === groups) return { added: false, count: total, groupFilled };
    return { added: false, count: Math.max(inGroup || 1, fullGroupShards(rootItem, total, groups)), groupFilled };
  }
  if (groups === 1 || first.length < size) return { added: true, count: first.length, groupFilled: first.length === size };
  const root = await addToSet(t, 'arrive', rootKey, 'groups', group);
  // Only this group's filling arrival adds the group, so the root ADD cannot be a repeat unless
  // this very call is a retried request; then the count is what the root holds now.
  const full = root ?? (await t.getItem('arrive', rootKey))?.groups?.SS ?? [];
  return { added: true, count: full.length === groups ? total : full.reduce((sum, g) => sum + groupSize(total, groups, Number(g)), 0), groupFilled: true };
}

export async function arrivals(t: Table, jobId: string, round: number, shards: number): Promise<number[]> {
  const groups = barrierGroups(requireShards('arrivals', shards));
  const keys: Key[] = [];
  for (let g = 0; g < groups; g++) keys.push({ pk: s(barrierGroupPk(jobId, round, g)), sk: s(BARRIER_SK) });
  const found = await t.batchGet('arrivals', keys);
  const out: number[] = [];
  for (const item of found.values()) for (const id of item.shards?.SS ?? []) out.push(Number(id));
  return out.sort((a, b) => a - b);
}

/**
 * Adds `member` to the string set `attribute` of an item, unless present. Returns the set after
 * the add, or undefined when the member was there already (nothing changed).
 */
async function addToSet(t: Table, operation: string, key: Key, attribute: string, member: number): Promise<string[] | undefined> {
  const values: Item = { ':one': n(1), ':set': { SS: [String(member)] }, ':member': s(String(member)) };
  let update = `ADD arrived :one, ${attribute} :set`;
  if (t.ttlSeconds !== undefined) {
    values[':expiresAt'] = n(t.expiresAt());
    update = `SET expiresAt = :expiresAt ${update}`;
  }
  recordIo(1, 32, 16);
  try {
    const out = await t.call(operation, 'UpdateItem', true, () =>
      t.client.send(
        new UpdateItemCommand({
          TableName: t.tableName,
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

function fullGroupShards(root: Item | undefined, shards: number, groups: number): number {
  return (root?.groups?.SS ?? []).reduce((sum, g) => sum + groupSize(shards, groups, Number(g)), 0);
}
