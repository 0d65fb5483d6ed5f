"""Unlabelled images beside long-tailed labelled ones: what using them gains.

Each seed holds out a balanced test set (for the texture patches of
``textures.py``, from the photographs' other blocks, so that no patch both
trains and tests), then draws the labelled images long-tailed (rho = 100,
the head class keeping ``--labeled-share`` of the smallest class's images)
from the rest. What is left is unlabelled, in one of two pools:

- ``balanced``: all the rest, nearly balanced (the head class gave the most to
  the labelled images);
- ``longtailed``: a subset of the rest with the labels' profile (rho = 100),
  since real pools are long-tailed too.

Every method trains on the same split with the same seed, the unlabelled
images marked ``-1``:

- ``labeled``: the default on the labelled images alone;
- ``oracle``: the default on every image with its true label, the unlabelled
  ones too: what the pool could give at most;
- ``selftraining``: scikit-learn's ``SelfTrainingClassifier`` around the default
  (threshold 0.9, one round of pseudo-labels), on flat rows;
- ``auto``: the default given the unlabelled images (self-training);
- ``self_training``: ``unlabeled='self_training'``; ``rebalance=<a>`` and
  ``threshold=<t>`` change ``pseudo_label_rebalance`` and ``pseudo_label_threshold``;
- ``fixmatch``: ``unlabeled='fixmatch'``; ``fixmatch,prior=<p>`` with
  ``pseudo_label_prior=<p>`` (``none``, ``uniform``, ``labeled``,
  ``estimate``), ``ratio=<k>``, ``threshold=<t>`` and ``epochs=<e>`` change
  the other settings;
- ``simclr`` / ``byol`` / ``sdclr``: ``ImageEmbedder(self_supervised=...)`` trained on
  every image without its label (``ssl_epochs=<e>`` epochs, 30 by default),
  then the default fine-tuned from that trunk (``backbone_weights=``) on the
  labelled images (``lr=<x>``: at that learning rate rather than the
  fine-tuning default).

Prints balanced accuracy, the recall of the three rarest classes and seconds
per fit (mean over seeds) and writes ``<tag>_unlabeled.csv`` (one row a run;
it adds the share pseudo-labelled and, for self-training, the share of the
kept pseudo-labels that are right)::

    python benchmarks/unlabeled.py --dataset digits --seeds 3
    python benchmarks/unlabeled.py --dataset digits --methods labeled auto self_training,rebalance=1
    python benchmarks/unlabeled.py --dataset mnist --methods labeled selftraining fixmatch
    python benchmarks/unlabeled.py --methods labeled fixmatch,epochs=90 --seeds 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.semi_supervised import SelfTrainingClassifier
from textures import texture_patches

from imbtorch import BalancedImageClassifier, ImageEmbedder
from imbtorch.datasets import make_long_tailed
from imbtorch.datasets.long_tailed import _mnist_images
from imbtorch.training.self_supervised import SELF_SUPERVISED_METHODS

RESULTS = Path(__file__).with_name("results")
DATASETS = {"digits": 50, "mnist": 100, "textures": 100}  # name -> test images per class
METHODS = (
    "labeled",
    "selftraining",
    "auto",
    "self_training,rebalance=1",
    "fixmatch",
    "fixmatch,prior=none",
    "simclr",
    "byol",
    "sdclr",
)
SSL_EPOCHS = 30


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The whole set: images ``(N, H, W)`` and labels, and the images the test set is drawn
    from where they are others (the texture patches of the other blocks), else None."""
    if name == "digits":
        digits = load_digits()
        return digits.images.astype(np.float32), digits.target, None, None
    if name == "textures":
        X, y, X_other, y_other = texture_patches()
        return X.astype(np.float32), y, X_other.astype(np.float32), y_other
    return (*_mnist_images(), None, None)


def split(name: str, pool: str, *, rho: float, labeled_share: float, seed: int):
    """``(X_train, y_train, X_test, y_test, y_true)``; ``y_train`` marks the unlabelled images
    -1, ``y_true`` holds their labels (for ``oracle`` only)."""
    X, y, X_other, y_other = load(name)
    if X_other is None:
        X_other, y_other = X, y
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y_other), dtype=bool)
    for c in np.unique(y_other):
        test[rng.choice(np.flatnonzero(y_other == c), DATASETS[name], replace=False)] = True
    if X_other is not X:  # the test images come from elsewhere: every image may train
        X_test, y_test, test = X_other[test], y_other[test], np.zeros(len(y), dtype=bool)
    else:
        X_test, y_test = X[test], y[test]
    rest = np.flatnonzero(~test)
    n_max = int(labeled_share * np.bincount(y[rest]).min())
    index = np.arange(len(y))
    labeled, _ = make_long_tailed(index[rest], y[rest], rho, n_max=n_max, random_state=seed)
    others = np.setdiff1d(rest, labeled)
    if pool == "longtailed":
        others, _ = make_long_tailed(others, y[others], rho, random_state=seed + 1)
    train = np.concatenate([labeled, others])
    y_train = np.concatenate([y[labeled], np.full(len(others), -1)])
    return X[train], y_train, X_test, y_test, y[train]


