"""scipy's L-BFGS-B on our multinomial objective, evaluation by evaluation: what a round of our
L-BFGS is compared with (docs/algorithms.md, "Why 20 pairs").

    /usr/bin/python3 scripts/lbfgs-trace.py CSV [C] [PAIRS] [EVALUATIONS]

CSV: a table whose last column is `label` (classes 0..K−1), e.g. the one `npm run bench:wide` writes
to <OS temp dir>/bspml-bench/wide/wide-20000.csv; C (1); PAIRS, comma-separated history sizes m
(5,10,20,40); EVALUATIONS (100). The objective is ours: mean log-loss + (λ/2)·‖V‖², λ = 1/(C·n), on
columns standardised as StandardScaler does (a constant column left unscaled), biases not
penalised; scikit-learn 1.2's lbfgs minimises C·n times it, which changes no step. For each m,
prints the best objective after 30, 60 and the last evaluation (the starting point's counted, as our
first round), and for m = 10 each iteration's evaluations so far and objective (scikit-learn's
max_iter counts iterations). One BLAS thread. Writes nothing.
"""
import sys

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

path = sys.argv[1]
c_value = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
pairs = [int(m) for m in (sys.argv[3] if len(sys.argv) > 3 else "5,10,20,40").split(",")]
budget = int(sys.argv[4]) if len(sys.argv) > 4 else 100

frame = pd.read_csv(path)
y = frame.pop("label").to_numpy().astype(np.int64)
x = frame.to_numpy(dtype=np.float64)
std = x.std(axis=0)
std[std == 0] = 1
xs = (x - x.mean(axis=0)) / std
n, d = xs.shape
classes = int(y.max()) + 1
lam = 1 / (c_value * n)
onehot = np.eye(classes)[y]


def f_and_g(theta, seen):
    w, b = theta[: classes * d].reshape(classes, d), theta[classes * d :]
    z = xs @ w.T + b
    lse = logsumexp(z, axis=1)
    f = float(np.mean(lse - z[np.arange(n), y]) + lam / 2 * np.sum(w**2))
    seen.append(f)
    e = (np.exp(z - lse[:, None]) - onehot) / n
    return f, np.concatenate([(e.T @ xs + lam * w).ravel(), e.sum(axis=0)])


with threadpool_limits(1):
    for m in pairs:
        seen, iterations = [], []
        minimize(f_and_g, np.zeros(classes * (d + 1)), args=(seen,), jac=True, method="L-BFGS-B",
                 callback=lambda _theta: iterations.append((len(seen), seen[-1])),
                 options={"maxiter": 100 * budget, "maxfun": budget, "maxcor": m, "gtol": 0, "ftol": 0})
        best = np.minimum.accumulate(seen)
        marks = [e for e in (30, 60, budget) if e <= len(best)]
        print(f"m = {m}: best objective after " + ", ".join(f"{e} evaluations {best[e - 1]:.7f}" for e in marks) + f"; {len(iterations)} iterations", flush=True)
        if m == 10:
            for i, (evaluations, f) in enumerate(iterations):
                print(f"  iteration {i + 1}: {evaluations} evaluations, objective {f:.7f}")
