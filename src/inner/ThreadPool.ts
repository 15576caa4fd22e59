import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { algorithmByName } from '../algorithms/index.js';
import type { Shape } from '../algorithms/types.js';
import { BspmlError } from '../errors.js';
import type { CsvBlockParser, CsvBlockRequest, CsvBlockResult } from '../data/formats/csv-blocks.js';
import type { ShardReservation } from '../data/rows.js';
import { piecesOf, rangesOf, summarizeShard, type RangeSummary, type Summary } from '../data/summary.js';
import type { ShardData } from '../data/types.js';
import { compiledModule, registerBuffer, SharedArena, type KernelKind } from '../kernels/backend.js';
import type { ModelResult } from '../domain/results.js';
import type { ComputeMessage, FromThread, ParseMessage, ShardMessage, StageMessage, SummarizeMessage, UnstageMessage } from './messages.js';
import { abortThreadSum, resetThreadSum, SIBLING_FAILED, threadSumBuffer } from './threadSum.js';

/**
 * Bytes that crossed between the worker and its threads per call: to the threads, the model values
 * written into the round's shared buffer (once, whatever the thread count); back, the partials.
 */
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

/** A model's buffer shared with the threads, the ranges last written to it, and whether a call is using it. */
interface SharedModel {
  values: Float64Array;
  ranges: [number, number][];
  busy: boolean;
}

/** The buffer a call's threads sum across (threadSum.ts), kept for the next call as the model's is. */
interface SharedSum {
  buffer: SharedArrayBuffer;
  participants: number;
  capacity: number;
  busy: boolean;
}

interface Pending {
  resolve: (value: { partial: Float64Array; ms: number; kernels: KernelKind }) => void;
  reject: (error: Error) => void;
}

/**
 * The inner workers of one worker container: `size` threads that share each shard's buffer and
 * split its rows. It lives as long as the container, so threads and shards survive across rounds.
 */
export class ThreadPool implements CsvBlockParser {
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
  /** The buffer the last partial() sent its model in, kept for the next (modelBuffer). */
  private sharedModel: SharedModel | undefined;
  private sharedSum: SharedSum | undefined;
  /**
   * Bytes of shard rows copied into the shared WebAssembly memory: once per shard load, never per
   * round (rounds move only models and partials, counted in `traffic`).
   */
  placedBytes = 0;
  /** Where the threads' WebAssembly instances read shards; undefined when the kernels are TypeScript. */
  private readonly arena: SharedArena | undefined;
  private readonly regions = new Map<string, { offset: number; bytes: number }[]>();
  /** Rooms reserved in the arena for shards being loaded, by where their features start. */
  private readonly reservations = new Map<number, { buffer: ArrayBufferLike; region: { offset: number; bytes: number }; labelOffset: number }>();
  private readonly parsing = new Map<number, { resolve: (result: CsvBlockResult) => void; reject: (error: Error) => void; thread: number }>();
  private readonly summarizing = new Map<number, { resolve: (summary: RangeSummary) => void; reject: (error: Error) => void }>();
  /** Blocks in flight per thread, to send the next to the least busy. */
  private readonly busy: number[];

