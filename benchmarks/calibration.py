"""Calibration under the natural distribution, before and after the prior correction.

Each re-balancing strategy trains toward equal classes, so its
``predict_proba`` overstates rare classes on data drawn as the training set
was. This benchmark trains each strategy on a long-tailed split and scores
its probabilities under the *natural* distribution: the whole balanced test
set, each image weighted by ``prior[y] / test_frequency[y]`` (the training
prior over the test set's), which is the expectation of a test set drawn at
the training frequencies without discarding images. It reports the
top-label ECE and the log-loss with ``proba_prior=None`` (the balanced
scores) and with ``proba_prior='train'``; balanced accuracy is measured on
the balanced test set, and ``predict`` is the same in both. The balanced
scores are also scored where they apply, on the balanced test set as it is:
``ece_balanced`` and ``confidence_gap`` (mean top probability less accuracy;
below 0: under-confident) at temperature 1, ``ece_balanced_after``, with
``proba_prior='balanced'`` (the same scores where no temperature was
fitted), and ``ece_balanced_tempered``, the scores ``predict`` decides by
divided by the ``temperature`` fitted on a split (1 without one), which is
what ``predict_proba`` reports. (With a split, ``ece_before`` is of those
tempered scores too.) A strategy may
carry changed parameters, as in ``longtail.py``:
``'auto:mixup_epochs=0,ema_epochs=0'``. Strategies whose prior is not
known from their settings (focal, LDAM) get a stratified validation split
to estimate it on.

    python benchmarks/calibration.py --datasets digits mnist --rho 100 --seeds 3

``--report-figure PATH`` also saves :func:`imbtorch.report`'s figure of the
default model (first dataset, first seed) on the balanced test set, with its
own (balanced-prior) probabilities, the ones that apply there.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from longtail import parse_method
from scipy.special import softmax
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


def run_one(
    name: str, split, *, seed: int, epochs: int, held_out: bool = False
) -> tuple[dict, BalancedImageClassifier | None]:
    X_train, X_test, y_train, y_test = split
    base, changes = parse_method(name)
    params = {**strategy_params(base, epochs), **changes}
    if base in HELD_OUT or held_out:
        params["train_split"] = ValidSplit(0.2, stratified=True, random_state=seed)
    clf = BalancedImageClassifier(
        max_epochs=epochs, random_state=seed, proba_prior="train", **params
    )
    start = time.perf_counter()
    try:
        clf.fit(X_train, y_train)
    except ValueError as error:  # a class too rare to stratify a validation split
        if "train_split" not in params:
            raise
        print(f"{name}, seed {seed}: no held-out estimate: {error}")
        return {"strategy": name, "seed": seed, "prior_from": "n/a (class too rare)"}, None
    seconds = time.perf_counter() - start
    weight = (np.bincount(y_train) / len(y_train))[y_test] / (np.bincount(y_test) / len(y_test))[
        y_test
    ]
    scores = clf.set_params(proba_prior=None).predict_proba(X_test)
    balanced = clf.set_params(proba_prior="balanced").predict_proba(X_test)
    corrected = clf.set_params(proba_prior="train").predict_proba(X_test)

    def ece(proba):
        return expected_calibration_error(y_test, proba, labels=clf.classes_, sample_weight=weight)

    def nll(proba):
        return log_loss(y_test, proba, labels=clf.classes_, sample_weight=weight)

    # predict_proba applies the temperature fitted on a split: the same scores at temperature 1
    raw = softmax(np.log(scores) * clf.proba_temperature_, axis=1)
    right = clf.classes_[scores.argmax(axis=1)] == y_test
    row = {
        "strategy": name,
        "seed": seed,
        "prior_from": clf.decision_prior_source_,
        "balanced_accuracy": balanced_accuracy_score(y_test, clf.predict(X_test)),
        # the scores where they apply: the balanced test set, as it is
        "ece_balanced": expected_calibration_error(y_test, raw, labels=clf.classes_),
        "confidence_gap": raw.max(axis=1).mean() - right.mean(),
        "ece_balanced_after": expected_calibration_error(y_test, balanced, labels=clf.classes_),
        # at the temperature fitted on a split (1 without one), as predict_proba reports them
        "ece_balanced_tempered": expected_calibration_error(y_test, scores, labels=clf.classes_),
        "temperature": clf.proba_temperature_,
        "ece_before": ece(scores),
        "ece_after": ece(corrected),
        "nll_before": nll(scores),
        "nll_after": nll(corrected),
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
    parser.add_argument(
        "--held-out-all",
        action="store_true",
        help="give every strategy the validation split (the temperature is then fitted there)",
    )
    args = parser.parse_args()
    rows = []
    for dataset in args.datasets:
        for rho in args.rho:
            for seed in range(args.seeds):
                split = LOADERS[dataset](rho, random_state=seed)
                for name in args.strategies:
                    row, clf = run_one(
                        name, split, seed=seed, epochs=args.epochs, held_out=args.held_out_all
                    )
                    rows.append({"dataset": f"{dataset}-LT rho={rho:g}", **row})
                    print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
                    if args.report_figure and name == "auto" and seed == 0:
                        clf.set_params(proba_prior=None)
                        report(clf, split[1], split[3]).savefig(args.report_figure)
                        args.report_figure = None
    runs = pd.DataFrame(rows)
    if args.out:
        runs.to_csv(args.out, index=False)
    table = runs.groupby(["dataset", "strategy"], sort=False).agg(
        prior_from=("prior_from", "first"),
        balanced_accuracy=("balanced_accuracy", "mean"),
        ece_balanced=("ece_balanced", "mean"),
        confidence_gap=("confidence_gap", "mean"),
        ece_balanced_after=("ece_balanced_after", "mean"),
        ece_balanced_tempered=("ece_balanced_tempered", "mean"),
        temperature=("temperature", "mean"),
        ece_before=("ece_before", "mean"),
        ece_after=("ece_after", "mean"),
        nll_before=("nll_before", "mean"),
        nll_after=("nll_after", "mean"),
    )
    table["ece_ratio"] = table["ece_after"] / table["ece_before"]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor()
    held_out = ", every strategy with a validation split" if args.held_out_all else ""
    text = (
        f"{date.today()}, torch {torch.__version__}, {device or 'CPU'}, "
        f"{args.seeds} seeds, {args.epochs} epochs{held_out}\n\n{table.round(3).to_markdown()}"
    )
    print(f"\n{text}")
    if args.out:
        Path(args.out).with_suffix(".md").write_text(text + "\n")


if __name__ == "__main__":
    main()
