/*
 * `npm run bench:softmax`: the multinomial (softmax) pass alone, one thread, against numpy/BLAS doing
 * the same product on one core in the same run: Z = X @ W.T (float32), the softmax, then the
 * gradient (P − Y).T @ X, with neither the loss nor the accuracy that our pass also computes.
 * Ours: softmaxAccumulate on rows placed in a shared WebAssembly memory (as an inner thread runs it),
 * without trial points (the gradient pass) and with the four of the in-round line search.
 *
 *   BENCH_ROWS (60000), BENCH_DIMS (784), BENCH_CLASSES (10), BENCH_REPEATS (7)
 *
 * numpy runs in /usr/bin/python3 (Debian's python3-numpy), limited to one thread; run this with
 * OPENBLAS_CORETYPE unset (see the README's benchmark notes) to give OpenBLAS its fastest kernel.
 * Prints fastest and median of each; numpy is timed before and after ours, the faster window kept
 * (which favours numpy). Writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { kernelInfo, SharedArena } from '../src/kernels/backend.js';
import { softmaxAccumulate, softmaxAccumulateJs } from '../src/kernels/softmax.js';
import { Rng } from '../src/util/random.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 60_000);
const DIMS = Number(process.env.BENCH_DIMS ?? 784);
const CLASSES = Number(process.env.BENCH_CLASSES ?? 10);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);

const NUMPY = `
import json, sys, time
from threadpoolctl import threadpool_limits, threadpool_info
import numpy as np
rows, dims, classes, repeats = map(int, sys.argv[1:5])
rng = np.random.default_rng(1)
x = rng.standard_normal((rows, dims), dtype=np.float32)
w = (0.01 * rng.standard_normal((classes, dims))).astype(np.float32)
y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, rows)]
times = []
with threadpool_limits(1):
    for _ in range(repeats + 1):
        t = time.perf_counter()
        z = x @ w.T
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - y).T @ x
        times.append((time.perf_counter() - t) * 1000)
    info = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()]
times = sorted(times[1:])
print(json.dumps({"min": times[0], "median": times[len(times) // 2], "blas": info}))
`;

function numpy(): { min: number; median: number; blas: unknown } {
  const run = spawnSync('/usr/bin/python3', ['-c', NUMPY, String(ROWS), String(DIMS), String(CLASSES), String(REPEATS)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  if (run.status !== 0) throw new Error(`numpy's side failed: ${run.stderr || run.error}`);
  return JSON.parse(run.stdout) as { min: number; median: number; blas: unknown };
}

function stats(times: number[]): { min: number; median: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]! };
}

const info = kernelInfo();
const arena = SharedArena.create();
if (info.kind !== 'wasm' || !arena) throw new Error(`the WebAssembly kernels are not in use: ${info.kind === 'js' ? info.reason : 'no shared memory'}`);

const rng = new Rng(1);
const x = new Float32Array(ROWS * DIMS);
for (let i = 0; i < x.length; i++) x[i] = rng.normal();
const y = Float32Array.from({ length: ROWS }, () => Math.floor(rng.next() * CLASSES));
const n = CLASSES * (DIMS + 1);
const w = Float64Array.from({ length: n }, () => 0.01 * rng.normal());
const dir = Float64Array.from({ length: n }, () => 0.01 * rng.normal());
const placed = arena.place(x, y)!;

const before = numpy();
const load0 = loadavg()[0]!;
const grad = new Float64Array(n);
const trialLoss = new Float64Array(4);
const plain: number[] = [];
const withTrials: number[] = [];
for (let r = 0; r <= REPEATS; r++) {
  grad.fill(0);
  let started = performance.now();
  softmaxAccumulate({ x: placed.features, y: placed.labels!, dims: DIMS, classes: CLASSES, start: 0, end: ROWS, w, grad });
  if (r > 0) plain.push(performance.now() - started);
  started = performance.now();
  softmaxAccumulate({ x: placed.features, y: placed.labels!, dims: DIMS, classes: CLASSES, start: 0, end: ROWS, w, grad, dir, backs: [0.5, 0.8, 0.95, 0.99], trialLoss });
  if (r > 0) withTrials.push(performance.now() - started);
}
const load1 = loadavg()[0]!;
const after = numpy();
const reference = before.min <= after.min ? before : after;

// The plain loop on the first 2,000 rows: the kernel must agree with it to rounding.
const check = Math.min(ROWS, 2000);
const ours = new Float64Array(n);
const theirs = new Float64Array(n);
softmaxAccumulate({ x: placed.features, y: placed.labels!, dims: DIMS, classes: CLASSES, start: 0, end: check, w, grad: ours });
softmaxAccumulateJs({ x, y, dims: DIMS, classes: CLASSES, start: 0, end: check, w, grad: theirs });
const scale = Math.max(...Array.from(theirs, Math.abs));
const worst = Math.max(...Array.from(ours, (g, j) => Math.abs(g - theirs[j]!))) / scale;

const a = stats(plain);
const b = stats(withTrials);
const flops = (2 * 2 * ROWS * DIMS * CLASSES) / 1e9;
console.log(`softmax pass ${ROWS.toLocaleString('en-US')} × ${DIMS}, ${CLASSES} classes, one thread; ${info.build} build; load ${load0.toFixed(1)} → ${load1.toFixed(1)}; ${REPEATS} runs each`);
console.log(`  numpy/BLAS (X @ W.T, softmax, (P − Y).T @ X, float32): fastest ${reference.min.toFixed(1)} ms, median ${reference.median.toFixed(1)} ms (before ${before.min.toFixed(1)}, after ${after.min.toFixed(1)}) ${JSON.stringify(reference.blas)}`);
console.log(`  ours, gradient pass (float64 sums, loss, accuracy): fastest ${a.min.toFixed(1)} ms, median ${a.median.toFixed(1)} ms, ${(flops / (a.min / 1000)).toFixed(1)} GFLOP/s; ${(100 * reference.min / a.min).toFixed(0)} % of numpy's throughput (fastest), ${(100 * reference.median / a.median).toFixed(0)} % (median)`);
console.log(`  ours, with the 4 trial losses (one more product): fastest ${b.min.toFixed(1)} ms, median ${b.median.toFixed(1)} ms`);
console.log(`  largest gradient difference from the plain loop (first ${check} rows), relative to the largest entry: ${worst.toExponential(1)}`);