def estimator(method: str, *, seed: int, epochs: int) -> BalancedImageClassifier:
    clf = BalancedImageClassifier(max_epochs=epochs, random_state=seed)
    if method.startswith(("fixmatch", "self_training")):
        clf.set_params(unlabeled=method.split(",")[0])
    for change in method.split(","):
        if "=" not in change:
            continue
        key, value = change.split("=")
        if key == "prior":
            clf.set_params(pseudo_label_prior=None if value == "none" else value)
        elif key == "ratio":
            clf.set_params(unlabeled_ratio=int(value))
        elif key == "threshold":
            clf.set_params(pseudo_label_threshold=float(value))
        elif key == "rebalance":
            clf.set_params(pseudo_label_rebalance=float(value))
        elif key == "epochs":
            clf.set_params(max_epochs=int(value))
    return clf


def fit_predict(method: str, data, *, seed: int, epochs: int) -> tuple[np.ndarray, dict]:
    X, y, X_test, _, y_true = data
    if method == "oracle":
        clf = BalancedImageClassifier(max_epochs=epochs, random_state=seed).fit(X, y_true)
        return clf.predict(X_test), {}
    if method == "labeled":
        keep = y != -1
        clf = BalancedImageClassifier(max_epochs=epochs, random_state=seed).fit(X[keep], y[keep])
        return clf.predict(X_test), {}
    if method.split(",")[0] in SELF_SUPERVISED_METHODS:
        name, *changes = method.split(",")
        settings = dict(change.split("=") for change in changes)
        embedder = ImageEmbedder(
            "simple_cnn",
            self_supervised=name,
            max_epochs=int(settings.get("ssl_epochs", SSL_EPOCHS)),
            random_state=seed,
        ).fit(X)  # every image, its label unused
        keep = y != -1
        clf = BalancedImageClassifier(
            max_epochs=epochs,
            random_state=seed,
            backbone_weights=embedder,
            lr=float(settings["lr"]) if "lr" in settings else None,
        )
        return clf.fit(X[keep], y[keep]).predict(X_test), {}
    if method == "selftraining":
        flat = X.reshape(len(X), -1)
        base = BalancedImageClassifier(
            max_epochs=epochs, random_state=seed, image_shape=(1, *X.shape[1:])
        )
        clf = SelfTrainingClassifier(base, threshold=0.9, max_iter=1).fit(flat, y)
        return clf.predict(X_test.reshape(len(X_test), -1)), {}
    clf = estimator(method, seed=seed, epochs=epochs).fit(X, y)
    unlabeled = clf.plan_.unlabeled
    share = unlabeled.confident_share  # FixMatch's, in its last epoch; self-training's kept
    extra = {}
    record = unlabeled.pseudo_labels
    if record is not None:
        share = len(record.positions) / unlabeled.n_unlabeled
        if len(record.positions):
            extra["pseudo_label_accuracy"] = np.mean(record.labels == y_true[record.positions])
    return clf.predict(X_test), {"pseudo_labeled": share, **extra}


def run(args) -> pd.DataFrame:
    rows = []
    for dataset in args.dataset:
        for pool in args.pool:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                data = split(
                    dataset, pool, rho=args.rho, labeled_share=args.labeled_share, seed=seed
                )
                y_lab = data[1][data[1] != -1]
                rare = np.argsort(np.bincount(y_lab, minlength=10))[:3]
                for method in args.methods:
                    start = time.perf_counter()
                    pred, extra = fit_predict(method, data, seed=seed, epochs=args.epochs)
                    seconds = time.perf_counter() - start
                    recall = recall_score(data[3], pred, labels=rare, average="macro")
                    row = {
                        "dataset": dataset,
                        "pool": pool,
                        "seed": seed,
                        "method": method,
                        "n_labeled": len(y_lab),
                        "n_unlabeled": int((data[1] == -1).sum()),
                        "balanced_accuracy": balanced_accuracy_score(data[3], pred),
                        "few_recall": recall,
                        "seconds": seconds,
                        **extra,
                    }
                    rows.append(row)
                    print(
                        f"{dataset} {pool} seed {seed} {method}: "
                        f"{row['balanced_accuracy']:.3f} (rare {recall:.3f}) {seconds:.0f} s",
                        flush=True,
                    )
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    keys = ["dataset", "pool", "method"]
    table = runs.groupby(keys, sort=False)[["balanced_accuracy", "few_recall", "seconds"]].mean()
    return table.round(3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", default=["digits"], choices=sorted(DATASETS))
    parser.add_argument("--pool", nargs="+", default=["balanced", "longtailed"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rho", type=float, default=100)
    parser.add_argument("--labeled-share", type=float, default=0.5)
    parser.add_argument("--tag", default="")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    runs = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(args.out / f"{args.tag}{'_' if args.tag else ''}unlabeled.csv", index=False)
    print(summarize(runs).to_markdown())


if __name__ == "__main__":
    main()
