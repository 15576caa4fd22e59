import { parentPort } from 'node:worker_threads';
import { algorithmByName } from '../algorithms/index.js';
import { shardViews } from '../data/types.js';
import type { FromThread, ToThread } from './messages.js';

/*
 * An inner worker: holds typed views onto shard buffers it shares with its siblings and computes
 * partials over the row ranges it is given. It knows algorithms, never I/O.
 */

const port = parentPort;
if (!port) throw new Error('thread.ts must run in a worker thread');

const shards = new Map<string, { features: Float32Array; labels?: Float32Array; dims: number }>();

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'shard': {
      const views = shardViews(message.buffer, message.rows, message.dims, message.hasLabels);
      shards.set(message.key, { ...views, dims: message.dims });
      return;
    }
    case 'drop':
      shards.delete(message.key);
      return;
    case 'compute': {
      try {
        const shard = shards.get(message.key);
        if (!shard) throw new Error(`shard ${message.key} was not sent to this thread`);
        const algorithm = algorithmByName(message.shape.algorithm);
        const started = performance.now();
        const partial = new Float64Array(algorithm.partialLength(message.shape));
        algorithm.partial(message.shape, message.model, { ...shard, start: message.start, end: message.end }, partial);
        const reply: FromThread = { type: 'result', id: message.id, partial, ms: performance.now() - started };
        port.postMessage(reply, [partial.buffer]);
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        const reply: FromThread = { type: 'error', id: message.id, message: err.message, stack: err.stack };
        port.postMessage(reply);
      }
      return;
    }
  }
});

// Tells the pool this thread has loaded its code, so a cold start is not billed to compute.
port.postMessage({ type: 'ready' } satisfies FromThread);
