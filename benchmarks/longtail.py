"""Leaderboard on long-tailed real images: imbtorch's strategies against what users do instead.

For every dataset and imbalance ratio rho, each seed draws one long-tailed
training split (n_i = n_max * rho^(-i/(C-1))) with a balanced test set, and
every method trains on that same split with that same seed:

- imbtorch: ``BalancedImageClassifier`` with named strategies
  (``imbtorch.strategies``; ``--methods`` takes any of them, e.g.
  ``auto posthoc_logit_adjust tau_norm drs``, and a strategy with parameters
  changed, as ``crt:precise_bn=False,head_epochs=10``);
- peers: plain skorch ``NeuralNetClassifier`` with cross-entropy (the
  baseline), a hand-written torch loop with ``WeightedRandomSampler``, and
  imblearn SMOTE on raw pixels + LogisticRegression (see ``peers.py``).

Prints balanced accuracy, macro-F1, recall of the 3 rarest classes and
seconds to fit and predict (mean ± std over seeds) and writes
``longtail.csv`` (per run, with G-mean too), ``longtail.md`` and
``longtail.png`` into ``--out`` (``--tag recipes`` names them
``recipes_longtail.*``). ``--compare-cost`` also times, on seed 0 of every
set, ``imbtorch.compare_strategies`` with its defaults (7 strategies x 5
folds, ``--compare-folds``) against one fit of ``strategy='auto'``, and writes the ratios to
``<tag>_compare_cost.csv``.

    python benchmarks/longtail.py                        # digits + MNIST-5k, rho 10 and 100
    python benchmarks/longtail.py --dataset digits --seeds 5
    python benchmarks/longtail.py --dataset digits --seeds 5 --first-seed 3   # fresh splits
    python benchmarks/longtail.py --class-order random   # which classes are rare varies
    python benchmarks/longtail.py --dataset textures     # patches of photographs (textures.py)
    python benchmarks/longtail.py --dataset photos       # ... of ten other photographs
    python benchmarks/longtail.py --dataset samples      # ... of eight packages' sample images
    python benchmarks/longtail.py --dataset patches28    # ... of all 28 images, 28 classes
    python benchmarks/longtail.py --dataset digits-ovr mnist-ovr   # one digit against the rest
    python benchmarks/longtail.py --split 5              # validate on a fifth (early stopping)
    python benchmarks/longtail.py --device cuda --epochs 200 \
        --set "backbone='resnet32',image_size=(64,64),batch_size=128"
    python benchmarks/longtail.py --dataset cifar10-lt --cifar-dir ~/data --device cuda
"""

from __future__ import annotations

import argparse
import ast
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from one_vs_rest import load_digits_ovr, load_mnist_ovr
from peers import HandLoop, plain_skorch, prepare, smote_logistic_regression
from skorch.dataset import ValidSplit
from textures import (
    load_long_tailed_patches28,
    load_long_tailed_photos,
    load_long_tailed_samples,
    load_long_tailed_textures,
)

from imbtorch import BalancedImageClassifier, compare_strategies
from imbtorch.datasets import (
    load_long_tailed_cifar10,
    load_long_tailed_digits,
    load_long_tailed_mnist,
)
from imbtorch.datasets.cifar import cifar10_folder
from imbtorch.device import check_device, resolve_device
from imbtorch.evaluation.metrics import imbalance_scores, tail_labels
from imbtorch.strategies import STRATEGY_NAMES, strategy_params

IMBTORCH = (
    "auto",  # the default
    "ce",
    "balanced_weights",
    "weighted_sampler",
    "class_balanced_sampler",
    "focal",
    "ldam_drw",
    "logit_adjusted",  # balanced_softmax is the same loss (see imbtorch.losses)
    "crt",
    "over_augment",
)
PEERS = ("skorch CE", "torch loop + WeightedRandomSampler", "SMOTE pixels + LogReg")
BASELINE = "skorch CE"


#: The sets :func:`loader` reads.
DATASETS = (
    "digits",
    "mnist",
    "textures",
    "photos",
    "samples",
    "patches28",
    "digits-ovr",
    "mnist-ovr",
    "cifar10-lt",
)


