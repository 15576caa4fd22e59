import { compileLazily, registerBuffer, SharedArena, wasmContextOf, type WasmContext } from './backend.js';

/*
 * The softmax probabilities of rows to predict, on the WebAssembly SIMD kernel training uses for
 * them (softmaxProbabilities in wasm/softmax.ts: rows widened to float64 a block at a time, logits
 * two rows × four classes per pass, float64 products and sums). Predicting 1,000 rows × 784
 * features × 10 classes is 7.8 million multiply-adds: the plain loop of
 * algorithms/logreg/predict.ts takes several times longer than the kernel (bench predict prints both).
 *
 * The rows are copied into one WebAssembly memory of this thread, kept for the process (a serving
 * environment predicts many batches; the region only grows), beside the model's weights, which are
 * copied once per model. Each row's probabilities do not depend on the batch it came in (the kernel
 * sums every row's logits in the same order wherever the row falls), so a row predicted alone, in a
 * request of 1,000 or in a shard of a million gets the same numbers. They match the plain loop's to
 * rounding, not bit for bit (the kernel adds pairs of features, then the bias).
 */

interface Placement {
  arena: SharedArena;
  context: WasmContext;
  region: { offset: number; bytes: number };
  /** The weights now in the region (by identity: a compiled model's arrays never change). */
  weights?: Float64Array;
}

let placement: Placement | null | undefined;

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** A region of at least `bytes` in this thread's arena; null when the WebAssembly kernels are off or unavailable. */
function regionFor(bytes: number): Placement | null {
  if (placement === undefined) {
    // A process that predicts before it trains (if ever) compiles the kernels lazily: see compileLazily.
    compileLazily();
    const arena = SharedArena.create();
    if (!arena) return (placement = null);
    const region = arena.allocate(bytes);
    if (!region) return (placement = null);
    registerBuffer(arena.memory.buffer, arena.memory);
    const context = wasmContextOf(arena.memory.buffer);
    placement = context ? { arena, context, region } : null;
    return placement;
  }
  if (placement === null) return null;
  if (placement.region.bytes < bytes) {
    const region = placement.arena.allocate(bytes);
    if (!region) return null;
    placement.arena.release(placement.region);
    placement.region = region;
    placement.weights = undefined;
  }
  return placement;
}

/**
 * softmax(W·x + b) of `rows` rows, rows × classes, in float64; `w` holds classes rows of dims weights
 * then the classes biases. Undefined when the WebAssembly kernels are off (BSPML_KERNELS=js) or
 * unavailable (no kernels.wasm beside the code, a runtime without SIMD): the caller runs the plain loop.
 */
export function softmaxProbabilitiesWasm(w: Float64Array, classes: number, dims: number, x: Float32Array, rows: number): Float64Array | undefined {
  if (rows === 0) return new Float64Array(0);
  const weightBytes = align(classes * (dims + 1) * 8);
  const rowBytes = align(rows * dims * 4 + 16);
  const probBytes = align(rows * classes * 8);
  // Scratch bytes depend only on the shape: asked of the kernel once a context exists.
  const first = placement ?? regionFor(weightBytes + rowBytes + probBytes + 65_536);
  if (!first) return undefined;
  const tmpBytes = align(first.context.exports.softmaxScratchBytes(dims, classes));
  const p = regionFor(weightBytes + tmpBytes + rowBytes + probBytes);
  if (!p) return undefined;
  const base = p.region.offset;
  const wPtr = base;
  const tmpPtr = wPtr + weightBytes;
  const xPtr = tmpPtr + tmpBytes;
  const probPtr = xPtr + rowBytes;
  const buffer = p.context.memory.buffer;
  if (p.weights !== w) {
    new Float64Array(buffer, wPtr, classes * (dims + 1)).set(w.subarray(0, classes * (dims + 1)));
    p.weights = w;
  }
  new Float32Array(buffer, xPtr, rows * dims).set(x.subarray(0, rows * dims));
  p.context.exports.softmaxProbabilities(xPtr, dims, classes, 0, rows, wPtr, probPtr, tmpPtr);
  return new Float64Array(buffer, probPtr, rows * classes).slice();
}
