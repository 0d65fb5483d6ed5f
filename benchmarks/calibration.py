"""Calibration under the natural distribution, before and after the prior correction.

Each re-balancing strategy trains toward equal classes, so its
``predict_proba`` overstates rare classes on data drawn as the training set
was. This benchmark trains each strategy on a long-tailed split, draws a
*natural* test set (the balanced test set subsampled to the training
frequencies) and reports the top-label ECE and the log-loss there, with
``proba_prior=None`` (the balanced scores) and with ``proba_prior='train'``;
balanced accuracy is measured on the balanced test set, and ``predict`` is
the same in both. Strategies whose prior is not known from their settings
(focal, LDAM) get a stratified validation split to estimate it on.

    python benchmarks/calibration.py --datasets digits mnist --rho 100 --seeds 3

``--report-figure PATH`` also saves :func:`imbtorch.report`'s figure of the
default model (first dataset, first seed) on the natural test set.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import balanced_accuracy_score, log_loss
from skorch.dataset import ValidSplit

from imbtorch import BalancedImageClassifier, report
from imbtorch.datasets import load_long_tailed_digits, load_long_tailed_mnist
from imbtorch.evaluation import expected_calibration_error
from imbtorch.strategies import strategy_params

LOADERS = {"digits": load_long_tailed_digits, "mnist": load_long_tailed_mnist}
STRATEGIES = (
    "ce",
    "auto",
    "balanced_weights",
    "class_balanced_sampler",
    "sqrt_sampler",
    "balanced_softmax",
    "crt",
    "ldam_drw",
    "focal",
)
HELD_OUT = ("ldam_drw", "focal")  # their prior is estimated on a validation split


def natural_subset(y_train, y_test, seed: int) -> np.ndarray:
    """Rows of the balanced test set drawn in proportion to the training counts."""
    counts = np.bincount(y_train)
    per_class = np.bincount(y_test).min()
    rng = np.random.default_rng(seed)
    rows = [
        rng.choice(np.flatnonzero(y_test == c), max(1, round(per_class * n / counts.max())), False)
        for c, n in enumerate(counts)
    ]
    return np.concatenate(rows)


def run_one(name: str, split, *, seed: int, epochs: int) -> tuple[dict, BalancedImageClassifier]:
    X_train, X_test, y_train, y_test = split
    params = strategy_params(name, epochs)
    if name in HELD_OUT:
        params["train_split"] = ValidSplit(0.2, stratified=True, random_state=seed)
    clf = BalancedImageClassifier(
        max_epochs=epochs, random_state=seed, proba_prior="train", **params
    )
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    natural = natural_subset(y_train, y_test, seed)
    X_nat, y_nat = X_test[natural], y_test[natural]
    scores = clf.set_params(proba_prior=None).predict_proba(X_nat)
    corrected = clf.set_params(proba_prior="train").predict_proba(X_nat)
    row = {
        "strategy": name,
        "seed": seed,
        "prior_from": clf.decision_prior_source_,
        "balanced_accuracy": balanced_accuracy_score(y_test, clf.predict(X_test)),
        "ece_before": expected_calibration_error(y_nat, scores, labels=clf.classes_),
        "ece_after": expected_calibration_error(y_nat, corrected, labels=clf.classes_),
        "nll_before": log_loss(y_nat, scores, labels=clf.classes_),
        "nll_after": log_loss(y_nat, corrected, labels=clf.classes_),
        "seconds": seconds,
    }
    return row, clf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(LOADERS), default=["digits"])
    parser.add_argument("--rho", type=float, nargs="+", default=[100.0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    parser.add_argument("--out", help="CSV of every run")
    parser.add_argument("--report-figure", help="PNG of the default model's report")
    args = parser.parse_args()
    rows = []
    for dataset in args.datasets:
        for rho in args.rho:
            for seed in range(args.seeds):
                split = LOADERS[dataset](rho, random_state=seed)
                for name in args.strategies:
                    row, clf = run_one(name, split, seed=seed, epochs=args.epochs)
                    rows.append({"dataset": f"{dataset}-LT rho={rho:g}", **row})
                    print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
                    if args.report_figure and name == "auto" and seed == 0:
                        _, X_test, y_train, y_test = split
                        natural = natural_subset(y_train, y_test, seed)
                        clf.set_params(proba_prior="train")
                        report(clf, X_test[natural], y_test[natural]).savefig(args.report_figure)
                        args.report_figure = None
    runs = pd.DataFrame(rows)
    if args.out:
        runs.to_csv(args.out, index=False)
    table = runs.groupby(["dataset", "strategy"], sort=False).agg(
        prior_from=("prior_from", "first"),
        balanced_accuracy=("balanced_accuracy", "mean"),
        ece_before=("ece_before", "mean"),
        ece_after=("ece_after", "mean"),
        nll_before=("nll_before", "mean"),
        nll_after=("nll_after", "mean"),
    )
    table["ece_ratio"] = table["ece_after"] / table["ece_before"]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor()
    print(
        f"\n{date.today()}, torch {torch.__version__}, {device or 'CPU'}, "
        f"{args.seeds} seeds, {args.epochs} epochs"
    )
    print(table.round(3).to_markdown())


if __name__ == "__main__":
    main()