def loader(name: str, cifar_dir: str | None, class_order: str = "sorted"):
    """``(rho, seed) -> split``; ``class_order='random'``: each seed ranks the classes anew."""
    order = None if class_order == "sorted" else class_order
    if name == "digits":
        return lambda rho, seed: load_long_tailed_digits(rho, class_order=order, random_state=seed)
    if name == "mnist":
        return lambda rho, seed: load_long_tailed_mnist(rho, class_order=order, random_state=seed)
    if name == "textures":
        return lambda rho, seed: load_long_tailed_textures(
            rho, class_order=order, random_state=seed
        )
    if name == "photos":
        return lambda rho, seed: load_long_tailed_photos(rho, class_order=order, random_state=seed)
    if name == "samples":
        return lambda rho, seed: load_long_tailed_samples(rho, class_order=order, random_state=seed)
    if name in ("digits-ovr", "mnist-ovr"):  # binary: the seed picks the digit, no ranking
        load = load_digits_ovr if name == "digits-ovr" else load_mnist_ovr
        return lambda rho, seed: load(rho, random_state=seed)
    if name == "patches28":
        return lambda rho, seed: load_long_tailed_patches28(
            rho, class_order=order, random_state=seed
        )
    return lambda rho, seed: load_long_tailed_cifar10(
        cifar_dir, rho, class_order=order, random_state=seed
    )


def parse_method(method: str) -> tuple[str, dict]:
    """``'crt:precise_bn=False,head_epochs=10'`` -> ``('crt', {...})``.

    Values are Python literals; commas inside brackets stay in the value
    (``'auto:minority_classes=[0,1,2]'``).
    """
    name, _, changes = method.partition(":")
    return name, parse_params(changes)


def parse_params(text: str) -> dict:
    """``"lr=0.05,image_size=(64,64)"`` -> ``{'lr': 0.05, 'image_size': (64, 64)}``."""
    params = {}
    for change in filter(None, re.split(r",(?![^\[(]*[\])])", text)):
        key, _, value = change.partition("=")
        params[key] = ast.literal_eval(value)
    return params


#: Fitted attributes of an imbtorch fit that say what it chose (a column each).
CHOICES = ("strategy_", "joint_train_score_", "ema_epochs_")


def fit_predict(
    method: str, split, *, seed: int, epochs: int, device, common: dict | None = None
) -> tuple[np.ndarray | None, dict]:
    """Train ``method`` on the split's training part; predictions on its test part.

    ``common`` settings apply to every imbtorch method, under its own changes.
    Also returns the fit's :data:`CHOICES`, the epochs it trained (``'auto'``
    trains more where its network errs), its last ``valid_f1`` and the epoch
    early stopping restored (None without ``--split``); empty for the peers.
    """
    X_train, X_test, y_train, _ = split
    name, changes = parse_method(method)
    if name in STRATEGY_NAMES:
        clf = BalancedImageClassifier(max_epochs=epochs, random_state=seed, device=device)
        clf.set_params(**{**(common or {}), **strategy_params(name, epochs), **changes})
        pred = clf.fit(X_train, y_train).predict(X_test)
        choices = {key: getattr(clf, key, None) for key in CHOICES}
        stopping = dict(clf.callbacks_).get("early_stopping")  # with --split
        scored = {
            "last_valid_f1": clf.history[-1].get("valid_f1"),
            "restored_epoch": getattr(stopping, "best_epoch_", None),
        }
        return pred, {**choices, "epochs_trained": len(clf.history), **scored}
    return _peer_predict(method, split, seed=seed, epochs=epochs, device=device), {}


def _peer_predict(method: str, split, *, seed: int, epochs: int, device) -> np.ndarray | None:
    X_train, X_test, y_train, _ = split
    if method == "SMOTE pixels + LogReg":
        pipe = smote_logistic_regression(y_train, seed=seed)
        if pipe is None:
            return None
        flat = np.asarray(X_train, dtype=np.float32).reshape(len(X_train), -1)
        return pipe.fit(flat, y_train).predict(np.asarray(X_test).reshape(len(X_test), -1))
    train, test = prepare(X_train, X_test)
    if method == BASELINE:
        net = plain_skorch(train, y_train, epochs=epochs, seed=seed, device=device)
        return net.fit(train, y_train.astype(np.int64)).predict(test)
    loop = HandLoop(epochs=epochs, seed=seed, device=device, weighted=True)
    return loop.fit(train, y_train).predict(test)


def _described(choices: dict) -> str:
    return " ".join(
        f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
        for key, value in choices.items()
        if value is not None
    )


