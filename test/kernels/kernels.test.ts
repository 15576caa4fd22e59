import { afterEach, describe, expect, it } from 'vitest';
import { compiledModule, kernelInfo, missingExports, SharedArena } from '../../src/kernels/backend.js';
import { kmeansAccumulate, kmeansAccumulateJs } from '../../src/kernels/kmeans.js';
import { Rng } from '../../src/util/random.js';
import { describeWasmKernels, randomRows, runKmeans } from './wasmKernels.js';

/** The whole suite may run on the fallback (BSPML_KERNELS=js npx vitest run): then only the WebAssembly tests are skipped. */
if (process.env.BSPML_KERNELS !== 'js') describeWasmKernels('relaxed');

describe('kernel selection', () => {
  const saved = process.env.BSPML_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.BSPML_KERNELS;
    else process.env.BSPML_KERNELS = saved;
  });

  it('BSPML_KERNELS=js selects the TypeScript loops', () => {
    // Prepare
    process.env.BSPML_KERNELS = 'js';

    // Act
    const info = kernelInfo();
    const arenaWhenOff = SharedArena.create();

    // Assess
    expect(info).toEqual({ kind: 'js', reason: 'BSPML_KERNELS=js' });
    expect(arenaWhenOff).toBeUndefined();
  });

  it('refuses a kernels.wasm that lacks a kernel (built before it was added), naming what is missing', () => {
    // Prepare: the smallest valid module (magic and version, no exports), and today's build.
    const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } };
    const empty = new wasm.Module(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const built = compiledModule();

    // Act
    const missingFromEmpty = missingExports(empty);

    // Assess
    expect(missingFromEmpty).toContain('kmeansAccumulate');
    expect(missingFromEmpty).toContain('softmaxAccumulate');
    expect(missingFromEmpty).toContain('localSgdSteps');
    if (built) expect(missingExports(built.module)).toEqual([]);
  });

  it('arrays outside shared WebAssembly memory take the TypeScript loop, with the same result', () => {
    // Prepare
    const rng = new Rng(5);
    const x = randomRows(rng, 20, 3, 1);
    const centroids = Float64Array.from(x.subarray(0, 6));

    // Act
    const viaDispatch = runKmeans(kmeansAccumulate, x, 3, 0, 20, centroids, 2);
    const plain = runKmeans(kmeansAccumulateJs, x, 3, 0, 20, centroids, 2);

    // Assess: bit for bit, since it is the same loop
    expect(viaDispatch).toEqual(plain);
  });
});
