import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { MissingStateError } from '../../errors.js';
import { forEachLimit } from '../../util/async.js';
import { recordIo } from '../../util/io-meter.js';
import { chunkSk, CHUNK_BYTES, isConditionFailure, itemBytes, keyId, n, num, PARALLEL_REQUESTS, s, str, type Item, type Key } from './layout.js';
import type { Table } from './table.js';

/*
 * Chunked blobs: byte payloads (models, partials, large job fields) larger than an item are split
 * into chunk items written before the head item that points at them, so a reader that sees a head
 * always finds its chunks; chunks are never deleted, only expired by TTL, so a reader holding an
 * older head still finds its chunks after a rewrite.
 */

/**
 * Writes a payload as a head item, inline when it fits, else after its chunks. Chunk keys carry a
 * nonce of this write, so concurrent writers never overwrite each other's chunks: with
 * `once`, the writer whose head lands first wins and the others' chunks are orphans.
 */
export async function putBlob(t: Table, operation: string, pk: string, sk: string, bytes: Uint8Array, once: boolean): Promise<boolean> {
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
      const chunk = t.withTtl({
        pk: s(pk),
        sk: s(chunkSk(sk, nonce, i)),
        bytes: { B: bytes.subarray(i * CHUNK_BYTES, Math.min(bytes.byteLength, (i + 1) * CHUNK_BYTES)) },
      });
      recordIo(1, itemBytes(chunk), 0);
      await t.call(operation, 'PutItem', false, () =>
        t.client.send(new PutItemCommand({ TableName: t.tableName, Item: chunk })),
      );
    });
  }
  t.withTtl(head);
  recordIo(1, itemBytes(head), 0);
  try {
    await t.call(operation, 'PutItem', once, () =>
      t.client.send(
        new PutItemCommand({
          TableName: t.tableName,
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
export async function assemble(t: Table, operation: string, heads: Item[], describe: (chunk: number, head: Item) => string): Promise<Uint8Array[]> {
  const keys: Key[] = [];
  for (const head of heads) {
    const count = num(head, 'chunks');
    for (let i = 0; i < count; i++) keys.push({ pk: head.pk!, sk: s(chunkSk(str(head, 'sk'), str(head, 'nonce'), i)) });
  }
  const chunks = keys.length ? await t.batchGet(operation, keys) : new Map<string, Item>();
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
