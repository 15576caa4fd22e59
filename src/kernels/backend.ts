import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * Which kernels run, and the WebAssembly side of them: the compiled module (built by `npm run
 * build:wasm` from wasm/kernels.ts, the entry that re-exports each kernel family's file), shared
 * memories the inner threads read shards from in place, and per-thread scratch inside those memories
 * for centroids, weights and accumulators.
 *
 * A typed array whose buffer was registered here (a view of a shared WebAssembly.Memory) goes to
 * the WebAssembly kernels; any other goes to the plain TypeScript loops, which give the same results
 * to rounding. BSPML_KERNELS=js forces the TypeScript loops everywhere.
 */

/** The slice of the WebAssembly API used here (the project's lib settings do not declare it). */
export interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => SharedMemory;
  Module: { new (bytes: Uint8Array): object; exports(module: object): { name: string }[] };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

export interface WasmExports {
  heapBase(): number;
  kmeansAccumulate(
    x: number, dims: number, start: number, end: number,
    ct: number, cn: number, c64: number, k: number, kp: number, cmax2: number,
    sums: number, counts: number,
  ): number;
  logregAccumulate(x: number, y: number, dims: number, start: number, end: number, w: number, grad: number, out: number, tmp: number): void;
  /** Most rows per batch of logregAccumulate, which needs 16 bytes of `tmp` per row. */
  LOGREG_BATCH: { value: number };
  logregMargins(x: number, dims: number, start: number, end: number, w: number, out: number): void;
  hessianAccumulate(x: number, dims: number, start: number, end: number, s: number, mean: number, invStd: number, h: number, tmp: number): void;
  /** Rows per block of hessianAccumulate, whose `tmp` holds HESSIAN_BLOCK·(dims + 2) float64. */
  HESSIAN_BLOCK: { value: number };
  softmaxAccumulate(
    x: number, y: number, dims: number, classes: number, start: number, end: number,
    w: number, dir: number, grad: number, tmp: number, backs: number, trials: number, trialLoss: number, out: number,
  ): void;
  /** Bytes of `tmp` the softmax kernels need (a block of rows in float64 and their logits). */
  softmaxScratchBytes(dims: number, classes: number): number;
  softmaxProbabilities(x: number, dims: number, classes: number, start: number, end: number, w: number, probs: number, tmp: number): void;
  softmaxHessianProduct(x: number, dims: number, classes: number, start: number, end: number, v: number, probs: number, out: number, tmp: number): void;
  /** Column sums, minima, maxima and M2 of rows [a, b) into out (COLUMN_STATS_FIELDS × dims float64). */
  columnStats(x: number, dims: number, a: number, b: number, out: number): void;
  COLUMN_STATS_FIELDS: { value: number };
  localSgdSteps(
    x: number, y: number, dims: number, order: number, count: number, batch: number, steps: number,
    theta: number, mean: number, invStd: number, w: number, grad: number, hinge: number, lr: number, lambda: number,
  ): void;
}

/**
 * Every export the kernels call, checked when the module is compiled: a kernels.wasm built before a
 * kernel was added (a checkout whose `npm run build:wasm` has not run since) is refused with the
 * reason, instead of failing mid-job with "… is not a function". The type makes the list complete.
 */
const EXPORTS: Record<keyof WasmExports, true> = {
  heapBase: true,
  kmeansAccumulate: true,
  logregAccumulate: true,
  LOGREG_BATCH: true,
  logregMargins: true,
  hessianAccumulate: true,
  HESSIAN_BLOCK: true,
  softmaxAccumulate: true,
  softmaxScratchBytes: true,
  softmaxProbabilities: true,
  softmaxHessianProduct: true,
  localSgdSteps: true,
  columnStats: true,
  COLUMN_STATS_FIELDS: true,
};

/** The kernels' exports a compiled module lacks (none for a module built from today's sources in wasm/). */
export function missingExports(module: object): string[] {
  const have = new Set((wasm?.Module.exports(module) ?? []).map((e) => e.name));
  return Object.keys(EXPORTS).filter((name) => !have.has(name));
}

export const PAGE = 65_536;
/** Pages a wasm32 memory may reach (4 GiB): shared memories must declare a maximum. */
const MAX_PAGES = 65_536;
/** Below this the module keeps its own constant tables; shards and scratch live above it. */
const RESERVED_PAGES = 1;

const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/**
 * The two builds of wasm/kernels.ts, made by `npm run build:wasm`: `relaxed` (kernels.wasm) uses
 * relaxed SIMD's fused multiply-add where the plain loops need not be matched bit for bit, and
 * `simd128` (kernels-simd128.wasm) is for runtimes without relaxed SIMD. Both give the plain loops'
 * k-means partials bit for bit and logistic-regression partials to rounding.
 */
export type WasmBuild = 'relaxed' | 'simd128';

/**
 * The relaxed build, beside this module (src/ or dist/); the simd128 build is beside it. A bundle
 * that moves the code elsewhere ships both files and names the first in BSPML_WASM_FILE; without
 * them the kernels are the TypeScript ones.
 */
export const WASM_FILE = process.env.BSPML_WASM_FILE ? pathToFileURL(resolve(process.env.BSPML_WASM_FILE)) : new URL('./wasm/kernels.wasm', import.meta.url);

function fileOf(build: WasmBuild): URL {
  return build === 'relaxed' ? WASM_FILE : new URL(WASM_FILE.href.replace(/\.wasm$/, '-simd128.wasm'));
}

let compiled: { module: object; build: WasmBuild } | { error: string } | undefined;
let eager = true;

/**
 * Compiles the kernels as V8 does by default (each function on its first call, baseline code tiered
 * up as it runs) instead of every function optimised at once, if they are not compiled yet: for a
 * process that only predicts (the predict function, `bspml predict`), whose cold start counts.
 */
export function compileLazily(): void {
  if (!compiled) eager = false;
}

function compile(): { module: object; build: WasmBuild } | { error: string } {
  if (compiled) return compiled;
  if (!wasm) return (compiled = { error: 'this runtime has no WebAssembly' });
  // BSPML_KERNELS=simd128 skips the relaxed build (to compare the two, or to rule it out).
  const builds: WasmBuild[] = process.env.BSPML_KERNELS === 'simd128' ? ['simd128'] : ['relaxed', 'simd128'];
  let error = '';
  for (const build of builds) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(fileOf(build));
    } catch {
      error ||= `${fileOf(build).pathname} is missing: run npm run build:wasm`;
      continue;
    }
    // Node 20's V8 has relaxed SIMD behind a flag (on by default from Node 22): a feature flag,
    // read when a module is validated or compiled, so turning it on here affects nothing else.
    if (build === 'relaxed' && !wasm.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
    // validate() is false where SIMD, relaxed SIMD or threads are not supported: the next build, or
    // the TypeScript loops, run instead.
    if (!wasm.validate(bytes)) {
      error = 'this runtime lacks WebAssembly SIMD or threads';
      continue;
    }
    // V8 would compile each function on its first call, as baseline (Liftoff) code tiered up only for
    // a later call: a cold container's first round, one long call per thread, would run at a fraction
    // of the speed. Compile optimised code for every function now; the module is small, and the flags
    // are restored so nothing else in the process is affected. Serving asks for V8's default instead
    // (compileLazily): the eager compile of every kernel took 110–135 ms under Node 24 at load 19,
    // a cold start's whole budget, where a request needs one kernel and many short calls tier it up.
    if (eager) {
      setFlagsFromString('--no-liftoff');
      setFlagsFromString('--no-wasm-lazy-compilation');
    }
    let module: object;
    try {
      module = new wasm.Module(bytes);
    } finally {
      if (eager) {
        setFlagsFromString('--liftoff');
        setFlagsFromString('--wasm-lazy-compilation');
      }
    }
    const missing = missingExports(module);
    if (missing.length) {
      error = `${fileOf(build).pathname} lacks ${missing.join(', ')}: it is older than the sources in src/kernels/wasm/; run npm run build:wasm`;
      continue;
    }
    return (compiled = { module, build });
  }
  return (compiled = { error });
}