  constructor(size: number = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1) throw new ThreadError(`thread count must be a positive integer, got ${size}`);
    this.size = size;
    this.busy = new Array<number>(size).fill(0);
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
      const parse = this.parsing.get(message.id);
      if (parse) {
        this.parsing.delete(message.id);
        this.busy[parse.thread]!--;
        if (message.type === 'parsed') parse.resolve(message.result);
        else if (message.type === 'error') parse.reject(new ThreadError(`inner worker failed to parse: ${message.message}`));
        return;
      }
      const summarizing = this.summarizing.get(message.id);
      if (summarizing) {
        this.summarizing.delete(message.id);
        if (message.type === 'summary') summarizing.resolve(message.summary);
        else if (message.type === 'error') summarizing.reject(new ThreadError(`inner worker failed to summarise: ${message.message}`));
        return;
      }
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'result') waiter.resolve({ partial: message.partial, ms: message.ms, kernels: message.kernels });
      else if (message.type === 'error') waiter.reject(new ThreadError(`inner worker failed: ${message.message}`));
    });
    const fail = (error: Error) => {
      if (this.closed) return;
      this.failure ??= new ThreadError(`inner worker died: ${error.message}`, { cause: error });
      this.readyWaiters[index]!.reject(this.failure);
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
      for (const waiter of this.parsing.values()) waiter.reject(this.failure);
      this.parsing.clear();
      for (const waiter of this.summarizing.values()) waiter.reject(this.failure);
      this.summarizing.clear();
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
    const placed = this.adopt(key, shard) ?? this.place(key, shard);
    const message: ShardMessage = {
      type: 'shard',
      key,
      buffer: placed.buffer,
      byteOffset: placed.features.byteOffset,
      labelOffset: placed.labels?.byteOffset ?? 0,
      inArena: placed !== shard || this.regions.has(key),
      rows: shard.rows,
      dims: shard.dims,
      hasLabels: shard.labels !== undefined,
    };
    for (const thread of this.threads) thread.postMessage(message);
    this.loaded.add(key);
    return placed;
  }

  /**
   * Room in the arena for a shard about to be loaded (`featureValues` and `labelValues` at most),
   * or undefined (TypeScript kernels, or more than the memory can hold). Only the pages the rows
   * are written to are committed; `addShard` gives back the rest.
   */
  reserveShard(featureValues: number, labelValues: number): ShardReservation | undefined {
    const arena = this.arena;
    if (!arena) return undefined;
    const featureBytes = Math.ceil(featureValues / 4) * 16;
    const region = arena.allocate(featureBytes + labelValues * 4);
    if (!region) return undefined;
    const buffer = arena.memory.buffer;
    const labelOffset = region.offset + featureBytes;
    this.reservations.set(region.offset, { buffer, region, labelOffset });
    return {
      features: new Float32Array(buffer, region.offset, featureValues),
      ...(labelValues > 0 ? { labels: new Float32Array(buffer, labelOffset, labelValues) } : {}),
      release: () => {
        if (this.reservations.get(region.offset)?.region !== region) return;
        this.reservations.delete(region.offset);
        arena.release(region);
      },
    };
  }

  /**
   * A shard loaded into a reservation: already in the arena. Its regions shrink to its rows (with
   * the 16 bytes of slack SIMD loads need); the rest, never written, goes back to the arena.
   */
  private adopt(key: string, shard: ShardData): ShardData | undefined {
    const reserved = this.reservations.get(shard.features.byteOffset);
    if (!reserved || reserved.buffer !== shard.features.buffer) return undefined;
    this.reservations.delete(shard.features.byteOffset);
    const { region, labelOffset } = reserved;
    const kept = (offset: number, bytes: number) => ({ offset, bytes: Math.min(Math.ceil((bytes + 16) / 16) * 16, region.offset + region.bytes - offset) });
    const features = kept(region.offset, shard.features.byteLength);
    const regions = [features];
    if (shard.labels) regions.push(kept(labelOffset, shard.labels.byteLength));
    const end = region.offset + region.bytes;
    // The gaps: after the features up to the labels' room, and after the labels (or features) to the end.
    const gaps: { offset: number; bytes: number }[] = [];
    const labelsRoom = shard.labels ? regions[1]! : undefined;
    const featureEnd = features.offset + features.bytes;
    if (labelsRoom) {
      if (labelsRoom.offset > featureEnd) gaps.push({ offset: featureEnd, bytes: labelsRoom.offset - featureEnd });
      const labelEnd = labelsRoom.offset + labelsRoom.bytes;
      if (end > labelEnd) gaps.push({ offset: labelEnd, bytes: end - labelEnd });
    } else if (end > featureEnd) gaps.push({ offset: featureEnd, bytes: end - featureEnd });
    for (const gap of gaps) this.arena!.release(gap);
    this.regions.set(key, regions);
    registerBuffer(shard.features.buffer as SharedArrayBuffer, this.arena!.memory);
    return shard;
  }

  /** Sends a block of CSV lines to the least busy thread (CsvBlockParser). */
  get concurrency(): number {
    return 2 * this.size;
  }

  parseCsvBlock(request: CsvBlockRequest): Promise<CsvBlockResult> {
    if (this.failure) return Promise.reject(this.failure);
    let thread = 0;
    for (let t = 1; t < this.size; t++) if (this.busy[t]! < this.busy[thread]!) thread = t;
    const id = this.nextId++;
    const transfer: ArrayBuffer[] = [request.bytes.buffer as ArrayBuffer];
    if (request.out) {
      transfer.push(request.out.features.buffer as ArrayBuffer, request.out.positions.buffer as ArrayBuffer);
      if (request.out.labels) transfer.push(request.out.labels.buffer as ArrayBuffer);
    }
    return new Promise((resolve, reject) => {
      this.parsing.set(id, { resolve, reject, thread });
      this.busy[thread]!++;
      this.threads[thread]!.postMessage({ type: 'parse', id, request } satisfies ParseMessage, transfer);
    });
  }

  /**
   * A block parser whose threads predict each block's rows with `model` where they parse them and
   * hand back the predictions' text instead of the rows (src/inner/predictStage.ts): batch
   * predictions' loading (data/dataset.ts stageShard). `order`: where each of the model's features
   * is among a row's `dims` (file order). `close` lets the threads forget the model.
   */
  staged(model: ModelResult, order: readonly number[], dims: number): CsvBlockParser & { close(): void } {
    const key = `predict-${this.nextId++}`;
    const message: StageMessage = { type: 'stage', key, model, order: [...order], dims };
    for (const thread of this.threads) thread.postMessage(message);
    return {
      concurrency: this.concurrency,
      // A staged block's rows stay in its thread: no row buffers go there.
      parseCsvBlock: ({ out: _rows, ...request }) => this.parseCsvBlock({ ...request, stage: key }),
      close: () => {
        if (this.closed) return;
        for (const thread of this.threads) thread.postMessage({ type: 'unstage', key } satisfies UnstageMessage);
      },
    };
  }

  /**
   * The preparation round's summary of a loaded shard, its rows split into ranges of whole
   * statistics blocks, one per thread, merged in row order: the same summary as summarizeShard's
   * on one thread. Row positions travel as shared memory when they are (loadShard's are).
   */
  async summarize(key: string, shard: ShardData, options: { shard: number; seed: number; sampleSize: number }): Promise<Summary> {
    if (this.failure) throw this.failure;
    if (!this.loaded.has(key)) throw new ThreadError(`shard ${key} is not loaded in this pool`);
    const pieces = piecesOf(shard);
    const ranges = rangesOf(shard.rows, this.size);
    const summaries = await Promise.all(
      ranges.map(
        ({ start, end }, t) =>
          new Promise<RangeSummary>((resolve, reject) => {
            const id = this.nextId++;
            this.summarizing.set(id, { resolve, reject });
            const message: SummarizeMessage = { type: 'summarize', id, key, start, end, seed: options.seed, sampleSize: options.sampleSize, first: shard.first ?? 0, pieces, ...(shard.positions ? { positions: shard.positions } : {}) };
            this.threads[t]!.postMessage(message);
          }),
      ),
    );
    return summarizeShard(shard, options, summaries);
  }

  private place(key: string, shard: ShardData): ShardData {
    // A shard the memory cannot hold (wasm32 stops at 4 GiB) stays where it is, on the TypeScript loops.
    const placed = this.arena?.place(shard.features, shard.labels);
    if (!placed) return shard;
    this.regions.set(key, [placed.region]);
    this.placedBytes += placed.features.byteLength + (placed.labels?.byteLength ?? 0);
    return { ...shard, buffer: placed.features.buffer as SharedArrayBuffer, features: placed.features, labels: placed.labels };
  }

  dropShard(key: string): void {
    for (const thread of this.threads) thread.postMessage({ type: 'drop', key });
    this.loaded.delete(key);
    const regions = this.regions.get(key);
    if (regions) {
      this.regions.delete(key);
      for (const region of regions) this.arena!.release(region);
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
    // The model reaches every thread through one shared buffer, written once per call: only the
    // ranges the partial reads (a solver's history stays here), never a copy per thread.
    const ranges = algorithm.threadRanges?.(shape, model) ?? [[0, model.length]];
    const shared = this.modelBuffer(model.length);
    for (const [from, to] of ranges) {
      shared.values.set(model.subarray(from, to), from);
      this.traffic.toThreads += (to - from) * 8;
    }
    shared.ranges = ranges;
    const partialLength = algorithm.partialLength(shape);
    const threads: number[] = [];
    for (let t = 0; t < this.size; t++) if (Math.floor(((t + 1) * rows) / this.size) > Math.floor((t * rows) / this.size)) threads.push(t);
    // Posted to every thread before any other call's messages: each thread takes the calls in the
    // same order, so threads waiting for each other at a sum always wait on the same call.
    const sumLength = threads.length > 1 ? (algorithm.threadSumLength?.(shape, model) ?? 0) : 0;
    const sum = sumLength > 0 ? this.sumBuffer(threads.length, sumLength) : undefined;
    const jobs = threads.map((t, index) => {
      const start = Math.floor((t * rows) / this.size);
      const end = Math.floor(((t + 1) * rows) / this.size);
      const channel = sum ? { sum: { buffer: sum.buffer, participants: threads.length, index, capacity: sum.capacity } } : {};
      return this.send(this.threads[t]!, { type: 'compute', id: this.nextId++, key, shape, model: shared.values, start, end, shard, thread: t, ...channel });
    });
    let results;
    try {
      results = await Promise.all(jobs);
    } catch (first) {
      // A thread that failed may leave others still reading the buffers, or waiting at a sum (told
      // to give up): they are not used again.
      let error = first;
      if (sum) {
        abortThreadSum(sum.buffer);
        // The threads it releases fail too, naming their sibling, and may answer first: once all
        // have answered, report the failure that set them off.
        const failures = (await Promise.allSettled(jobs)).flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        error = failures.find((e) => !(e instanceof Error && e.message.endsWith(SIBLING_FAILED))) ?? first;
      }
      if (this.sharedModel === shared) this.sharedModel = undefined;
      if (sum && this.sharedSum === sum) this.sharedSum = undefined;
      throw error;
    }
    shared.busy = false;
    if (sum) sum.busy = false;
    const merged = new Float64Array(partialLength);
    for (const { partial } of results) {
      this.traffic.fromThreads += partial.byteLength;
      algorithm.merge(merged, partial);
    }
    // 'wasm' only when every thread ran the WebAssembly kernels.
    const kernels = results.every((r) => r.kernels === 'wasm') ? 'wasm' : 'js';
    return { partial: merged, computeMs: performance.now() - started, kernels };
  }

  /**
   * The shared buffer a call's model goes to the threads in: the one the last call used, once its
   * threads are done with it, its ranges zeroed again (what a fresh buffer holds outside the ranges
   * written); a fresh one while another call holds it or for another length. A multinomial L-BFGS
   * model is 2.8 MB for 784 columns, of which the threads read 63 KB: allocating it each round cost
   * the worker's garbage collector more than the copy.
   */
  private modelBuffer(length: number): SharedModel {
    const kept = this.sharedModel;
    if (kept && !kept.busy && kept.values.length === length) {
      for (const [from, to] of kept.ranges) kept.values.fill(0, from, to);
      kept.busy = true;
      return kept;
    }
    const fresh: SharedModel = { values: new Float64Array(new SharedArrayBuffer(length * 8)), ranges: [], busy: true };
    if (!kept?.busy) this.sharedModel = fresh;
    return fresh;
  }

  /** The buffer a call's sums across threads meet in: the last call's when free and the same size, else a fresh one. */
  private sumBuffer(participants: number, capacity: number): SharedSum {
    const kept = this.sharedSum;
    if (kept && !kept.busy && kept.participants === participants && kept.capacity >= capacity) {
      resetThreadSum(kept.buffer);
      kept.busy = true;
      return kept;
    }
    const fresh: SharedSum = { buffer: threadSumBuffer(participants, capacity), participants, capacity, busy: true };
    if (!kept?.busy) this.sharedSum = fresh;
    return fresh;
  }

  private send(thread: Worker, message: ComputeMessage): Promise<{ partial: Float64Array; ms: number; kernels: KernelKind }> {
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      thread.postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.terminate()));
    const error = new ThreadError('thread pool closed');
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    for (const waiter of this.parsing.values()) waiter.reject(error);
    this.parsing.clear();
    for (const waiter of this.summarizing.values()) waiter.reject(error);
    this.summarizing.clear();
  }
}
