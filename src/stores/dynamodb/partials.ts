import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { PartialMissingError } from '../../errors.js';
import { barrierGroups } from '../../domain/groups.js';
import { claimGroups } from '../../domain/claims.js';
import { recordIo } from '../../util/io-meter.js';
import { assemble, putBlob } from './blobs.js';
import { BARRIER_SK, barrierGroupPk, chunkSk, claimKey, groupPartialPk, jobPk, keyId, pad, PARTIAL_SK, partialPk, s, str, type Item, type Key } from './layout.js';
import type { Table } from './table.js';

/* Models (MODEL#r under the job's key) and the workers' views of them (VIEW#r), each shard's partial and each barrier group's merged partial, and the clearing of a round. */

export async function putModel(t: Table, jobId: string, round: number, bytes: Uint8Array): Promise<void> {
  // Unconditional head: rewrites carry the same bytes, and the last writer's chunks are complete.
  await putBlob(t, 'putModel', jobPk(jobId), `MODEL#${pad(round)}`, bytes, false);
}

export function getModel(t: Table, jobId: string, round: number): Promise<Uint8Array | undefined> {
  return getJobBlob(t, 'getModel', jobId, `MODEL#${pad(round)}`, `model of round ${round} of job ${jobId}`);
}

/** The workers' view of a model (VIEW#r beside MODEL#r): one item up to CHUNK_BYTES, chunked beyond, as a model. */
export async function putModelView(t: Table, jobId: string, round: number, bytes: Uint8Array): Promise<void> {
  await putBlob(t, 'putModelView', jobPk(jobId), `VIEW#${pad(round)}`, bytes, false);
}

export function getModelView(t: Table, jobId: string, round: number): Promise<Uint8Array | undefined> {
  return getJobBlob(t, 'getModelView', jobId, `VIEW#${pad(round)}`, `view of the model of round ${round} of job ${jobId}`);
}

/** A blob kept under the job's partition (a model or its view), its chunks put together; `what` names it in errors. */
async function getJobBlob(t: Table, op: string, jobId: string, sk: string, what: string): Promise<Uint8Array | undefined> {
  const head = await t.getItem(op, { pk: s(jobPk(jobId)), sk: s(sk) });
  if (!head) return undefined;
  const [bytes] = await assemble(t, op, [head], (i) => `${what} (chunk ${i})`);
  return bytes;
}

export async function putPartial(t: Table, jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean> {
  return putBlob(t, 'putPartial', partialPk(jobId, round, shard), PARTIAL_SK, bytes, true);
}

export async function discardPartial(t: Table, jobId: string, round: number, shard: number): Promise<void> {
  // The head only: its chunks (if any) are orphans that expire with the job, as after any rewrite.
  const key = { pk: s(partialPk(jobId, round, shard)), sk: s(PARTIAL_SK) };
  recordIo(1, 0, 0);
  await t.call('discardPartial', 'DeleteItem', false, () => t.client.send(new DeleteItemCommand({ TableName: t.tableName, Key: key })));
}

export async function clearRound(t: Table, jobId: string, round: number, shards: number): Promise<void> {
  // The heads name their chunks (count and nonce): read just those attributes, then delete all,
  // with the barrier's groups and root.
  const heads: Key[] = [];
  for (let shard = 0; shard < shards; shard++) heads.push({ pk: s(partialPk(jobId, round, shard)), sk: s(PARTIAL_SK) });
  if (shards > 0) for (let g = 0; g < barrierGroups(shards); g++) heads.push({ pk: s(groupPartialPk(jobId, round, g)), sk: s(PARTIAL_SK) });
  const found = shards > 0 ? await t.batchGet('clearRound', heads, { projection: 'pk, sk, chunks, nonce', consistent: false }) : new Map<string, Item>();
  const doomed: Key[] = [{ pk: s(jobPk(jobId)), sk: s(`BARRIER#${pad(round)}`) }];
  for (let g = 0; g < barrierGroups(Math.max(1, shards)); g++) doomed.push({ pk: s(barrierGroupPk(jobId, round, g)), sk: s(BARRIER_SK) });
  for (let g = 0; g < claimGroups(shards); g++) doomed.push(claimKey(jobId, round, g));
  for (const head of found.values()) {
    doomed.push({ pk: head.pk!, sk: head.sk! });
    const count = Number(head.chunks?.N ?? 0);
    for (let i = 0; i < count; i++) doomed.push({ pk: head.pk!, sk: s(chunkSk(str(head, 'sk'), str(head, 'nonce'), i)) });
  }
  await t.batchDelete('clearRound', doomed);
}

export async function getPartials(t: Table, jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]> {
  const wanted = which ?? Array.from({ length: shards }, (_, i) => i);
  const keys: Key[] = wanted.map((shard) => ({ pk: s(partialPk(jobId, round, shard)), sk: s(PARTIAL_SK) }));
  const found = keys.length ? await t.batchGet('getPartials', keys) : new Map<string, Item>();
  const heads: Item[] = [];
  for (const shard of wanted) {
    const head = found.get(keyId(partialPk(jobId, round, shard), PARTIAL_SK));
    if (!head) throw new PartialMissingError(jobId, round, shard);
    heads.push(head);
  }
  return assemble(t, 'getPartials', heads, (i, head) => `job ${jobId}: partial ${str(head, 'pk')} for round ${round} (chunk ${i})`);
}

export async function putGroupPartial(t: Table, jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean> {
  return putBlob(t, 'putGroupPartial', groupPartialPk(jobId, round, group), PARTIAL_SK, bytes, true);
}

export async function getGroupPartials(t: Table, jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]> {
  const keys: Key[] = Array.from({ length: groups }, (_, g) => ({ pk: s(groupPartialPk(jobId, round, g)), sk: s(PARTIAL_SK) }));
  const found = keys.length ? await t.batchGet('getGroupPartials', keys) : new Map<string, Item>();
  const present: number[] = [];
  const heads: Item[] = [];
  for (let g = 0; g < groups; g++) {
    const head = found.get(keyId(groupPartialPk(jobId, round, g), PARTIAL_SK));
    if (head) {
      present.push(g);
      heads.push(head);
    }
  }
  const bytes = await assemble(t, 'getGroupPartials', heads, (i, head) => `job ${jobId}: group partial ${str(head, 'pk')} for round ${round} (chunk ${i})`);
  const out = new Array<Uint8Array | undefined>(groups).fill(undefined);
  present.forEach((g, i) => (out[g] = bytes[i]));
  return out;
}

export async function discardGroupPartial(t: Table, jobId: string, round: number, group: number): Promise<void> {
  const key = { pk: s(groupPartialPk(jobId, round, group)), sk: s(PARTIAL_SK) };
  recordIo(1, 0, 0);
  await t.call('discardGroupPartial', 'DeleteItem', false, () => t.client.send(new DeleteItemCommand({ TableName: t.tableName, Key: key })));
}
