"""Decision rules on one trained trunk: which classifier suits which long-tailed set.

Kang et al. 2020 and Menon et al. 2021 found that most of what separates the
long-tail strategies sits in the last layer. This benchmark trains each
``--trunks`` method once per set and seed (its own loss, sampler, mixup...,
with no classifier stage and no post-hoc shift), caches the features of the
training and test images, and scores on the same features every rule
``strategy='auto'`` could choose among:

- ``joint``: the classifier trained with the trunk; ``joint-0.5`` and
  ``joint-1``: its logits less 0.5 and 1 times the log prior (post-hoc logit
  adjustment);
- ``cb``: the classifier re-trained alone, class-balanced (cRT);
  ``cb+las``: the same with label-aware smoothing (MiSLAS's 0.3 at the head,
  0 at the tail);
- ``sqrt-0.5``: re-trained on square-root-sampled features, less half the
  log prior (the default's stage, ``head_resampler='sqrt'``);
- ``auto``: what ``strategy='auto'`` decides by after its trunk: ``joint``
  where the joint classifier's training balanced accuracy is at least
  ``AUTO_JOINT_MIN_SCORE``, else ``sqrt-0.5`` (needs both).

The stages are trained as ``BalancedImageClassifier`` trains them
(:func:`imbtorch.training.decoupled.retrain_classifier` with the fit's
``head_epochs``, batch size, learning rate and head seed), so ``'ce'`` with
``cb`` is the named strategy ``'crt'`` and ``'logit_adjusted'`` with
``auto`` is the default. Prints, for every trunk and rule, the mean
balanced accuracy on each set and its worst gap to the best trunk and rule
of each set, and the trunk's training balanced accuracy (its joint
classifier on its own training images), a signal no test image informs.

    python benchmarks/decision_rules.py --dataset digits photos --class-order sorted random
    python benchmarks/decision_rules.py --trunks logit_adjusted "logit_adjusted:mixup='mixup'"
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from longtail import DATASETS, loader, markdown, parse_method

from imbtorch import BalancedImageClassifier
from imbtorch.device import check_device, resolve_device
from imbtorch.evaluation.metrics import imbalance_scores, tail_labels
from imbtorch.networks.heads import classifier_layer
from imbtorch.networks.layers import NormedLinear
from imbtorch.strategies import AUTO_JOINT_MIN_SCORE, STRATEGY_NAMES, strategy_params
from imbtorch.training.decoupled import (
    joint_balanced_accuracy,
    label_aware_smoothing,
    retrain_classifier,
)

TRUNKS = ("logit_adjusted", "ce", "mixup", "logit_adjusted:mixup='mixup'")
#: rule -> (classifier stage or None, smoothing at head and tail or None, shift by the log prior)
RULES = {
    "joint": (None, None, 0.0),
    "joint-0.5": (None, None, 0.5),
    "joint-1": (None, None, 1.0),
    "cb": ("class_balanced", None, 0.0),
    "cb+las": ("class_balanced", (0.3, 0.0), 0.0),
    "sqrt-0.5": ("sqrt", None, 0.5),
}


def fit_trunk(trunk: str, X, y, *, seed: int, epochs: int, device) -> BalancedImageClassifier:
    """``trunk``'s fit without a classifier stage or post-hoc shift (the rules add them)."""
    name, changes = parse_method(trunk)
    clf = BalancedImageClassifier(max_epochs=epochs, random_state=seed, device=device)
    clf.set_params(**{**strategy_params(name, epochs), **changes})
    clf.set_params(head_resampler=None, predict_logit_adjust=None)
    return clf.fit(X, y)


def rule_logits(clf, train_features, codes, test_features, rule: str) -> np.ndarray:
    """Test logits of ``rule`` on the trunk of ``clf`` (its classifier is left as trained)."""
    resampler, smoothing, shift = RULES[rule]
    layer = classifier_layer(clf.module_, len(clf.classes_))
    if resampler is not None:
        layer = copy.deepcopy(layer)
        retrain_classifier(  # as imbtorch.training.decoupled.retrain_head trains the stage
            layer,
            train_features,
            codes,
            resampler=resampler,
            epochs=clf.head_epochs,
            batch_size=len(codes) if clf.batch_size == -1 else clf.batch_size,
            lr=clf.learning_rate(),
            seed=clf.schedule_.head_seed(),
            logit_scale=clf.criterion_.scale if isinstance(layer, NormedLinear) else 1.0,
            smoothing=None
            if smoothing is None
            else label_aware_smoothing(clf.class_counts_, *smoothing),
        )
    with torch.no_grad():
        weight = next(layer.parameters())
        logits = layer(torch.as_tensor(test_features, device=weight.device)).cpu().numpy()
    return logits.astype(np.float64) - shift * np.log(clf.class_counts_ / clf.class_counts_.sum())


