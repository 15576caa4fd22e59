import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StoreError } from '../../errors.js';
import { sleep } from '../../util/async.js';
import { endpointOf } from '../../util/clients.js';
import { errorName, JOB_INDEXES } from './layout.js';

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
