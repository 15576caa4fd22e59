import { afterAll } from 'vitest';
import { describeWasmKernels } from './wasmKernels.js';

/*
 * The same tests on the build without relaxed SIMD (what runtimes without it get). This file has its
 * own module state, so the module is compiled here for the first time, with the setting below.
 */
const saved = process.env.BSPML_KERNELS;
process.env.BSPML_KERNELS = 'simd128';
afterAll(() => {
  if (saved === undefined) delete process.env.BSPML_KERNELS;
  else process.env.BSPML_KERNELS = saved;
});

describeWasmKernels('simd128');
