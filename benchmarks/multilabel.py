"""Multi-label imbalance on real digits: mean average precision of every label, and of the tail.

The set is :func:`imbtorch.datasets.load_long_tailed_mosaics`: 2x2 mosaics of
MNIST digits labelled by the digits they show, the digits of the training
cells drawn with the long-tail profile (``rho=100``: 87% of the training
mosaics show a 0, 1.3% a 9), those of the test cells uniformly; the test
mosaics show held-out digit images. Mosaics are average-pooled 2x to 28x28
(``--pool 1`` keeps 56x56). Each method trains ``BalancedImageClassifier``'s
default network for the same epochs; the peers are a hand-written torch loop
with ``BCEWithLogitsLoss(pos_weight=n_neg / n_pos)`` on the same network,
and (``ovr``) scikit-learn's ``OneVsRestClassifier`` over one
single-label ``BalancedImageClassifier(class_weight='balanced')`` per label.
``auto+tuned_thresholds`` is the default classifier fitted on 80% of the
training mosaics inside :class:`~imbtorch.TunedLabelThresholdsCV`, each
label's F1 threshold tuned on the other 20%. The table gives macro and
micro mAP, the mean AP of the 3 rarest labels (``tail_map``) and macro-F1
of ``predict`` (at 0.5, or the tuned thresholds), averaged over seeds, and
seconds per fit.

    python benchmarks/multilabel.py --seeds 3 --epochs 15
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
import torch.nn.functional as F
from peers import HandLoop, prepare
from sklearn.multiclass import OneVsRestClassifier

from imbtorch import BalancedImageClassifier, TunedLabelThresholdsCV
from imbtorch.datasets import load_long_tailed_mosaics
from imbtorch.evaluation import multilabel_scores, tail_label_columns
from imbtorch.strategies import strategy_params

#: name -> BalancedImageClassifier parameters (named strategies, and the pairings
#: their papers trained with)
METHODS = {
    "ce": strategy_params("ce", 1),
    "auto": strategy_params("auto", 1),
    "balanced_weights": strategy_params("balanced_weights", 1),
    "focal": strategy_params("focal", 1),
    "asl": strategy_params("asl", 1),
    "distribution_balanced": strategy_params("distribution_balanced", 1),
    "logit_adjusted": strategy_params("logit_adjusted", 1),
    "label_aware_sampler": strategy_params("class_balanced_sampler", 1),
    "distribution_balanced+label_aware": {
        "strategy": None,
        "loss": "distribution_balanced",
        "sampler": "class_balanced",
    },
    "asl+label_aware": {"strategy": None, "loss": "asl", "sampler": "class_balanced"},
}
PEERS = ("torch_loop_pos_weight", "ovr", "auto+tuned_thresholds")


def pooled(X: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return X
    images = torch.from_numpy(X).float()[:, None]
    return F.avg_pool2d(images, factor)[:, 0].round().to(torch.uint8).numpy()


def fit_predict(
    method: str, split, *, seed: int, epochs: int, lr: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each label's probability on the test mosaics, and the predicted indicator matrix.

    ``lr`` sets every ``BalancedImageClassifier``'s (``None``: its default).
    """
    X_train, X_test, Y_train, _ = split
    if method == "torch_loop_pos_weight":
        device = "cuda" if torch.cuda.is_available() else "cpu"
        train, test = prepare(X_train, X_test)
        model = HandLoop(epochs=epochs, seed=seed, device=device).fit(train, Y_train)
        return model.predict_proba(test), model.predict(test)
    if method == "ovr":
        single = BalancedImageClassifier(
            max_epochs=epochs, random_state=seed, lr=lr, strategy=None, class_weight="balanced"
        )
        model = OneVsRestClassifier(single).fit(X_train, Y_train)
    elif method == "auto+tuned_thresholds":  # one fit on 80%, F1 thresholds on the other 20%
        clf = BalancedImageClassifier(max_epochs=epochs, random_state=seed, lr=lr)
        model = TunedLabelThresholdsCV(clf, cv=0.2, refit=False, random_state=seed)
        model.fit(X_train, Y_train)
    else:
        model = BalancedImageClassifier(
            max_epochs=epochs, random_state=seed, lr=lr, **METHODS[method]
        )
        model.fit(X_train, Y_train)
    return model.predict_proba(X_test), model.predict(X_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rho", type=float, default=100.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=2, help="average-pool the mosaics by this")
    parser.add_argument("--source", choices=["mnist", "digits"], default="mnist")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=[*METHODS, "torch_loop_pos_weight"],
        help=f"of {[*METHODS, *PEERS]}",
    )
    parser.add_argument("--lr", type=float, help="of every imbtorch method (default: its own)")
    parser.add_argument("--ovr-seeds", type=int, default=0, help="seeds that also run 'ovr'")
    parser.add_argument("--out", help="CSV of every run (a .md table beside it)")
    parser.add_argument("--from-csv", nargs="+", help="summarise the runs of these CSVs instead")
    args = parser.parse_args()
    unknown = set(args.methods) - {*METHODS, *PEERS}
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {[*METHODS, *PEERS]}")
    if args.from_csv:  # the tables of earlier runs, merged
        runs = pd.concat([pd.read_csv(path) for path in args.from_csv], ignore_index=True)
        header = f"runs of {', '.join(args.from_csv)}"
    else:
        runs, header = measure(args)
        if args.out:
            runs.to_csv(args.out, index=False)
    text = f"{header}\n\n{summary(runs)}"
    print(f"\n{text}")
    if args.out:
        Path(args.out).with_suffix(".md").write_text(text + "\n")