/** The compiled module, to hand to worker threads (posting it shares the compiled code). */
export function compiledModule(): { module: object; build: WasmBuild } | undefined {
  const result = kernelInfo().kind === 'wasm' ? compile() : undefined;
  return result && 'module' in result ? result : undefined;
}

/** Uses a module compiled elsewhere (the pool's main thread) instead of compiling the file again. */
export function adoptModule(compiledElsewhere: { module: object; build: WasmBuild }): void {
  compiled ??= compiledElsewhere;
}

export type KernelKind = 'wasm' | 'js';

/** What the kernels will be for shards placed from now on: which WebAssembly build, or why not WebAssembly. */
export function kernelInfo(): { kind: 'wasm'; build: WasmBuild } | { kind: 'js'; reason: string } {
  if (process.env.BSPML_KERNELS === 'js') return { kind: 'js', reason: 'BSPML_KERNELS=js' };
  const result = compile();
  return 'error' in result ? { kind: 'js', reason: result.error } : { kind: 'wasm', build: result.build };
}

/** A WebAssembly instance over one shared memory, as seen from one thread. */
export interface WasmContext {
  memory: SharedMemory;
  exports: WasmExports;
  scratchPtr: number;
  scratchBytes: number;
}

const instances = new WeakMap<SharedMemory, WasmContext>();
const byBuffer = new WeakMap<ArrayBufferLike, WasmContext>();

