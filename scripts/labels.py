"""Writes the label fixtures of issue 19 and their scikit-learn references (run once; the outputs are committed).

    /usr/bin/python3 scripts/labels.py [--force]     # Debian's python3-sklearn and python3-pandas

Three data sets as users hold them, each written by pandas, each with scikit-learn's fit beside it:
- iris.csv: the iris data with string labels (setosa, versicolor, virginica), written by pandas'
  default to_csv (an unnamed leading index column): multinomial logistic regression.
- cancer-pm1.csv: the breast-cancer data (its 10 "mean" columns) with labels -1/+1 (no index).
- iris-bool.csv: iris with a boolean label "virginica" (pandas writes True/False).
For iris and cancer-pm1, NAME-train.csv and NAME-valid.csv split the rows (i % 3 == 0 held out) and
NAME-valid-sklearn.json holds scikit-learn's held-out metrics of the model fitted on the first.
For each, NAME-sklearn.json holds the classes in scikit-learn's order (np.unique), and for every row
its predicted label and class probabilities from LogisticRegression(C=1) (newton-cholesky for two classes, newton-cg for more) fitted on standardised
columns (StandardScaler: population std, as ours) to tol 1e-10 (newton-cg: 1e-8, its line search gives out below): our --C 1 (docs/algorithms.md).
The features are rounded to float32 first, as bspml reads them.
Existing files are kept unless --force is given.
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import sklearn
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "labels")
C = 1.0


def fit(name, frame, label, index):
    csv = os.path.join(OUT, f"{name}.csv")
    ref = os.path.join(OUT, f"{name}-sklearn.json")
    frame.to_csv(csv, index=index)
    # What bspml trains on: the CSV read back, features as float32.
    back = pd.read_csv(csv, index_col=0 if index else None)
    y = back[label].to_numpy()
    x = back.drop(columns=[label]).to_numpy(dtype=np.float32).astype(np.float64)
    xs = StandardScaler().fit_transform(x)
    # Two classes: newton-cholesky (exact Newton); more: newton-cg (newton-cholesky is one-vs-rest there).
    solver = "newton-cholesky" if len(np.unique(y)) == 2 else "newton-cg"
    model = LogisticRegression(C=C, solver=solver, tol=1e-10 if solver == "newton-cholesky" else 1e-8, max_iter=10000).fit(xs, y)
    proba = model.predict_proba(xs)
    reference = {
        "sklearn": sklearn.__version__,
        "C": C,
        "solver": solver,
        "label": label,
        "classes": [c.item() if hasattr(c, "item") else c for c in model.classes_],
        "predictions": [p.item() if hasattr(p, "item") else p for p in model.predict(xs)],
        "probabilities": proba.tolist(),
        "accuracy": float(model.score(xs, y)),
        # The data term of the objective at scikit-learn's optimum: the training log-loss.
        "logLoss": float(log_loss(y, proba, labels=model.classes_)),
    }
    with open(ref, "w") as out:
        json.dump(reference, out)
        out.write("\n")
    print(name, reference["classes"], reference["accuracy"])


def split(name, frame, label, index):
    """NAME-train.csv (rows i % 3 != 0), NAME-valid.csv (the rest) and NAME-valid-sklearn.json: the
    held-out metrics of LogisticRegression(C=1) fitted on the training rows (standardised by their
    own scaler, as ours), as sklearn.metrics computes them."""
    from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support, roc_auc_score

    train, valid = frame[np.arange(len(frame)) % 3 != 0], frame[np.arange(len(frame)) % 3 == 0]
    train.to_csv(os.path.join(OUT, f"{name}-train.csv"), index=index)
    valid.to_csv(os.path.join(OUT, f"{name}-valid.csv"), index=index)
    read = lambda part: pd.read_csv(os.path.join(OUT, f"{name}-{part}.csv"), index_col=0 if index else None)
    tr, va = read("train"), read("valid")
    as32 = lambda f: f.drop(columns=[label]).to_numpy(dtype=np.float32).astype(np.float64)
    scaler = StandardScaler().fit(as32(tr))
    y = tr[label].to_numpy()
    solver = "newton-cholesky" if len(np.unique(y)) == 2 else "newton-cg"
    model = LogisticRegression(C=C, solver=solver, tol=1e-10 if solver == "newton-cholesky" else 1e-8, max_iter=10000).fit(scaler.transform(as32(tr)), y)
    xv, yv = scaler.transform(as32(va)), va[label].to_numpy()
    proba, predicted = model.predict_proba(xv), model.predict(xv)
    classes = list(model.classes_)
    binary = len(classes) == 2
    p, r, f, _ = precision_recall_fscore_support(yv, predicted, labels=classes, average="binary" if binary else "macro", pos_label=classes[1] if binary else 1, zero_division=0)
    reference = {
        "sklearn": sklearn.__version__,
        "classes": [c.item() if hasattr(c, "item") else c for c in classes],
        "rows": int(len(yv)),
        "accuracy": float(accuracy_score(yv, predicted)),
        "logLoss": float(log_loss(yv, proba, labels=classes)),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "confusion": confusion_matrix(yv, predicted, labels=classes).tolist(),
    }
    if binary:
        reference["auc"] = float(roc_auc_score(yv == classes[1], proba[:, 1]))
    with open(os.path.join(OUT, f"{name}-valid-sklearn.json"), "w") as out:
        json.dump(reference, out)
        out.write("\n")
    print(name, "held out", {k: reference[k] for k in ("accuracy", "logLoss", "f1")})


def main():
    force = "--force" in sys.argv[1:]
    names = ("iris", "cancer-pm1", "iris-bool", "iris-train", "iris-valid", "cancer-pm1-train", "cancer-pm1-valid")
    for name in names:
        for path in (os.path.join(OUT, f"{name}.csv"), os.path.join(OUT, f"{name}-sklearn.json")):
            if os.path.exists(path) and not force:
                sys.exit(f"{path} exists: pass --force to overwrite it")
    os.makedirs(OUT, exist_ok=True)

    iris = load_iris(as_frame=True)
    frame = iris.data.copy()
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["species"] = iris.target_names[iris.target]
    fit("iris", frame, "species", index=True)
    split("iris", frame, "species", index=True)

    cancer = load_breast_cancer(as_frame=True)
    frame = cancer.data.iloc[:, :10].copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame["diagnosis"] = np.where(cancer.target == 1, 1, -1)
    fit("cancer-pm1", frame, "diagnosis", index=False)
    split("cancer-pm1", frame, "diagnosis", index=False)

    frame = iris.data.copy()
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["virginica"] = iris.target == 2
    fit("iris-bool", frame, "virginica", index=False)


main()
