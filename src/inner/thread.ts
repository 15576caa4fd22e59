import { parentPort, workerData } from 'node:worker_threads';
import { algorithmByName } from '../algorithms/index.js';
import { adoptModule, registerBuffer, wasmContextOf, type SharedMemory, type WasmBuild } from '../kernels/backend.js';
import type { FromThread, ToThread } from './messages.js';

/*
 * An inner worker: holds typed views onto shard buffers it shares with its siblings and computes
 * partials over the row ranges it is given. It knows algorithms, never I/O.
 */

const port = parentPort;
if (!port) throw new Error('thread.ts must run in a worker thread');

/** The pool's shared WebAssembly memory and compiled kernels, when its kernels are WebAssembly ones. */
const { memory, kernels } = (workerData ?? {}) as { memory?: SharedMemory; kernels?: { module: object; build: WasmBuild } };
if (kernels) adoptModule(kernels);

const shards = new Map<string, { features: Float32Array; labels?: Float32Array; dims: number }>();

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'shard': {
      const { buffer, byteOffset, rows, dims } = message;
      const features = new Float32Array(buffer, byteOffset, rows * dims);
      const labels = message.hasLabels ? new Float32Array(buffer, byteOffset + rows * dims * 4, rows) : undefined;
      // Views over this buffer now take the WebAssembly kernels, reading the rows where they are.
      // Should this thread fail to instantiate the module, it computes with the TypeScript loops instead.
      if (message.inArena && memory) {
        try {
          registerBuffer(buffer, memory);
        } catch {
          // Reported per round: the pool's partial() says 'js'.
        }
      }
      shards.set(message.key, { features, labels, dims });
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
        algorithm.partial(message.shape, message.model, { ...shard, start: message.start, end: message.end, shard: message.shard, thread: message.thread }, partial);
        const kernels = wasmContextOf(shard.features.buffer) ? 'wasm' : 'js';
        const reply: FromThread = { type: 'result', id: message.id, partial, ms: performance.now() - started, kernels };
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