/** This thread's instance over `memory`, created on first use. */
function contextFor(memory: SharedMemory): WasmContext {
  let context = instances.get(memory);
  if (context) return context;
  const result = compile();
  if ('error' in result) throw new Error(`WebAssembly kernels unavailable: ${result.error}`);
  const instance = new wasm!.Instance(result.module, { env: { memory, abort: () => undefined } });
  const exports = instance.exports as unknown as WasmExports;
  if (exports.heapBase() > RESERVED_PAGES * PAGE) throw new Error('the kernels module needs more reserved memory than is set aside');
  context = { memory, exports, scratchPtr: 0, scratchBytes: 0 };
  instances.set(memory, context);
  return context;
}

/**
 * Lets typed arrays over `buffer` (a view of `memory`'s buffer, as returned before or after any
 * growth) run on the WebAssembly kernels in this thread. No-op when the kernels are the TypeScript ones.
 */
export function registerBuffer(buffer: SharedArrayBuffer, memory: SharedMemory): void {
  if (kernelInfo().kind !== 'wasm') return;
  byBuffer.set(buffer, contextFor(memory));
}

/** The WebAssembly context for arrays over `buffer`, if the kernels may run there. */
export function wasmContextOf(buffer: ArrayBufferLike): WasmContext | undefined {
  return byBuffer.get(buffer);
}

/**
 * `bytes` of scratch owned by this thread in the context's memory, 16-byte aligned. Each thread
 * grows the memory for its own scratch: grow() is atomic, so regions of different threads (and of the
 * arena's shards) never overlap. Scratch only grows; a larger model gets a fresh region.
 */
export function scratch(context: WasmContext, bytes: number): number {
  if (bytes > context.scratchBytes) {
    const pages = Math.ceil(bytes / PAGE);
    context.scratchPtr = context.memory.grow(pages) * PAGE;
    context.scratchBytes = pages * PAGE;
  }
  return context.scratchPtr;
}

/**
 * A shared WebAssembly memory for the shards of one thread pool: the worker copies a shard in once
 * when it loads it, and every thread's instance reads it there, in place, every round.
 */
export class SharedArena {
  readonly memory: SharedMemory;
  private readonly free: { offset: number; bytes: number }[] = [];

  private constructor(memory: SharedMemory) {
    this.memory = memory;
  }

  /** An arena, or undefined when the WebAssembly kernels are off or unavailable. */
  static create(): SharedArena | undefined {
    if (kernelInfo().kind !== 'wasm') return undefined;
    try {
      return new SharedArena(new wasm!.Memory({ initial: RESERVED_PAGES, maximum: MAX_PAGES, shared: true }));
    } catch {
      // Address space for one more 4 GiB reservation can run out: the TypeScript loops still work.
      return undefined;
    }
  }

  /** A 16-byte-aligned region of at least `bytes`, or undefined when the memory cannot hold it. */
  allocate(bytes: number): { offset: number; bytes: number } | undefined {
    // 16 bytes of slack: SIMD loads of a row's last values may read up to 12 bytes past it.
    const size = Math.ceil((bytes + 16) / 16) * 16;
    const index = this.free.findIndex((region) => region.bytes >= size);
    if (index >= 0) {
      const region = this.free[index]!;
      if (region.bytes === size) this.free.splice(index, 1);
      else this.free[index] = { offset: region.offset + size, bytes: region.bytes - size };
      return { offset: region.offset, bytes: size };
    }
    const pages = Math.ceil(size / PAGE);
    try {
      const offset = this.memory.grow(pages) * PAGE;
      if (pages * PAGE > size) this.free.push({ offset: offset + size, bytes: pages * PAGE - size });
      return { offset, bytes: size };
    } catch {
      return undefined;
    }
  }

  /**
   * Copies rows (and their labels) into the arena, once, and returns views of them there; in this
   * thread those views run on the WebAssembly kernels. Undefined when the memory cannot hold them.
   */
  place(features: Float32Array, labels?: Float32Array): { features: Float32Array; labels?: Float32Array; region: { offset: number; bytes: number } } | undefined {
    const featureBytes = features.length * 4;
    const region = this.allocate(featureBytes + (labels ? labels.length * 4 : 0));
    if (!region) return undefined;
    const buffer = this.memory.buffer;
    const placed = new Float32Array(buffer, region.offset, features.length);
    placed.set(features);
    let placedLabels: Float32Array | undefined;
    if (labels) {
      placedLabels = new Float32Array(buffer, region.offset + featureBytes, labels.length);
      placedLabels.set(labels);
    }
    registerBuffer(buffer, this.memory);
    return { features: placed, labels: placedLabels, region };
  }

  release(region: { offset: number; bytes: number }): void {
    this.free.push(region);
  }
}
