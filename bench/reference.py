"""Reference timings for `npm run bench`: scikit-learn's Lloyd iteration and numpy's logistic-
regression gradient, one thread, on the float32 data the TypeScript side generated.

Reads a JSON job description (argv[1]) naming raw little-endian float32 files; prints one JSON
object. Timings are the median of `repeats` runs after one warm-up, in milliseconds.
"""
import json
import statistics
import sys
import time

import numpy as np
import sklearn
from threadpoolctl import threadpool_info, threadpool_limits


def timed(fn, repeats):
    fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "samples_ms": samples}


def lloyd(case, repeats):
    x = np.fromfile(case["x"], dtype=np.float32).reshape(case["rows"], case["dims"])
    centers = np.fromfile(case["centroids"], dtype=np.float32).reshape(case["k"], case["dims"])
    k = case["k"]
    weights = np.ones(case["rows"], dtype=np.float32)
    try:
        # One assignment-and-update pass, exactly what KMeans.fit repeats per iteration.
        from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense

        labels = np.zeros(case["rows"], dtype=np.int32)
        centers_new = np.empty_like(centers)
        in_cluster = np.zeros(k, dtype=np.float32)
        shift = np.zeros(k, dtype=np.float32)

        def run():
            lloyd_iter_chunked_dense(x, weights, centers, centers_new, in_cluster, labels, shift, 1, True)

        how = "sklearn.cluster._k_means_lloyd.lloyd_iter_chunked_dense, n_threads=1"
    except ImportError:
        from sklearn.cluster import KMeans

        def run():
            KMeans(n_clusters=k, init=centers, n_init=1, max_iter=1, tol=0, algorithm="lloyd").fit(x)

        how = "KMeans(max_iter=1).fit (private Lloyd iteration not importable)"
    result = timed(run, repeats)
    result["how"] = how
    return result


def gradient(case, repeats):
    x = np.fromfile(case["x"], dtype=np.float32).reshape(case["rows"], case["dims"])
    y = np.fromfile(case["y"], dtype=np.float32)
    w = np.fromfile(case["w"], dtype=np.float32)

    def run():
        z = x @ w
        return x.T @ (1.0 / (1.0 + np.exp(-z)) - y)

    result = timed(run, repeats)
    result["how"] = "numpy float32: X.T @ (sigmoid(X @ w) - y)"
    return result


def main():
    job = json.load(open(sys.argv[1]))
    out = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    with threadpool_limits(limits=1):
        out["threadpools"] = [
            {k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for info in threadpool_info()
        ]
        out["kmeans"] = [dict(case=c["name"], **lloyd(c, job["repeats"])) for c in job["kmeans"]]
        out["logreg"] = [dict(case=c["name"], **gradient(c, job["repeats"])) for c in job["logreg"]]
    print(json.dumps(out))


main()
