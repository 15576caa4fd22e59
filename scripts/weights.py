"""Writes scikit-learn's references for class weights and the one-vs-rest SVM (issue 19; run once, the outputs are committed).

    /usr/bin/python3 scripts/weights.py [--force]     # Debian's python3-sklearn and python3-pandas

Reads the data sets scripts/labels.py wrote (test/fixtures/labels/: iris.csv with string labels and
pandas' index column, cancer-pm1.csv with labels -1/+1), rounds the features to float32 as bspml
reads them, standardises them (StandardScaler: population std, as ours) and writes, in
test/fixtures/weights/, one NAME-sklearn.json per case:
- logistic regression with class_weight (LogisticRegression(C=1): newton-cholesky for two classes,
  tol 1e-10; newton-cg for three, tol 1e-8): per row the class probabilities, the predictions, and
  the objective in bspml's terms, (1/n)·Σ w_y·log-loss + (λ/2)·‖v‖² with λ = 1/(C·n) (docs/algorithms.md);
- the linear SVM, LinearSVC(loss='squared_hinge', C=1, dual=False, tol 1e-12) with and without
  class_weight, two classes and one-vs-rest on iris's three: per row the decision value of each
  problem (one per class for one-vs-rest) and the predictions. LinearSVC penalises its intercept
  (as a weight on a constant column of value intercept_scaling); ours does not, so intercept_scaling
  is 1e5, whose penalty (b/1e5)²/2 is negligible: the script checks each problem against a plain
  Newton solve of the unpenalised-intercept objective and refuses to write if they differ by 1e-7.
  One-vs-rest weighs as LIBLINEAR does: problem k's positive rows (class k) by class_weight[k], the rest by 1.
Existing files are kept unless --force is given.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "test", "fixtures", "labels")
OUT = os.path.join(ROOT, "test", "fixtures", "weights")
C = 1.0


def plain(values):
    return [v.item() if hasattr(v, "item") else v for v in values]


def read(name, label, index):
    back = pd.read_csv(os.path.join(DATA, f"{name}.csv"), index_col=0 if index else None)
    y = back[label].to_numpy()
    x = back.drop(columns=[label]).to_numpy(dtype=np.float32).astype(np.float64)
    return StandardScaler().fit_transform(x), y


def write(case, reference):
    path = os.path.join(OUT, f"{case}-sklearn.json")
    with open(path, "w") as out:
        json.dump(reference, out)
        out.write("\n")
    print(case, {k: reference[k] for k in ("objective", "accuracy") if k in reference})


def logreg(case, name, label, index, class_weight, option):
    xs, y = read(name, label, index)
    two = len(np.unique(y)) == 2
    solver = "newton-cholesky" if two else "newton-cg"
    model = LogisticRegression(C=C, solver=solver, tol=1e-10 if two else 1e-8, max_iter=10000, class_weight=class_weight).fit(xs, y)
    proba = model.predict_proba(xs)
    classes = list(model.classes_)
    weights = compute_weights(class_weight, classes, y)
    sw = np.array([weights[classes.index(v)] for v in y])
    n = len(y)
    lam = 1.0 / (C * n)
    # ours: (1/n)·Σ w_y·log-loss + (λ/2)·‖v‖² (the intercept not penalised).
    objective = float(np.sum(sw * -np.log(proba[np.arange(n), [classes.index(v) for v in y]])) / n + lam / 2 * np.sum(model.coef_**2))
    write(case, {
        "sklearn": sklearn.__version__,
        "data": f"{name}.csv",
        "label": label,
        "classWeightOption": option,
        "C": C,
        "solver": solver,
        "classes": plain(classes),
        "classWeights": [float(w) for w in weights],
        "predictions": plain(model.predict(xs)),
        "probabilities": proba.tolist(),
        "accuracy": float(model.score(xs, y)),
        "objective": objective,
        "dataTerm": float(np.sum(sw * -np.log(proba[np.arange(n), [classes.index(v) for v in y]])) / n),
        "logLoss": float(log_loss(y, proba, labels=classes)),
    })


def compute_weights(class_weight, classes, y):
    from sklearn.utils.class_weight import compute_class_weight
    if class_weight is None:
        return [1.0] * len(classes)
    return list(compute_class_weight(class_weight, classes=np.array(classes), y=y))


def newton_squared_hinge(xs, sign, sw):
    """Our objective (times C·n): C·Σ s_i·max(0, 1 − y±·z)² + ½‖v‖², the intercept not penalised; exact Newton."""
    n, d = xs.shape
    X = np.hstack([xs, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    for _ in range(200):
        r = 1 - sign * (X @ theta)
        act = r > 0
        g = -2 * C * (X[act].T @ (sw[act] * sign[act] * r[act]))
        g[:d] += theta[:d]
        if np.linalg.norm(g) < 1e-12:
            break
        h = 2 * C * (X[act].T * sw[act]) @ X[act]
        h[:d, :d] += np.eye(d)
        theta = theta - np.linalg.solve(h, g)
    return theta


def svm(case, name, label, index, class_weight, option):
    xs, y = read(name, label, index)
    model = LinearSVC(C=C, loss="squared_hinge", dual=False, tol=1e-12, max_iter=100000, intercept_scaling=1e5, class_weight=class_weight).fit(xs, y)
    classes = list(model.classes_)
    weights = compute_weights(class_weight, classes, y)
    decision = model.decision_function(xs)
    coef = model.coef_
    intercept = model.intercept_
    problems = [1] if len(classes) == 2 else list(range(len(classes)))
    for p, k in enumerate(problems):
        positive = y == classes[k]
        sign = np.where(positive, 1.0, -1.0)
        if len(classes) == 2:
            sw = np.array([weights[classes.index(v)] for v in y])
        else:
            sw = np.where(positive, weights[k], 1.0)
        exact = newton_squared_hinge(xs, sign, sw)
        ours = np.append(coef[p], intercept[p])
        gap = np.max(np.abs(exact - ours))
        if gap > 1e-7:
            sys.exit(f"{case}: LinearSVC differs from the unpenalised-intercept optimum by {gap} in problem {k}")
    write(case, {
        "sklearn": sklearn.__version__,
        "data": f"{name}.csv",
        "label": label,
        "classWeightOption": option,
        "C": C,
        "classes": plain(classes),
        "classWeights": [float(w) for w in weights],
        "coef": coef.tolist(),
        "intercept": intercept.tolist(),
        "decision": decision.tolist(),
        "predictions": plain(model.predict(xs)),
        "accuracy": float(model.score(xs, y)),
    })


def main():
    force = "--force" in sys.argv[1:]
    cases = [
        ("logreg-cancer-balanced", lambda c: logreg(c, "cancer-pm1", "diagnosis", False, "balanced", "balanced")),
        ("logreg-cancer-json", lambda c: logreg(c, "cancer-pm1", "diagnosis", False, {-1: 3.0}, '{"-1": 3}')),
        ("logreg-iris-json", lambda c: logreg(c, "iris", "species", True, {"setosa": 2.0, "virginica": 0.5}, '{"setosa": 2, "virginica": 0.5}')),
        ("logreg-iris-balanced", lambda c: logreg(c, "iris", "species", True, "balanced", "balanced")),
        ("svm-cancer-balanced", lambda c: svm(c, "cancer-pm1", "diagnosis", False, "balanced", "balanced")),
        ("svm-iris-ovr", lambda c: svm(c, "iris", "species", True, None, None)),
        ("svm-iris-ovr-json", lambda c: svm(c, "iris", "species", True, {"setosa": 2.0, "virginica": 0.5}, '{"setosa": 2, "virginica": 0.5}')),
    ]
    for case, _ in cases:
        path = os.path.join(OUT, f"{case}-sklearn.json")
        if os.path.exists(path) and not force:
            sys.exit(f"{path} exists: pass --force to overwrite it")
    os.makedirs(OUT, exist_ok=True)
    for case, run in cases:
        run(case)


main()