def measure(args) -> tuple[pd.DataFrame, str]:
    """Every method on every seed's mosaics, in rotated order; the runs and their setting."""
    rows = []
    for seed in range(args.seeds):
        X_train, X_test, Y_train, Y_test = load_long_tailed_mosaics(
            args.rho,
            source=args.source,
            n_train=args.n_train,
            n_test=args.n_test,
            random_state=seed,
        )
        split = (pooled(X_train, args.pool), pooled(X_test, args.pool), Y_train, Y_test)
        tail = tail_label_columns(Y_train)
        methods = list(args.methods) + (["ovr"] if seed < args.ovr_seeds else [])
        for shift in range(len(methods)):  # rotated, so that no method always runs first
            method = methods[(shift + seed) % len(methods)]
            start = time.perf_counter()
            proba, predicted = fit_predict(method, split, seed=seed, epochs=args.epochs, lr=args.lr)
            seconds = time.perf_counter() - start
            scores = multilabel_scores(Y_test, proba, y_pred=predicted, tail_labels=tail)
            row = {"method": method, "seed": seed, **scores, "seconds": seconds}
            rows.append(row)
            print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor()
    header = (
        f"{date.today()}, torch {torch.__version__}, {device or 'CPU'}, {args.source} mosaics "
        f"rho={args.rho:g}, {args.n_train} training / {args.n_test} test mosaics of "
        f"{split[0].shape[1]}x{split[0].shape[2]}, {args.epochs} epochs, "
        f"lr {args.lr or 'default'}, {args.seeds} seeds; "
        f"tail = labels {tail.tolist()} (the 3 rarest of the last seed)"
    )
    return pd.DataFrame(rows), header


def summary(runs: pd.DataFrame) -> str:
    """The mean of every score per method (tail mAP's std over seeds), best macro mAP first."""
    columns = ["map_macro", "tail_map", "map_micro", "f1_macro", "seconds"]
    table = runs.groupby("method")[columns].mean()
    table.insert(2, "tail_map_std", runs.groupby("method")["tail_map"].std())
    table["seeds"] = runs.groupby("method").size()
    table = table.sort_values("map_macro", ascending=False)
    baseline = table.loc["ce", "tail_map"] if "ce" in table.index else np.nan
    best = table["tail_map"].idxmax()
    return (
        f"{table.round(3).to_markdown()}\n\nBest tail mAP: {best} "
        f"{table.loc[best, 'tail_map']:.3f}, {100 * (table.loc[best, 'tail_map'] - baseline):+.1f} "
        "points over plain binary cross-entropy ('ce')."
    )


if __name__ == "__main__":
    main()
