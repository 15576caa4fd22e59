"""scikit-learn's side of `bench/multinomialWide.ts` (many classes, many columns).

argv: the CSV (header p0..p783,label), C, and the phases to run (comma-separated: whole, lbfgs, saga, optimum).
- whole: what a user of scikit-learn runs, timed from start to end: pandas.read_csv, StandardScaler,
  LogisticRegression(C) with its defaults (lbfgs, 100 iterations at most, tol 1e-4).
- lbfgs: the trajectory of scipy's L-BFGS-B (m = 10, the routine scikit-learn's lbfgs calls) on the
  same objective, one record per iteration (objective, seconds since the start, and evaluations of
  the objective and gradient so far, the starting point's included).
- saga: LogisticRegression(solver='saga', tol=0, max_iter=E) for E epochs in a list, each a fresh fit.
- optimum: scipy's L-BFGS-B run long (m = 20, 3,000 iterations or a gradient norm of 1e-9), the target.
The objective is ours (docs/algorithms.md): mean log-loss + (λ/2)·‖V‖², λ = 1/(C·n), on the
standardised columns, biases not penalised. Prints one JSON object; one BLAS thread.
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

warnings.simplefilter("ignore", ConvergenceWarning)

path, c_value, phases = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
out = {}


def load():
    frame = pd.read_csv(path)
    y = frame.pop("label").to_numpy()
    return frame.to_numpy(dtype=np.float64), y


def objective_of(coef, intercept, x, y, lam):
    z = x @ coef.T + intercept
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y]) + lam / 2 * np.sum(coef**2))


def problem(x, y, classes, lam):
    n, d = x.shape
    onehot = np.eye(classes)[y]

    def unpack(theta):
        return theta[: classes * d].reshape(classes, d), theta[classes * d :]

    def f_and_g(theta):
        w, b = unpack(theta)
        z = x @ w.T + b
        lse = logsumexp(z, axis=1)
        p = np.exp(z - lse[:, None])
        f = np.mean(lse - z[np.arange(n), y]) + lam / 2 * np.sum(w**2)
        e = (p - onehot) / n
        return f, np.concatenate([(e.T @ x + lam * w).ravel(), e.sum(axis=0)])

    def hessp(theta, v):
        w, b = unpack(theta)
        vw, vb = unpack(v)
        z = x @ w.T + b
        p = np.exp(z - logsumexp(z, axis=1)[:, None])
        u = x @ vw.T + vb
        r = p * (u - np.sum(p * u, axis=1, keepdims=True)) / n
        return np.concatenate([(r.T @ x + lam * vw).ravel(), r.sum(axis=0)])

    return f_and_g, hessp, classes * (d + 1)


with threadpool_limits(1):
    if "whole" in phases:
        started = time.perf_counter()
        x, y = load()
        xs = StandardScaler().fit_transform(x)
        model = LogisticRegression(C=c_value).fit(xs, y)
        seconds = time.perf_counter() - started
        lam = 1 / (c_value * len(y))
        out["whole"] = {"seconds": seconds, "iterations": int(model.n_iter_[0]), "objective": objective_of(model.coef_, model.intercept_, xs, y, lam), "accuracy": float(model.score(xs, y))}

    if any(p in phases for p in ("lbfgs", "saga", "optimum")):
        x, y = load()
        xs = StandardScaler().fit_transform(x)
        classes = int(y.max()) + 1
        lam = 1 / (c_value * len(y))
        f_and_g, hessp, size = problem(xs, y, classes, lam)

        if "lbfgs" in phases:
            trace = []
            last = {}

            def remembered(theta):
                # The callback's objective is that of the last point evaluated (the accepted one), so
                # recording it costs no extra evaluation in the timed loop.
                f, g = f_and_g(theta)
                last["theta"], last["f"] = theta.copy(), f
                last["evaluations"] = last.get("evaluations", 0) + 1
                return f, g

            def record(theta):
                f = last["f"] if np.array_equal(last.get("theta"), theta) else f_and_g(theta)[0]
                # Evaluations so far (the starting point's included): what a round of ours costs.
                trace.append([f, time.perf_counter() - started, last["evaluations"]])

            started = time.perf_counter()
            minimize(remembered, np.zeros(size), jac=True, method="L-BFGS-B", callback=record, options={"maxiter": int(sys.argv[4]) if len(sys.argv) > 4 else 1000, "maxcor": 10, "gtol": 0, "ftol": 0})
            out["lbfgs"] = trace

        if "saga" in phases:
            records = []
            for epochs in [1, 2, 5, 10, 20, 50]:
                started = time.perf_counter()
                model = LogisticRegression(C=c_value, solver="saga", tol=0, max_iter=epochs).fit(xs, y)
                records.append({"epochs": epochs, "seconds": time.perf_counter() - started, "objective": objective_of(model.coef_, model.intercept_, xs, y, lam)})
            out["saga"] = records

        if "optimum" in phases:
            started = time.perf_counter()
            # Newton-CG's inner CG (up to 20·n products per step) did not finish in 30 minutes here:
            # L-BFGS-B run long, to a gradient norm of 1e-9 or 3,000 iterations, stands for the optimum.
            result = minimize(f_and_g, np.zeros(size), jac=True, method="L-BFGS-B", options={"maxiter": 3000, "maxcor": 20, "gtol": 1e-9, "ftol": 0})
            f, g = f_and_g(result.x)
            out["optimum"] = {"objective": float(f), "gradNorm": float(np.linalg.norm(g)), "iterations": int(result.nit), "seconds": time.perf_counter() - started}

print(json.dumps(out))
