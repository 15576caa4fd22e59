import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { stateStoreContract } from './contract.js';

stateStoreContract('memory', async () => new MemoryStore());