def score_rules(clf, split, rules) -> tuple[dict, float]:
    """Balanced accuracy and tail recall of each rule on the split's test part; the
    training balanced accuracy of the trunk's joint classifier."""
    X_train, X_test, y_train, y_test = split
    train_features, test_features = clf.embed(X_train), clf.embed(X_test)
    codes = np.searchsorted(clf.classes_, y_train)
    train_bacc = joint_balanced_accuracy(clf, train_features, codes)  # as 'auto' scores it
    scores = {}
    for rule in rules:
        if rule == "auto":
            continue
        logits = rule_logits(clf, train_features, codes, test_features, rule)
        pred = clf.classes_[logits.argmax(1)]
        scores[rule] = imbalance_scores(y_test, pred, tail_labels=tail_labels(y_train))
    if "auto" in rules:  # strategy='auto''s choice after its trunk
        scores["auto"] = scores["joint" if train_bacc >= AUTO_JOINT_MIN_SCORE else "sqrt-0.5"]
    return scores, train_bacc


def run(args) -> pd.DataFrame:
    device = resolve_device(args.device)
    rows = []
    for dataset in args.dataset:
        for order in args.class_order:
            load = loader(dataset, args.cifar_dir, order)
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                split = load(args.rho, seed)
                for trunk in args.trunks:
                    start = time.perf_counter()
                    clf = fit_trunk(
                        trunk, split[0], split[2], seed=seed, epochs=args.epochs, device=device
                    )
                    seconds = time.perf_counter() - start
                    scores, train_bacc = score_rules(clf, split, args.rules)
                    fit = {"dataset": dataset, "class_order": order, "rho": args.rho, "seed": seed}
                    fit.update(
                        trunk=trunk, train_balanced_accuracy=train_bacc, trunk_seconds=seconds
                    )
                    for rule, score in scores.items():
                        rows.append(
                            {
                                **fit,
                                "rule": rule,
                                "balanced_accuracy": score["balanced_accuracy"],
                                "tail_recall": score["tail_recall"],
                            }
                        )
                    line = " ".join(f"{r} {s['balanced_accuracy']:.3f}" for r, s in scores.items())
                    print(
                        f"{dataset} {order} seed {seed} {trunk} "
                        f"(training {train_bacc:.3f}, {seconds:.0f} s): {line}",
                        flush=True,
                    )
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean balanced accuracy per set of each trunk and rule, its worst gap to each set's best,
    and the mean training balanced accuracy of each trunk per set."""
    runs = runs.assign(set=runs["dataset"] + " " + runs["class_order"])
    means = runs.pivot_table(
        index=["trunk", "rule"], columns="set", values="balanced_accuracy", aggfunc="mean"
    )
    gaps = means - means.max(axis=0)
    table = means.round(3)
    table["worst gap (points)"] = (100 * gaps.min(axis=1)).round(1) + 0.0  # no "-0.0"
    train = runs.groupby(["trunk", "set"])["train_balanced_accuracy"].mean().unstack()
    table = table.sort_values("worst gap (points)", ascending=False).reset_index()
    train = train.round(3).reset_index()
    return table, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset",
        nargs="+",
        default=["digits", "photos"],
        choices=DATASETS,
    )
    parser.add_argument(
        "--class-order", nargs="+", default=["sorted"], choices=["sorted", "random"]
    )
    parser.add_argument("--cifar-dir", help="local CIFAR-10 (python version) for cifar10-lt")
    parser.add_argument("--rho", type=float, default=100.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--trunks", nargs="+", default=list(TRUNKS), help="strategies, as in longtail.py"
    )
    parser.add_argument("--rules", nargs="+", default=[*RULES, "auto"], choices=[*RULES, "auto"])
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--tag", default="", help="prefix of the output files")
    args = parser.parse_args()
    check_device(args.device)
    named = [name for name in STRATEGY_NAMES if name != "auto"]  # 'auto' chooses its own rule
    unknown = {parse_method(t)[0] for t in args.trunks} - set(named)
    if unknown:
        parser.error(f"unknown trunks {sorted(unknown)}; choose from {named}")
    if "auto" in args.rules and not {"joint", "sqrt-0.5"} <= set(args.rules):
        parser.error("the rule 'auto' chooses between 'joint' and 'sqrt-0.5': add them")
    runs = run(args)
    stem = f"{args.tag}_decision_rules" if args.tag else "decision_rules"
    args.out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(args.out / f"{stem}.csv", index=False)
    table, train = summarize(runs)
    text = (
        "Balanced accuracy on the test sets (mean over seeds), each trunk and rule:\n\n"
        + markdown(table)
        + "\n\nTraining balanced accuracy of each trunk's joint classifier:\n\n"
        + markdown(train)
        + "\n"
    )
    (args.out / f"{stem}.md").write_text(text)
    print("\n" + text)
    print(f"wrote {args.out / stem}.csv, .md")


if __name__ == "__main__":
    main()
