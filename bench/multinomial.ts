/*
 * Time to accuracy of multinomial logistic regression (L-BFGS) on the 8 × 8 digits (data/digits.csv,
 * 1,797 × 64, 10 classes), C = 1: rounds and wall time to the optimum's training accuracy and to its
 * objective within 1e-6 (relative), beside scikit-learn's L-BFGS (defaults, and the fewest max_iter
 * within 1e-6). The optimum is the committed one (test/fixtures/digits-sklearn.json, newton-cg to a
 * gradient norm of 1e-11, made by scripts/digits.py). Run by `npm run bench` after the binary solvers
 * (BENCH_SOLVERS=0 skips both) and alone by `npm run bench:multinomial`. Writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readTable, toTrainingData } from '../src/data/sources/load.js';
import { MemoryDatasetSource } from '../src/data/sources/MemoryDatasetSource.js';
import type { RoundMetrics } from '../src/domain/job.js';
import { LocalRuntime } from '../src/runtime/LocalRuntime.js';
import { MemoryStore } from '../src/stores/MemoryStore.js';

const WORKERS = 4;
const DATA = fileURLToPath(new URL('../data/digits.csv', import.meta.url));
const REFERENCE = new URL('../test/fixtures/digits-sklearn.json', import.meta.url);

/** scikit-learn's L-BFGS on the same problem: its defaults, and the fewest max_iter within 1e-6 of `objective`. */
const SKLEARN = `
import json, sys, time, warnings
import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
warnings.simplefilter("ignore", ConvergenceWarning)
target = float(sys.argv[1])
x, y = load_digits(return_X_y=True)
x = StandardScaler().fit_transform(x)
n = len(y)
def fit(**kw):
    t = time.perf_counter()
    m = LogisticRegression(C=1.0, solver="lbfgs", **kw).fit(x, y)
    ms = (time.perf_counter() - t) * 1000
    z = x @ m.coef_.T + m.intercept_
    f = np.mean(logsumexp(z, axis=1) - z[np.arange(n), y]) + np.sum(m.coef_ ** 2) / (2 * n)
    return m, ms, (f - target) / target
m, ms, gap = fit()
out = {"default": {"iterations": int(m.n_iter_[0]), "ms": ms, "gap": gap, "accuracy": m.score(x, y)}, "within1e6": None}
for it in range(1, 1000):
    m, ms, gap = fit(max_iter=it, tol=0)
    if gap <= 1e-6:
        out["within1e6"] = {"iterations": it, "ms": ms}
        break
print(json.dumps(out))
`;

function firstRound(rounds: RoundMetrics[], ok: (r: RoundMetrics) => boolean): string {
  const index = rounds.findIndex(ok);
  if (index < 0) return 'not reached';
  return `${index + 1} (${(rounds[index]!.aggregatedAt - rounds[0]!.publishedAt).toFixed(0)} ms)`;
}

export async function multinomialBench(): Promise<string> {
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')) as { objective: number; accuracy: number };
  const python = spawnSync('/usr/bin/python3', ['-c', SKLEARN, String(reference.objective)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (python.status !== 0) throw new Error(`scikit-learn's side failed: ${python.stderr || python.error}`);
  const sklearn = JSON.parse(python.stdout) as { default: { iterations: number; ms: number; gap: number; accuracy: number }; within1e6: { iterations: number; ms: number } | null };

  const digits = toTrainingData(await readTable(DATA), DATA, 'label');
  const runtime = new LocalRuntime({ store: new MemoryStore(), datasets: new MemoryDatasetSource().add('digits', digits), defaultThreads: 1 });
  const load = loadavg()[0]!;
  try {
    // Containers and threads start here, not in the measured run's first round.
    await runtime.train({ algorithm: 'logreg', C: 1, maxRounds: 1, workers: WORKERS, threads: 1, data: { uri: 'digits' } });
    const out = await runtime.train({ algorithm: 'logreg', C: 1, tol: 0, maxRounds: 300, workers: WORKERS, threads: 1, data: { uri: 'digits' } });
    const gapOf = (r: RoundMetrics) => (r.objective - reference.objective) / reference.objective;
    log(`## Multinomial logistic regression: 8 × 8 digits (1,797 × 64, 10 classes), C = 1 (load ${load.toFixed(1)} → ${loadavg()[0]!.toFixed(1)})`);
    log('');
    log('| solver | rounds to optimum accuracy | rounds to objective within 1e-6 | final relative gap | final accuracy |');
    log('|---|---:|---:|---:|---:|');
    const last = out.rounds.at(-1)!;
    log(
      `| ours, lbfgs (W = ${WORKERS} × 1) | ${firstRound(out.rounds, (r) => r.stats.accuracy! >= reference.accuracy)} | ${firstRound(out.rounds, (r) => gapOf(r) <= 1e-6)} | ${gapOf(last).toExponential(1)} | ${(100 * last.stats.accuracy!).toFixed(2)}% |`,
    );
    const within = sklearn.within1e6 ? `${sklearn.within1e6.iterations} (${sklearn.within1e6.ms.toFixed(0)} ms)` : 'not reached';
    log(
      `| scikit-learn lbfgs | — | ${within} iterations | defaults: ${sklearn.default.iterations} iterations, ${sklearn.default.ms.toFixed(0)} ms, gap ${sklearn.default.gap.toExponential(1)} | ${(100 * sklearn.default.accuracy).toFixed(2)}% |`,
    );
    log('');
    log(`optimum (scikit-learn newton-cg, test/fixtures/digits-sklearn.json): objective ${reference.objective.toPrecision(10)}, accuracy ${(100 * reference.accuracy).toFixed(2)}%`);
  } finally {
    await runtime.close();
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await multinomialBench();
