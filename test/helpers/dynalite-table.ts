import { afterAll, beforeAll } from 'vitest';
import { DynamoDbStore } from '../../src/stores/DynamoDbStore.js';
import { createStateTable } from '../../src/stores/dynamodb/createTable.js';
import { createDynamoDbClient } from '../../src/aws/dynamodb.js';
import { startDynalite } from '../../src/emulators/dynalite.js';

/**
 * One dynalite with a state table `table` for a test file: started before its tests, stopped
 * after. `endpoint()` is valid inside tests; `open()` gives a store on the table that owns its client.
 */
export function useDynaliteTable(table: string) {
  let dynamo: Awaited<ReturnType<typeof startDynalite>> | undefined;
  beforeAll(async () => {
    dynamo = await startDynalite();
    const client = createDynamoDbClient({ endpoint: dynamo.endpoint });
    try {
      await createStateTable(client, table);
    } finally {
      client.destroy();
    }
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  const endpoint = (): string => {
    if (!dynamo) throw new Error('dynalite is not running (use endpoint() inside tests)');
    return dynamo.endpoint;
  };
  const open = (options: { tableName?: string; ttlSeconds?: number } = {}): DynamoDbStore =>
    new DynamoDbStore({ client: createDynamoDbClient({ endpoint: endpoint() }), tableName: options.tableName ?? table, ownsClient: true, ttlSeconds: options.ttlSeconds });
  return { endpoint, open };
}
