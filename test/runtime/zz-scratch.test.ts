import { it, expect } from 'vitest';
import { LocalRuntime } from '../../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { MemoryDatasetSource } from '../../src/data/MemoryDatasetSource.js';
import { blobs } from '../helpers/data.js';
it('drop forever', async () => {
  const ds = new MemoryDatasetSource().add('b', blobs([[0,0],[10,10],[-10,10],[10,-10]], 100, 1, 7));
  const calls: any[] = [];
  const store = new MemoryStore();
  const rt = new LocalRuntime({ store, datasets: ds, defaultThreads: 1, delivery: { drop: (ch, m: any, copy) => { calls.push([ch, m.round, m.shard, copy]); return ch === 'worker' && m.shard === 1; } } });
  const p = rt.train({ algorithm: 'kmeans', k: 4, workers: 3, threads: 1, data: { uri: 'b' } }, { jobId: 'j' });
  const r = await Promise.race([p.then(() => 'ok', (e) => e), new Promise((res) => setTimeout(() => res('timeout'), 4000))]);
  console.log(r, calls, await store.getJob('j'));
  await rt.close();
}, 30000);
