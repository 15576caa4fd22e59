import { parentPort, workerData } from 'node:worker_threads';
import { algorithmByName } from '../algorithms/index.js';
import { parseCsvBlock } from '../data/formats/csv-blocks.js';
import { summarizeRange } from '../data/summary.js';
import { columnStats } from '../kernels/columnStats.js';
import { adoptModule, registerBuffer, wasmContextOf, type SharedMemory, type WasmBuild } from '../kernels/backend.js';
import type { FromThread, ToThread } from './messages.js';
import { predictBlock, predictStage, type PredictStage } from './predictStage.js';
import { abortThreadSum, threadSummer } from './threadSum.js';

/*
 * An inner worker: parses the blocks of CSV its worker reads (loading a shard), holds typed views
 * onto shard buffers it shares with its siblings and computes partials over the row ranges it is
 * given. It knows formats and algorithms, never I/O.
 */

const port = parentPort;
if (!port) throw new Error('thread.ts must run in a worker thread');

/** The pool's shared WebAssembly memory and compiled kernels, when its kernels are WebAssembly ones. */
const { memory, kernels } = (workerData ?? {}) as { memory?: SharedMemory; kernels?: { module: object; build: WasmBuild } };
if (kernels) adoptModule(kernels);

/** A request this thread could not serve: the pool rejects its promise with the message. */
function replyError(id: number, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  port!.postMessage({ type: 'error', id, message: err.message, stack: err.stack } satisfies FromThread);
}

const shards = new Map<string, { features: Float32Array; labels?: Float32Array; dims: number }>();
const stages = new Map<string, PredictStage | Error>();

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'shard': {
      const { buffer, byteOffset, rows, dims } = message;
      const features = new Float32Array(buffer, byteOffset, rows * dims);
      const labels = message.hasLabels ? new Float32Array(buffer, message.labelOffset, rows) : undefined;
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
    case 'summarize': {
      try {
        const shard = shards.get(message.key);
        if (!shard) throw new Error(`shard ${message.key} was not sent to this thread`);
        const { start, end, positions, first, pieces } = message;
        const summary = summarizeRange({ ...shard, ...(positions ? { positions } : {}), first, pieces, start, end }, message.seed, message.sampleSize, columnStats);
        port.postMessage({ type: 'summary', id: message.id, summary } satisfies FromThread);
      } catch (error) {
        replyError(message.id, error);
      }
      return;
    }
    case 'stage':
      try {
        stages.set(message.key, predictStage(message.model, message.order, message.dims));
      } catch (error) {
        // Told with each block that names it.
        stages.set(message.key, error instanceof Error ? error : new Error(String(error)));
      }
      return;
    case 'unstage':
      stages.delete(message.key);
      return;
    case 'parse': {
      try {
        const { stage: key } = message.request;
        const stage = key === undefined ? undefined : stages.get(key);
        if (key !== undefined && !stage) throw new Error(`no model to predict with under ${key}`);
        if (stage instanceof Error) throw stage;
        const result = stage ? predictBlock(stage, message.request) : parseCsvBlock(message.request);
        const { out } = result;
        const transfer: ArrayBuffer[] = [result.bytes.buffer as ArrayBuffer];
        // A staged block's rows stay here (its `out` is empty); only its text travels.
        if (result.text) transfer.push(result.text.buffer as ArrayBuffer);
        else transfer.push(out.features.buffer as ArrayBuffer, out.positions.buffer as ArrayBuffer);
        if (out.labels) transfer.push(out.labels.buffer as ArrayBuffer);
        port.postMessage({ type: 'parsed', id: message.id, result } satisfies FromThread, transfer);
      } catch (error) {
        replyError(message.id, error);
      }
      return;
    }
    case 'compute': {
      try {
        const shard = shards.get(message.key);
        if (!shard) throw new Error(`shard ${message.key} was not sent to this thread`);
        const algorithm = algorithmByName(message.shape.algorithm);
        const started = performance.now();
        const partial = new Float64Array(algorithm.partialLength(message.shape));
        const sum = message.sum ? { sumAcrossThreads: threadSummer(message.sum) } : {};
        algorithm.partial(message.shape, message.model, { ...shard, start: message.start, end: message.end, shard: message.shard, thread: message.thread, ...sum }, partial);
        const kernels = wasmContextOf(shard.features.buffer) ? 'wasm' : 'js';
        const reply: FromThread = { type: 'result', id: message.id, partial, ms: performance.now() - started, kernels };
        port.postMessage(reply, [partial.buffer]);
      } catch (error) {
        // Siblings waiting for this thread at a sum would wait for nothing: release them.
        if (message.sum) abortThreadSum(message.sum.buffer);
        replyError(message.id, error);
      }
      return;
    }
  }
});

// Tells the pool this thread has loaded its code, so a cold start is not billed to compute.
port.postMessage({ type: 'ready' } satisfies FromThread);
