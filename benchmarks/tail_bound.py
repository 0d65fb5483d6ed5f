"""How much of a long-tailed set's gap to its balanced ceiling lies in its rarest classes' images.

Each seed draws the long-tailed split of ``longtail.py`` (the same balanced
test set and the same training images: ``--keep-tail`` equal to the number
of classes reproduces it). Beside it, the script trains on that split with
every class but the ``k`` rarest filled up to the head's count, from the
images the long-tailed draw left out; ``k = 0`` is the balanced-data
ceiling on the same test set. The sets are nested: the set of a smaller
``k`` holds every training image of a larger one.

With only the ``k`` rarest classes short of images, a method's balanced
accuracy is what it could reach on the long-tailed set if re-balancing gave
back everything but those classes' missing images. The script prints, per
``k``, the share of the gap between the long-tailed set and the ceiling that
the best method closes (the ceiling and the long-tailed set each scored by
their best method), and the recall of the three rarest classes.

    python benchmarks/tail_bound.py --dataset digits --rho 100 --seeds 10 \\
        --keep-tail 10 3 2 1 0 --methods auto posthoc_logit_adjust ce
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from longtail import fit_predict, markdown, parse_method
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, recall_score

from imbtorch.datasets import long_tailed_split
from imbtorch.datasets.long_tailed import _mnist_images
from imbtorch.device import check_device, resolve_device
from imbtorch.strategies import STRATEGY_NAMES


def _digits() -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    return digits.images, digits.target


#: Images and the balanced test set's images per class, as ``longtail.py`` loads them.
DATASETS = {"digits": (_digits, 50), "mnist": (_mnist_images, 100)}


def nested_splits(X, y, rho: float, keep_tail, *, n_test_per_class: int, class_order, seed: int):
    """The long-tailed split with all but its ``k`` rarest classes filled, for each ``k``.

    The long-tailed split is :func:`~imbtorch.datasets.long_tailed_split`'s
    for ``seed`` (the loaders' split); each class outside the ``k`` rarest
    gets images it left out until it has the head's count, drawn in one
    order per class so that the sets are nested.

    Returns
    -------
    splits : dict
        ``{k: (X_train, X_test, y_train, y_test)}``; one test set for all.
    rarest : ndarray
        The three rarest classes of the long-tailed split, rarest first
        (whose recall the script reports at every ``k``).
    """
    kept, test, y_kept, y_test = long_tailed_split(
        np.arange(len(y)),
        y,
        rho,
        n_test_per_class=n_test_per_class,
        class_order=class_order,
        random_state=seed,
    )
    classes, counts = np.unique(y_kept, return_counts=True)
    ranked = classes[np.argsort(-counts, kind="stable")]  # head first
    head = counts.max()
    left_out = np.setdiff1d(np.arange(len(y)), np.concatenate([kept, test]))
    rng = np.random.default_rng(seed)
    fill = {
        c: rng.permutation(left_out[y[left_out] == c])[: head - n]
        for c, n in zip(classes, counts, strict=True)
    }
    splits = {}
    for k in keep_tail:
        filled = [fill[c] for c in ranked[: len(classes) - k]]
        train = np.sort(np.concatenate([kept, *filled]))
        splits[k] = (X[train], X[test], y[train], y[test])
    return splits, ranked[::-1][:3]


def run(args) -> pd.DataFrame:
    device = resolve_device(args.device)
    load, n_test = DATASETS[args.dataset]
    X, y = load()
    order = None if args.class_order == "sorted" else "random"
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        splits, rarest = nested_splits(
            X, y, args.rho, args.keep_tail, n_test_per_class=n_test, class_order=order, seed=seed
        )
        for k, split in splits.items():
            if seed == args.first_seed:
                counts = np.unique(split[2], return_counts=True)[1]
                print(f"keep_tail={k}: train counts {counts.tolist()}", flush=True)
            for method in args.methods:
                start = time.perf_counter()
                pred, _ = fit_predict(method, split, seed=seed, epochs=args.epochs, device=device)
                seconds = time.perf_counter() - start
                recalls = recall_score(split[3], pred, labels=rarest, average=None)
                row = {"dataset": args.dataset, "rho": args.rho, "seed": seed, "keep_tail": k}
                row |= {
                    "method": method,
                    "balanced_accuracy": balanced_accuracy_score(split[3], pred),
                }
                row |= {f"recall_rarest_{i + 1}": r for i, r in enumerate(recalls)}
                rows.append({**row, "seconds": seconds})
                print(
                    f"  seed {seed} keep_tail={k} {method}: {row['balanced_accuracy']:.3f}"
                    f" (rarest three {np.round(recalls, 2).tolist()}, {seconds:.1f} s)",
                    flush=True,
                )
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Mean per ``keep_tail`` and method, and the share of the gap each ``keep_tail`` closes."""
    scores = ["balanced_accuracy", "recall_rarest_1", "recall_rarest_2", "recall_rarest_3"]
    means = runs.groupby(["keep_tail", "method"], sort=False)[[*scores, "seconds"]].mean()
    table = means.round(3).reset_index().sort_values(["keep_tail", "method"], ascending=False)
    best = means["balanced_accuracy"].groupby(level="keep_tail").max()
    lines = []
    if {0, runs["keep_tail"].max()} <= set(best.index):
        low, ceiling = best[runs["keep_tail"].max()], best[0]
        for k, score in best.sort_index(ascending=False).items():
            share = (score - low) / (ceiling - low)
            lines.append(
                f"keep_tail={k}: best {means['balanced_accuracy'].xs(k).idxmax()} {score:.3f},"
                f" {100 * share:.0f}% of the gap between the long-tailed set ({low:.3f})"
                f" and the ceiling ({ceiling:.3f})"
            )
    return table, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    parser.add_argument("--rho", type=float, default=100.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--class-order", choices=["sorted", "random"], default="sorted")
    parser.add_argument(
        "--keep-tail",
        nargs="+",
        type=int,
        default=[10, 3, 2, 1, 0],
        help="how many of the rarest classes keep their long-tailed counts (the rest are filled)",
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--methods", nargs="+", default=["auto", "posthoc_logit_adjust", "ce"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--tag", default="", help="prefix of the output files")
    args = parser.parse_args()
    check_device(args.device)
    unknown = {parse_method(m)[0] for m in args.methods} - set(STRATEGY_NAMES)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {list(STRATEGY_NAMES)}")
    runs = run(args)
    table, lines = summarize(runs)
    stem = f"{args.tag}_tail_bound" if args.tag else "tail_bound"
    args.out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(args.out / f"{stem}.csv", index=False)
    text = markdown(table) + "\n\n" + "\n".join(f"- {line}" for line in lines) + "\n"
    (args.out / f"{stem}.md").write_text(text)
    print("\n" + table.to_string(index=False) + "\n\n" + "\n".join(lines))
    print(f"\nwrote {args.out / stem}.csv, .md")


if __name__ == "__main__":
    main()
