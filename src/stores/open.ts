import type { StateStore } from '../ports/StateStore.js';
import { MemoryStore } from './MemoryStore.js';

export const BACKENDS = ['memory', 'dynamodb'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface OpenStoreOptions {
  /** A DynamoDB endpoint URL; absent: an in-process dynalite is started (and stopped on close). */
  endpoint?: string;
  table?: string;
}

/** The state store a local run uses. AWS SDK code is loaded only when a backend needs it. */
export async function openStore(backend: Backend, options: OpenStoreOptions = {}): Promise<StateStore> {
  switch (backend) {
    case 'memory':
      return new MemoryStore();
    case 'dynamodb': {
      const { openDynamoDbStore } = await import('./dynalite.js');
      return openDynamoDbStore({ endpoint: options.endpoint, tableName: options.table });
    }
  }
}
