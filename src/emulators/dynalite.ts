import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { createDynamoDbClient } from '../aws/dynamodb.js';
import { DynamoDbStore } from '../stores/DynamoDbStore.js';
import { createStateTable } from '../stores/dynamodb/createTable.js';

export const DEFAULT_TABLE_NAME = 'bspml-state';

/** Starts an in-process DynamoDB emulator on a free loopback port (tables in memory, created at once). */
export async function startDynalite(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        // Keep-alive sockets of clients that were not destroyed would hold close() open.
        server.closeIdleConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      })),
  };
}


/**
 * Opens the DynamoDB state store. Without an endpoint it starts dynalite in this process and the
 * store's close() stops it; with one it connects there. Either way the table is created if missing.
 */
export async function openDynamoDbStore(
  opts: { endpoint?: string; tableName?: string; region?: string; ttlSeconds?: number } = {},
): Promise<DynamoDbStore> {
  const tableName = opts.tableName ?? DEFAULT_TABLE_NAME;
  const server = opts.endpoint === undefined ? await startDynalite() : undefined;
  const client = createDynamoDbClient({ endpoint: server?.endpoint ?? opts.endpoint, region: opts.region });
  try {
    await createStateTable(client, tableName);
  } catch (err) {
    client.destroy();
    await server?.close();
    throw err;
  }
  return new DynamoDbStore({ client, tableName, ownsClient: true, ttlSeconds: opts.ttlSeconds, onClose: server?.close });
}
