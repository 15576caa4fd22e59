import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { algorithmByName } from '../algorithms/index.js';
import type { Shape } from '../algorithms/types.js';
import { BspmlError } from '../errors.js';
import type { ShardData } from '../data/types.js';
import { compiledModule, SharedArena, type KernelKind } from '../kernels/backend.js';
import type { ComputeMessage, FromThread, ShardMessage } from './messages.js';

/** Bytes that crossed between the worker and its threads (structured clones, not shared memory). */
export interface ThreadTraffic {
  toThreads: number;
  fromThreads: number;
}

export class ThreadError extends BspmlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_THREAD', message, options);
  }
}

// Built, a thread runs the compiled thread.js beside this file. Run from TypeScript sources (tests,
// tsx), it must load thread.ts through tsx's loader, which Node 20 does not pass to worker threads
// by itself: a one-line bootstrap registers it inside the thread first.
const fromSource = import.meta.url.endsWith('.ts');

function resolveTsxApi(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    // Some test runners do not provide import.meta.resolve: take require's answer for the ESM file.
    const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
    return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
  }
}

function threadEntry(): URL {
  // A bundled Lambda has no thread.js beside its handler bundle: the deployment ships a separately
  // bundled thread entry and names it here (a path, relative to the working directory, or a URL).
  const override = process.env.BSPML_THREAD_ENTRY;
  if (override) return /^(file|data):/.test(override) ? new URL(override) : pathToFileURL(resolve(override));
  if (!fromSource) return new URL('./thread.js', import.meta.url);
  const tsx = resolveTsxApi();
  const source = new URL('./thread.ts', import.meta.url).href;
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(source)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

interface Pending {
  resolve: (value: { partial: Float64Array; ms: number; kernels: KernelKind }) => void;
  reject: (error: Error) => void;
}

/**
 * The inner workers of one worker container: `size` threads that share each shard's buffer and
 * split its rows. It lives as long as the container, so threads and shards survive across rounds.
 */
export class ThreadPool {
  readonly size: number;
  private readonly threads: Worker[];
  /** Resolves when every thread has loaded its code; rejects if one dies first. */
  readonly ready: Promise<void>;
  private readonly readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly loaded = new Set<string>();
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;
  readonly traffic: ThreadTraffic = { toThreads: 0, fromThreads: 0 };
  /**
   * Bytes of shard rows copied into the shared WebAssembly memory: once per shard load, never per
   * round (rounds move only models and partials, counted in `traffic`).
   */
  placedBytes = 0;
  /** Where the threads' WebAssembly instances read shards; undefined when the kernels are TypeScript. */
  private readonly arena: SharedArena | undefined;
  private readonly regions = new Map<string, { offset: number; bytes: number }>();

  constructor(size: number = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1) throw new ThreadError(`thread count must be a positive integer, got ${size}`);
    this.size = size;
    this.arena = SharedArena.create();
    const ready: Promise<void>[] = [];
    this.threads = Array.from({ length: size }, () => {
      ready.push(new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject })));
      return this.spawn(this.readyWaiters.length - 1);
    });
    this.ready = Promise.all(ready).then(() => undefined);
    // Nobody may await `ready` (a pool closed unused): keep its rejection from going unhandled.
    this.ready.catch(() => undefined);
  }

  private spawn(index: number): Worker {
    const worker = new Worker(threadEntry(), { workerData: { memory: this.arena?.memory, kernels: this.arena ? compiledModule() : undefined } });
    worker.on('message', (message: FromThread) => {
      if (message.type === 'ready') {
        this.readyWaiters[index]!.resolve();
        return;
      }
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'result') waiter.resolve({ partial: message.partial, ms: message.ms, kernels: message.kernels });
      else waiter.reject(new ThreadError(`inner worker failed: ${message.message}`));
    });
    const fail = (error: Error) => {
      if (this.closed) return;
      this.failure ??= new ThreadError(`inner worker died: ${error.message}`, { cause: error });
      this.readyWaiters[index]!.reject(this.failure);
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    return worker;
  }

  /** True once a thread has died: the container holding this pool should be replaced. */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  hasShard(key: string): boolean {
    return this.loaded.has(key);
  }

  /**
   * Hands the shard to every thread, which then read its rows in place, never copying them per round.
   * With the WebAssembly kernels the rows are first copied, once, into the pool's shared WebAssembly
   * memory (a WebAssembly instance can only read its own memory); the returned shard views them
   * there, so a caller that keeps it instead of `shard` holds the rows only once.
   */
  addShard(key: string, shard: ShardData): ShardData {
    if (this.loaded.has(key)) this.dropShard(key);
    const placed = this.place(key, shard);
    const message: ShardMessage = {
      type: 'shard',
      key,
      buffer: placed.buffer,
      byteOffset: placed.features.byteOffset,
      inArena: placed !== shard,
      rows: shard.rows,
      dims: shard.dims,
      hasLabels: shard.labels !== undefined,
    };
    for (const thread of this.threads) thread.postMessage(message);
    this.loaded.add(key);
    return placed;
  }

  private place(key: string, shard: ShardData): ShardData {
    // A shard the memory cannot hold (wasm32 stops at 4 GiB) stays where it is, on the TypeScript loops.
    const placed = this.arena?.place(shard.features, shard.labels);
    if (!placed) return shard;
    this.regions.set(key, placed.region);
    this.placedBytes += placed.features.byteLength + (placed.labels?.byteLength ?? 0);
    return { ...shard, buffer: placed.features.buffer as SharedArrayBuffer, features: placed.features, labels: placed.labels };
  }

  dropShard(key: string): void {
    for (const thread of this.threads) thread.postMessage({ type: 'drop', key });
    this.loaded.delete(key);
    const region = this.regions.get(key);
    if (region) {
      this.regions.delete(key);
      this.arena!.release(region);
    }
  }

  /** Which kernels this pool's threads run. */
  get kernels(): KernelKind {
    return this.arena ? 'wasm' : 'js';
  }

  /**
   * The partial of the whole shard: rows split into `size` contiguous ranges, one per thread,
   * merged in thread order so the result does not depend on which thread finishes first. `shard`
   * (the shard's index in its job) and each thread's index reach the algorithm with the rows.
   */
  async partial(
    key: string,
    rows: number,
    shape: Shape,
    model: Float64Array,
    shard = 0,
  ): Promise<{ partial: Float64Array; computeMs: number; kernels: KernelKind }> {
    if (this.failure) throw this.failure;
    if (!this.loaded.has(key)) throw new ThreadError(`shard ${key} is not loaded in this pool`);
    const algorithm = algorithmByName(shape.algorithm);
    const started = performance.now();
    const jobs: Promise<{ partial: Float64Array; ms: number; kernels: KernelKind }>[] = [];
    for (let t = 0; t < this.size; t++) {
      const start = Math.floor((t * rows) / this.size);
      const end = Math.floor(((t + 1) * rows) / this.size);
      if (end > start) jobs.push(this.send(this.threads[t]!, { type: 'compute', id: this.nextId++, key, shape, model, start, end, shard, thread: t }));
    }
    const results = await Promise.all(jobs);
    const merged = new Float64Array(algorithm.partialLength(shape));
    for (const { partial } of results) {
      this.traffic.fromThreads += partial.byteLength;
      algorithm.merge(merged, partial);
    }
    // 'wasm' only when every thread ran the WebAssembly kernels.
    const kernels = results.every((r) => r.kernels === 'wasm') ? 'wasm' : 'js';
    return { partial: merged, computeMs: performance.now() - started, kernels };
  }

  private send(thread: Worker, message: ComputeMessage): Promise<{ partial: Float64Array; ms: number; kernels: KernelKind }> {
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.traffic.toThreads += message.model.byteLength;
      thread.postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.terminate()));
    const error = new ThreadError('thread pool closed');
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
