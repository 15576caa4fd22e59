/*
 * The warm target of issue 24: 1,000 rows × 784 features × 10 classes predicted in ≤ 5 ms on one
 * core. Times, in one process and alternately, the served multinomial (the WebAssembly kernel,
 * src/kernels/softmaxPredict.ts), the plain loop it falls back to, and NumPy doing the same product
 * and softmax in float64 on one thread (Debian's python3-numpy under /usr/bin/python3, its BLAS held
 * to one thread; left out, with a message, when absent). Each run: p50 of 60 calls per side after 10
 * unmeasured ones. Prints the load average with every run.
 *
 *   npm run bench:predict-warm [-- --runs N] [-- --rows R --dims D --classes C]
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { packSoftmax, softmaxPredict, softmaxRows } from '../src/algorithms/logreg/predict.js';
import { kernelInfo } from '../src/kernels/backend.js';
import { syntheticRows } from '../src/serve/bench.js';
import { syntheticModel } from '../src/serve/synthetic.js';
import type { MultinomialResult } from '../src/domain/results.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const runs = arg('runs', 5);
const rows = arg('rows', 1000);
const dims = arg('dims', 784);
const classes = arg('classes', 10);

const model = syntheticModel({ dims, classes, kind: 'multinomial' }) as unknown as MultinomialResult;
const wb = packSoftmax(model);
const x = syntheticRows(rows, dims);

function p50(work: () => unknown, calls = 60): number {
  for (let i = 0; i < 10; i++) work();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    work();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(calls / 2)]!;
}

const NUMPY = `
import sys, time, numpy as np
rows, dims, classes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
# The same rows as syntheticRows would be too slow to draw in Python: a seeded uniform draw of the same range and precision.
x = np.round((np.random.default_rng(1).random(rows * dims) - 0.5) * 4000) / 1000
x = x.astype(np.float32).reshape(rows, dims)
w = np.random.default_rng(7).random((classes, dims)) - 0.5
b = np.random.default_rng(8).random(classes) - 0.5
def work():
    z = x.astype(np.float64) @ w.T + b
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return p.argmax(axis=1), p
for _ in range(10): work()
t = []
for _ in range(60):
    s = time.perf_counter(); work(); t.append((time.perf_counter() - s) * 1000)
t.sort(); print(t[30])
`;

function numpy(): number | string {
  const one = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const out = spawnSync('/usr/bin/python3', ['-c', NUMPY, String(rows), String(dims), String(classes)], { encoding: 'utf8', env: { ...process.env, ...one }, timeout: 120_000 });
  if (out.status !== 0) return `NumPy left out: ${(out.stderr || out.error?.message || 'no python3').trim().split('\n').at(-1)}`;
  return Number(out.stdout.trim());
}

const info = kernelInfo();
console.log(`${rows} rows × ${dims} features × ${classes} classes, one thread; kernels: ${info.kind === 'wasm' ? `WebAssembly (${info.build})` : `plain (${info.reason})`}; Node ${process.versions.node}`);
console.log('run   served (kernel) p50 ms   plain loop p50 ms   NumPy p50 ms   load average');
for (let run = 1; run <= runs; run++) {
  const served = p50(() => softmaxPredict(wb, classes, dims, x, rows));
  const plain = p50(() => softmaxRows(wb, classes, dims, x, rows));
  const np = numpy();
  console.log(`${String(run).padStart(3)}   ${served.toFixed(2).padStart(20)}   ${plain.toFixed(2).padStart(17)}   ${typeof np === 'number' ? np.toFixed(2).padStart(12) : np}   ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
