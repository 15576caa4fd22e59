"""Writes the 8 x 8 digits fixture and its scikit-learn reference (run once; the outputs are committed).

    /usr/bin/python3 scripts/digits.py [--force]

- data/digits.csv: scikit-learn's bundled copy of the UCI optical digits (1,797 rows, 64 pixel
  columns 0..16, label 0..9 last), for `bspml train logreg` (multinomial) and the tests.
- test/fixtures/digits-sklearn.json: the L2-regularised multinomial optimum on standardised
  columns (StandardScaler: population std, a constant column left unscaled, as ours) with C = 1,
  i.e. our --C 1 (l2 = 1/(C*n), docs/algorithms.md), fitted by LogisticRegression(solver="newton-cg",
  tol=1e-14), whose gradient norm is printed; the objective is ours: mean log-loss + (l2/2)*||V||^2.
Existing files are kept unless --force is given.
"""
import json
import os
import sys

import numpy as np
import sklearn
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSV = os.path.join(ROOT, "data", "digits.csv")
REFERENCE = os.path.join(ROOT, "test", "fixtures", "digits-sklearn.json")
C = 1.0


def main():
    force = "--force" in sys.argv[1:]
    for path in (CSV, REFERENCE):
        if os.path.exists(path) and not force:
            sys.exit(f"{path} exists: pass --force to overwrite it")
    digits = load_digits()
    x, y = digits.data, digits.target
    n, d = x.shape
    names = [f"p{j}" for j in range(d)]
    with open(CSV, "w") as out:
        out.write(",".join(names + ["label"]) + "\n")
        for row, label in zip(x.astype(int), y):
            out.write(",".join(str(v) for v in row) + f",{label}\n")

    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    model = LogisticRegression(C=C, solver="newton-cg", tol=1e-14, max_iter=10000).fit(xs, y)
    v, c = model.coef_, model.intercept_
    lam = 1 / (C * n)
    z = xs @ v.T + c
    p = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    onehot = np.eye(len(model.classes_))[y]
    objective = float(np.mean(logsumexp(z, axis=1) - z[np.arange(n), y]) + lam / 2 * np.sum(v * v))
    grad = np.concatenate([((p - onehot).T @ xs / n + lam * v).ravel(), (p - onehot).mean(0)])
    reference = {
        "sklearn": sklearn.__version__,
        "C": C,
        "l2": lam,
        "rows": n,
        "objective": objective,
        "gradNorm": float(np.linalg.norm(grad)),
        "accuracy": float(model.score(xs, y)),
        "iterations": int(model.n_iter_[0]),
        # Standardised coordinates: one row of weights per class, intercepts centred (the softmax
        # does not change when a constant is added to every intercept; the optimum's sum is 0).
        "weights": v.tolist(),
        "intercepts": (c - c.mean()).tolist(),
    }
    with open(REFERENCE, "w") as out:
        json.dump(reference, out, indent=1)
        out.write("\n")
    print(json.dumps({k: reference[k] for k in ("objective", "gradNorm", "accuracy", "iterations")}))


main()
