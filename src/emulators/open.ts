import type { StateStore } from '../ports/StateStore.js';
import { MemoryStore } from '../stores/MemoryStore.js';

export const BACKENDS = ['memory', 'dynamodb', 'redis', 's3'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface OpenStoreOptions {
  /**
   * dynamodb: a DynamoDB endpoint URL; s3: an S3 endpoint URL. Absent: an in-process emulator
   * (dynalite, s3rver) is started and stopped on close.
   */
  endpoint?: string;
  table?: string;
  /** redis: redis://host:port (rediss:// for TLS); absent: a throwaway redis-server is started and stopped on close. */
  redisUrl?: string;
  /** s3: the bucket (default bspml-state) and an optional key prefix. */
  bucket?: string;
  prefix?: string;
}

/** The state store a local run uses. AWS SDK and ioredis code is loaded only when a backend needs it. */
export async function openStore(backend: Backend, options: OpenStoreOptions = {}): Promise<StateStore> {
  switch (backend) {
    case 'memory':
      return new MemoryStore();
    case 'dynamodb': {
      const { openDynamoDbStore } = await import('./dynalite.js');
      return openDynamoDbStore({ endpoint: options.endpoint, tableName: options.table });
    }
    case 'redis': {
      const { openRedisStore } = await import('./redis.js');
      return openRedisStore({ url: options.redisUrl });
    }
    case 's3': {
      const { openS3Store } = await import('./s3-local.js');
      return openS3Store({ endpoint: options.endpoint, bucket: options.bucket, prefix: options.prefix });
    }
  }
}
