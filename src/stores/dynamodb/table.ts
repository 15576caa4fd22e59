import { BatchGetItemCommand, BatchWriteItemCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StoreError } from '../../errors.js';
import { forEachLimit, sleep } from '../../util/async.js';
import { endpointOf } from '../../util/clients.js';
import { recordIo } from '../../util/io-meter.js';
import { BATCH_GET_KEYS, BATCH_WRITE_KEYS, isConditionFailure, itemBytes, keyId, MAX_IDLE_RETRIES, n, PARALLEL_BATCH_GETS, PARALLEL_REQUESTS, str, type Item, type Key } from './layout.js';

/**
 * The state table as the store's parts use it: its client and name, the TTL every item carries,
 * and the requests they share (one SDK call with its error handling, single and batched reads,
 * batched deletes).
 */
export class Table {
  constructor(
    readonly client: DynamoDBClient,
    readonly tableName: string,
    readonly ttlSeconds?: number,
  ) {}

  /**
   * Runs one SDK request. A ConditionalCheckFailedException passes through untouched when the
   * caller set a condition (it is an answer, not a failure); every other error becomes a StoreError
   * whose cause is the SDK's error, keeping its $metadata (request id, HTTP status).
   */
  async call<T>(operation: string, request: string, conditional: boolean, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      if (conditional && isConditionFailure(err)) throw err;
      throw new StoreError(`${operation} ${request} on table ${this.tableName} at ${await endpointOf(this.client)}`, { cause: err });
    }
  }

  async getItem(operation: string, key: Key): Promise<Item | undefined> {
    const out = await this.call(operation, 'GetItem', false, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    recordIo(1, 0, out.Item ? itemBytes(out.Item) : 0);
    return out.Item;
  }

  /** BatchGetItem of any number of keys (consistent unless told); retries unprocessed keys, backing off when none were served. */
  async batchGet(operation: string, keys: Key[], options: { projection?: string; consistent?: boolean } = {}): Promise<Map<string, Item>> {
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

  /** BatchWriteItem deletes of any number of keys, 25 a request; retries unprocessed ones, backing off when none were served. */
  async batchDelete(operation: string, keys: Key[]): Promise<void> {
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

  withTtl(item: Item): Item {
    if (this.ttlSeconds !== undefined) item.expiresAt = n(this.expiresAt());
    return item;
  }

  expiresAt(): number {
    return Math.floor(Date.now() / 1000) + (this.ttlSeconds ?? 0);
  }
}
