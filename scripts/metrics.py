"""Writes test/fixtures/metrics-sklearn.json: scikit-learn's held-out metrics on fixed cases (run once; committed).

    /usr/bin/python3 scripts/metrics.py [--force]     # Debian's python3-sklearn

Each case gives the true labels, the class list (np.unique order), the predicted probabilities
(rows x classes) and scikit-learn's figures for them: accuracy_score, log_loss, roc_auc_score (two
classes), precision/recall/F1 (precision_recall_fscore_support: average="binary" with pos_label the
second class for two classes, "macro" for more; zero_division=0) and confusion_matrix (rows: truth,
columns: prediction = the most probable class, first on ties as np.argmax). Scores are rounded to a
few values so that ties occur. The k-means case: a KMeans fit's centers and -score() on held-out rows,
the held-out inertia.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support, roc_auc_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "metrics-sklearn.json")


def case(name, classes, truth, proba):
    classes = list(classes)
    proba = np.asarray(proba, dtype=np.float64)
    predicted = [classes[k] for k in np.argmax(proba, axis=1)]
    binary = len(classes) == 2
    p, r, f, _ = precision_recall_fscore_support(
        truth, predicted, labels=classes, average="binary" if binary else "macro", pos_label=classes[1] if binary else 1, zero_division=0
    )
    out = {
        "name": name,
        "classes": classes,
        "truth": list(truth),
        "probabilities": proba.tolist(),
        "accuracy": float(accuracy_score(truth, predicted)),
        "logLoss": float(log_loss(truth, proba, labels=classes)),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "confusion": confusion_matrix(truth, predicted, labels=classes).tolist(),
    }
    if binary:
        out["auc"] = float(roc_auc_score([t == classes[1] for t in truth], proba[:, 1]))
    return out


def main():
    if os.path.exists(OUT) and "--force" not in sys.argv[1:]:
        sys.exit(f"{OUT} exists: pass --force to overwrite it")
    rng = np.random.default_rng(19)
    cases = []
    # Two string classes, scores with ties, some confident mistakes.
    n = 200
    truth = rng.choice(["ham", "spam"], size=n)
    p1 = np.clip(np.round(0.5 + 0.35 * ((truth == "spam") * 2 - 1) + rng.normal(0, 0.3, n), 1), 0.0, 1.0)
    cases.append(case("binary strings", ["ham", "spam"], truth.tolist(), np.column_stack([1 - p1, p1])))
    # -1/+1 labels, continuous scores.
    truth = rng.choice([-1, 1], size=n)
    p1 = 1 / (1 + np.exp(-(1.5 * truth + rng.normal(0, 1.5, n))))
    cases.append(case("binary -1/+1", [-1, 1], [int(t) for t in truth], np.column_stack([1 - p1, p1])))
    # Four classes with one rarely predicted (a class with zero precision's denominator).
    classes = ["a", "b", "c", "d"]
    truth = rng.choice(classes, size=n, p=[0.4, 0.3, 0.2, 0.1])
    logits = rng.normal(0, 1, (n, 4)) + 2.0 * (truth[:, None] == np.array(classes)[None, :])
    logits[:, 3] -= 3.0
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    cases.append(case("four classes", classes, truth.tolist(), proba))

    x = np.vstack([rng.normal(c, 1.0, (100, 3)) for c in ([0, 0, 0], [5, 5, 0], [0, 5, 5])]).astype(np.float32).astype(np.float64)
    held = np.vstack([rng.normal(c, 1.2, (40, 3)) for c in ([0, 0, 0], [5, 5, 0], [0, 5, 5])]).astype(np.float32).astype(np.float64)
    km = KMeans(n_clusters=3, n_init=10, random_state=0).fit(x)
    kmeans = {"centroids": km.cluster_centers_.tolist(), "heldOut": held.tolist(), "inertia": float(-km.score(held))}

    with open(OUT, "w") as out:
        json.dump({"sklearn": sklearn.__version__, "cases": cases, "kmeans": kmeans}, out)
        out.write("\n")
    for c in cases:
        print(c["name"], {k: c[k] for k in ("accuracy", "logLoss", "precision", "recall", "f1")}, c.get("auc"))
    print("kmeans held-out inertia", kmeans["inertia"])


main()