def run(args) -> pd.DataFrame:
    device = resolve_device(args.device)
    rows = []
    common = parse_params(args.set)
    if args.split:
        common["train_split"] = ValidSplit(args.split, stratified=True)
    for dataset in args.dataset:
        load = loader(dataset, args.cifar_dir, args.class_order)
        for rho in args.rho:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                split = load(rho, seed)
                tail = tail_labels(split[2])
                if seed == args.first_seed:
                    print(
                        f"\n{dataset} rho={rho:g}: train counts {np.bincount(split[2]).tolist()},"
                        f" {len(split[3])} balanced test images; tail classes {tail.tolist()}"
                    )
                for method in args.methods:
                    start = time.perf_counter()
                    pred, choices = fit_predict(
                        method,
                        split,
                        seed=seed,
                        epochs=args.epochs,
                        device=device,
                        common=common,
                    )
                    seconds = time.perf_counter() - start
                    row = {"dataset": dataset, "rho": rho, "seed": seed, "method": method}
                    row["settings"] = args.set  # --set, under every imbtorch method
                    row["split"] = args.split
                    ours = parse_method(method)[0] in STRATEGY_NAMES
                    row["family"] = "imbtorch" if ours else "peer"
                    if pred is None:  # SMOTE with a one-image class
                        rows.append(row)
                        continue
                    scores = imbalance_scores(split[3], pred, tail_labels=tail)
                    rows.append({**row, **scores, "seconds": seconds, **choices})
                    print(
                        f"  seed {seed} {method}: {scores['balanced_accuracy']:.3f}"
                        f" ({seconds:.1f} s) {_described(choices)}",
                        flush=True,
                    )
            summary = summarize(pd.DataFrame(rows).query("dataset == @dataset and rho == @rho"))
            print(summary.to_string(index=False))
    return pd.DataFrame(rows)


def compare_cost(args) -> pd.DataFrame:
    """Seconds of ``compare_strategies`` (defaults) against one ``'auto'`` fit, seed 0."""
    device = resolve_device(args.device)
    rows = []
    for dataset in args.dataset:
        for rho in args.rho:
            X_train, _, y_train, _ = loader(dataset, args.cifar_dir, args.class_order)(rho, 0)
            clf = BalancedImageClassifier(max_epochs=args.epochs, random_state=0, device=device)
            clf.set_params(**parse_params(args.set))
            start = time.perf_counter()
            clf.fit(X_train, y_train)
            auto = time.perf_counter() - start
            start = time.perf_counter()
            compare_strategies(X_train, y_train, estimator=clf, cv=args.compare_folds)
            compare = time.perf_counter() - start
            row = {"dataset": dataset, "rho": rho, "auto_s": auto, "compare_s": compare}
            rows.append({**row, "ratio": compare / auto})
            print(f"{dataset} rho={rho:g}: auto {auto:.1f} s, compare_strategies {compare:.1f} s")
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds per dataset, rho and method, best balanced accuracy first."""
    scores = ["balanced_accuracy", "f1_macro", "tail_recall"]
    grouped = runs.groupby(["dataset", "rho", "family", "method"], sort=False)
    table = grouped[[*scores, "seconds"]].agg(["mean", "std"]).reset_index()
    out = table[["dataset", "rho", "family", "method"]].copy()
    out.columns = ["dataset", "rho", "family", "method"]
    for score in scores:
        mean, std = table[(score, "mean")], table[(score, "std")]
        out[score] = [
            "n/a" if np.isnan(m) else f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, std, strict=True)
        ]
    out["fit+predict s"] = table[("seconds", "mean")].map(
        lambda s: "n/a" if np.isnan(s) else f"{s:.1f}"
    )
    out["_order"] = table[("balanced_accuracy", "mean")].fillna(-1.0)
    out = out.sort_values(["dataset", "rho", "_order"], ascending=[True, True, False])
    return out.drop(columns="_order")


def markdown(table: pd.DataFrame) -> str:
    """A GitHub Markdown table of a DataFrame's columns and rows."""
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * table.shape[1]]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def auto_verdicts(runs: pd.DataFrame) -> list[str]:
    """``'auto'`` against the best named strategy with hindsight (on the test set), and
    each ``name`` against ``name:precise_bn=False`` (the same seeds)."""
    lines = []
    means = runs.groupby(["dataset", "rho", "method"])["balanced_accuracy"].mean()
    for (dataset, rho), group in means.groupby(level=["dataset", "rho"]):
        group = group.droplevel(["dataset", "rho"])
        named = group[[m in STRATEGY_NAMES and m != "auto" for m in group.index]].dropna()
        if "auto" in group and len(named):
            lines.append(
                f"{dataset} rho={rho:g}: auto {group['auto']:.3f}, best named strategy "
                f"{named.idxmax()} {named.max():.3f}: {100 * (group['auto'] - named.max()):+.1f} "
                f"points"
            )
        for method in group.index:
            name = "logit_adjusted" if method == "auto" else method
            off = f"{name}:precise_bn=False"
            if off in group:
                lines.append(
                    f"{dataset} rho={rho:g}: {method} with precise_bn {group[method]:.3f}, "
                    f"without {group[off]:.3f}: {100 * (group[method] - group[off]):+.1f} points"
                )
    return lines


