"""scikit-learn's side of `bench/solvers.ts` (time to accuracy).

Reads a JSON job (argv[1]): {"cases": [{"name", "rows", "dims", "l2", "x": float32 file or null,
"y": float32 file or null, "dataset": "breast_cancer" or null, "export": path}]}. A case with a
dataset name is loaded from scikit-learn's bundled copy and written (float32) to `export` for the
TypeScript side. Each case is standardised (StandardScaler: population std, as ours) and fitted with
LogisticRegression(C = 1/(l2·n)), the problem ours solves with --l2 (docs/algorithms.md):
- the optimum: lbfgs with tol 1e-12 (objective, accuracy, coefficients);
- scikit-learn's defaults (lbfgs, tol 1e-4): iterations, time, relative objective gap;
- the fewest lbfgs iterations (max_iter = 1, 2, …, tol 0) within 1e-6 of the optimum, and that fit's time.
Prints one JSON object.
"""
import json
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("ignore", ConvergenceWarning)


def objective(model, x, y, l2):
    z = x @ model.coef_[0] + model.intercept_[0]
    loss = np.mean(np.logaddexp(0, z) - y * z)
    return float(loss + l2 / 2 * np.dot(model.coef_[0], model.coef_[0]))


def fit(x, y, c, **kw):
    model = LogisticRegression(C=c, solver="lbfgs", **kw)
    t = time.perf_counter()
    model.fit(x, y)
    return model, (time.perf_counter() - t) * 1000


def run_case(case):
    if case.get("dataset") == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        x, y = load_breast_cancer(return_X_y=True)
        x = x.astype(np.float32)
        y = y.astype(np.float32)
        np.concatenate([x, y[:, None]], axis=1).astype(np.float32).tofile(case["export"])
    else:
        x = np.fromfile(case["x"], dtype=np.float32).reshape(case["rows"], case["dims"])
        y = np.fromfile(case["y"], dtype=np.float32)
    n = len(y)
    l2 = case["l2"]
    c = 1 / (l2 * n)
    xs = StandardScaler().fit_transform(x.astype(np.float64))
    yd = y.astype(np.float64)
    best, _ = fit(xs, yd, c, tol=1e-12, max_iter=100000)
    f_opt = objective(best, xs, yd, l2)
    acc_opt = float(np.mean(best.predict(xs) == yd))
    default, default_ms = fit(xs, yd, c)
    within = None
    for k in range(1, 1000):
        model, ms = fit(xs, yd, c, tol=0, max_iter=k)
        if (objective(model, xs, yd, l2) - f_opt) / f_opt <= 1e-6:
            within = {"iterations": int(model.n_iter_[0]), "ms": ms}
            break
    return {
        "name": case["name"],
        "rows": n,
        "dims": x.shape[1],
        "objective": f_opt,
        "accuracy": acc_opt,
        "default": {"iterations": int(default.n_iter_[0]), "ms": default_ms, "gap": (objective(default, xs, yd, l2) - f_opt) / f_opt},
        "within1e6": within,
    }


job = json.load(open(sys.argv[1]))
print(json.dumps({"sklearn": sklearn.__version__, "cases": [run_case(c) for c in job["cases"]]}))
