import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClientTimeouts } from '../util/clients.js';

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

function isLoopback(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
