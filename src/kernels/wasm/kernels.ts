// @ts-nocheck -- AssemblyScript, compiled by `asc` (npm run build:wasm), not by tsc.
/*
 * WebAssembly SIMD kernels: the entry file `asc` builds both modules from (kernels.wasm with relaxed
 * SIMD, kernels-simd128.wasm without; npm run build:wasm). Each family of kernels lives in a file of
 * its own beside this one, and the shared SIMD helpers in simd.ts; this file re-exports them, in the
 * order the modules export them. Every pointer is a byte address in the memory the host imports (a
 * shared WebAssembly.Memory whose rows the inner threads read in place); nothing here allocates,
 * and loads and stores are raw, so the inner loops carry no bounds checks beyond the engine's
 * guard pages.
 */

/** Where this module's own static data ends: the host must place nothing below it. */
export function heapBase(): usize {
  return __heap_base;
}

export { kmeansAccumulate } from './kmeans';
export { LOGREG_BATCH, logregAccumulate, logregMargins } from './logreg';
export { HESSIAN_BLOCK, hessianAccumulate } from './hessian';
export { SOFTMAX_BLOCK, softmaxScratchBytes, softmaxAccumulate, softmaxProbabilities, softmaxHessianProduct } from './softmax';
export { localSgdSteps } from './localSgd';
export { COLUMN_STATS_FIELDS, columnStats } from './columnStats';