def verdicts(runs: pd.DataFrame) -> list[str]:
    """Best imbtorch strategy against plain skorch CE and against the best peer."""
    lines = []
    means = runs.groupby(["dataset", "rho", "family", "method"])["balanced_accuracy"].mean()
    for (dataset, rho), group in means.groupby(level=["dataset", "rho"]):
        if "imbtorch" not in group.index.get_level_values("family"):
            continue  # only peers ran: nothing of imbtorch's to judge
        ours = group.xs("imbtorch", level="family")
        peers = group.xs("peer", level="family").dropna()
        best = ours.idxmax()[-1]
        base = peers.xs(BASELINE, level="method").iloc[0]
        best_peer = peers.idxmax()[-1]
        lines.append(
            f"{dataset} rho={rho:g}: best imbtorch {best} {ours.max():.3f} = "
            f"{100 * (ours.max() - base):+.1f} points over {BASELINE} ({base:.3f}); "
            f"{100 * (ours.max() - peers.max()):+.1f} over the best peer, "
            f"{best_peer} ({peers.max():.3f})"
        )
    return lines


def plot(runs: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(runs.groupby(["dataset", "rho"]))
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(7 * ncols, 4.5 * nrows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, ((dataset, rho), group) in zip(axes.flat, panels, strict=False):
        stats = group.groupby(["method", "family"])["balanced_accuracy"].agg(["mean", "std"])
        stats = stats.dropna(subset=["mean"]).sort_values("mean").reset_index()
        colors = ["C0" if f == "imbtorch" else "C3" for f in stats["family"]]
        ax.barh(stats["method"], stats["mean"], xerr=stats["std"], color=colors)
        ax.set_title(f"{dataset}-LT, rho={rho:g}")
        ax.set_xlabel("balanced accuracy (blue: imbtorch, red: peers)")
        ax.set_xlim(max(0.0, stats["mean"].min() - 0.1), 1.0)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset",
        nargs="+",
        default=["digits", "mnist"],
        choices=DATASETS,
    )
    parser.add_argument("--cifar-dir", help="local CIFAR-10 (python version) for cifar10-lt")
    parser.add_argument("--rho", nargs="+", type=float, default=[10.0, 100.0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds first..first+seeds-1 (fresh splits)"
    )
    parser.add_argument(
        "--class-order",
        choices=["sorted", "random"],
        default="sorted",
        help="head-to-tail ranking of the classes: label order, or drawn per seed",
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=[*IMBTORCH, *PEERS],
        help="any of imbtorch.strategies.STRATEGY_NAMES and the peers",
    )
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    parser.add_argument(
        "--set",
        default="",
        help="settings of every imbtorch method, e.g. \"backbone='resnet32',image_size=(64,64)\"",
    )
    parser.add_argument(
        "--split",
        type=int,
        default=0,
        help="K: every imbtorch method validates on a stratified 1/K of its training set"
        " (skorch's ValidSplit(K, stratified=True)); 0 (the default): none",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--tag", default="", help="prefix of the output files")
    parser.add_argument("--compare-cost", action="store_true")
    parser.add_argument("--compare-folds", type=int, default=5, help="folds of --compare-cost")
    args = parser.parse_args()
    check_device(args.device)
    unknown = {parse_method(m)[0] for m in args.methods} - {*STRATEGY_NAMES, *PEERS}
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {[*STRATEGY_NAMES, *PEERS]}")
    binary = [d for d in args.dataset if d.endswith("-ovr")]
    if binary and args.class_order == "random":
        parser.error(f"{binary} have two classes and no ranking; drop --class-order random")
    if "cifar10-lt" in args.dataset:
        try:
            cifar10_folder(args.cifar_dir or "")
        except FileNotFoundError as error:
            print(f"Skipping cifar10-lt: {error} (pass --cifar-dir)")
            args.dataset = [d for d in args.dataset if d != "cifar10-lt"]
    if not args.dataset:
        return
    seeds = f"{args.first_seed}..{args.first_seed + args.seeds - 1}"
    print(f"device {resolve_device(args.device)}, {args.epochs} epochs, seeds {seeds}")
    stem = f"{args.tag}_longtail" if args.tag else "longtail"
    args.out.mkdir(parents=True, exist_ok=True)
    runs = run(args)
    runs.to_csv(args.out / f"{stem}.csv", index=False)
    summary = summarize(runs)
    lines = verdicts(runs) if BASELINE in args.methods else []
    lines += auto_verdicts(runs)
    (args.out / f"{stem}.md").write_text(
        markdown(summary) + "\n\n" + "\n".join(f"- {v}" for v in lines) + "\n"
    )
    plot(runs, args.out / f"{stem}.png")
    print("\n" + "\n".join(lines))
    print(f"\nwrote {args.out / stem}.csv, .md, .png")
    if args.compare_cost:
        cost = compare_cost(args)
        cost.to_csv(args.out / f"{args.tag or 'longtail'}_compare_cost.csv", index=False)
        print(cost.to_string(index=False))


if __name__ == "__main__":
    main()
