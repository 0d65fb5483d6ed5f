"""Grid search over resamplers and heads on CNN embeddings, with and without a cache.

An imblearn pipeline ``ImageEmbedder -> StandardScaler -> resampler ->
LogisticRegression`` is
searched over K resampler/head configurations with GridSearchCV. Without a
cache every configuration retrains the CNN on every fold; with
``Pipeline(memory=joblib.Memory(...))`` the fitted embedder is reused, so the
CNN trains once per fold. Both searches run in this process, one after the
other, on long-tailed digits (8x8) or MNIST-5k (28x28, ``--dataset mnist``);
the script prints their times, the ratio and the CNN trainings counted.

    python benchmarks/embedding_search.py --epochs 30 --folds 3
    python benchmarks/embedding_search.py --dataset mnist --epochs 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
from imblearn.combine import SMOTETomek
from imblearn.over_sampling import SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from joblib import Memory
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from imbtorch import BalancedImageClassifier, ImageEmbedder
from imbtorch.datasets import load_long_tailed_digits, load_long_tailed_mnist
from imbtorch.samplers.resampling import CappedNeighbors, SmallClassWarning

CNN_FITS = []  # ADASYN is left out: on well-separated embeddings it finds no
# neighbours of other classes and stops ("ADASYN is not suited for this dataset")


class CountFits(Callback):
    def on_train_begin(self, net, **kwargs):
        CNN_FITS.append(1)


def grid() -> dict:
    return {
        "resample": [
            "passthrough",
            CappedNeighbors(SMOTE(random_state=0)),
            CappedNeighbors(BorderlineSMOTE(random_state=0)),
            CappedNeighbors(SMOTETomek(smote=SMOTE(random_state=0), random_state=0)),
            RandomOverSampler(random_state=0),
            RandomUnderSampler(random_state=0),
        ],
        "head__C": [0.1, 1.0],
    }


def search(X, y, *, epochs: int, folds: int, memory) -> tuple[float, int, GridSearchCV]:
    CNN_FITS.clear()
    cnn = BalancedImageClassifier(max_epochs=epochs, random_state=0, callbacks=[CountFits()])
    pipe = Pipeline(
        [
            ("embed", ImageEmbedder(cnn)),
            ("scale", StandardScaler()),  # SMOTE's distances and lbfgs both want it
            ("resample", "passthrough"),
            ("head", LogisticRegression(max_iter=2000)),
        ],
        memory=memory,
    )
    search = GridSearchCV(
        pipe, grid(), scoring="balanced_accuracy", cv=StratifiedKFold(folds), error_score="raise"
    )
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start, len(CNN_FITS), search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--rho", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", SmallClassWarning)
    load = {"digits": load_long_tailed_digits, "mnist": load_long_tailed_mnist}[args.dataset]
    X, _, y, _ = load(args.rho, random_state=0)
    n_configs = int(np.prod([len(v) for v in grid().values()]))
    print(
        f"long-tailed {args.dataset} rho={args.rho:g}: train counts {np.bincount(y).tolist()}; "
        f"{n_configs} configs x {args.folds} folds, CNN {args.epochs} epochs"
    )
    naive_s, naive_fits, naive = search(X, y, epochs=args.epochs, folds=args.folds, memory=None)
    with tempfile.TemporaryDirectory() as cache:
        cached_s, cached_fits, cached = search(
            X, y, epochs=args.epochs, folds=args.folds, memory=Memory(cache, verbose=0)
        )
    same = np.allclose(naive.cv_results_["mean_test_score"], cached.cv_results_["mean_test_score"])
    print(f"{'search':<10}{'seconds':>10}{'CNN fits':>10}")
    print(f"{'naive':<10}{naive_s:>10.1f}{naive_fits:>10}")
    print(f"{'cached':<10}{cached_s:>10.1f}{cached_fits:>10}")
    print(f"speed-up naive/cached: {naive_s / cached_s:.1f}x (K/2 = {n_configs / 2:g})")
    print(f"same CV scores: {same}; best: {cached.best_params_} ({cached.best_score_:.3f})")


if __name__ == "__main__":
    main()
