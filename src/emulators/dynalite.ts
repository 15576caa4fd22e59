import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { awsClientTimeouts } from '../util/clients.js';
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
 * A DynamoDB client for `endpoint` (AWS itself when absent). A loopback endpoint is an emulator,
 * which ignores credentials, so dummy ones stand in when none are configured: a developer without
 * an AWS account can still run against it.
 */
export function createDynamoDbClient(opts: { endpoint?: string; region?: string } = {}): DynamoDBClient {
  // The SDK warns on every run that Node 20 support will end; the versions pinned here support it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const local = opts.endpoint !== undefined && isLoopback(opts.endpoint);
  const configured = process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined;
  const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (local ? 'us-east-1' : undefined);
  return new DynamoDBClient({
    ...awsClientTimeouts(),
    endpoint: opts.endpoint,
    region,
    // Adaptive: the SDK's client-side rate limiter slows this client down after throttling responses
    // (ProvisionedThroughputExceeded, ThrottlingException) instead of retrying at full speed.
    retryMode: 'adaptive',
    credentials: local && !configured ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
  });
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

function isLoopback(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
