"""How the folds of a multi-label ``y`` hold the rare labels: plain ``KFold`` against
iterative stratification (``imbtorch.data.splits.check_cv``), on the long-tailed digit
mosaics of ``multilabel.py`` (no training)::

    python benchmarks/multilabel_folds.py --folds 5 --seeds 3

For each source, seed and rare label: its positive images, the folds whose test part holds
one (of ``--folds``), and the fewest positives a fold's test part holds.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from imbtorch.data.splits import FewPositivesWarning, check_cv
from imbtorch.datasets import load_long_tailed_mosaics


def fold_counts(splitter, X, Y) -> np.ndarray:
    """Positive images of every label in every fold's test part, shape (folds, labels)."""
    return np.array([Y[test].sum(axis=0) for _, test in splitter.split(X, Y)])


def table(sources, seeds: int, folds: int, rare: int, rho: float, n_train: int) -> pd.DataFrame:
    rows = []
    for source in sources:
        for seed in range(seeds):
            X, _, Y, _ = load_long_tailed_mosaics(
                rho, source=source, n_train=n_train, random_state=seed
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FewPositivesWarning)
                splitters = {"KFold": KFold(folds), "iterative": check_cv(folds, Y)}
                counts = {name: fold_counts(cv, X, Y) for name, cv in splitters.items()}
            for label in range(Y.shape[1] - rare, Y.shape[1]):
                row = {"source": source, "seed": seed, "label": label}
                row["positives"] = int(Y[:, label].sum())
                for name, per_fold in counts.items():
                    row[f"{name}: folds holding it"] = int((per_fold[:, label] > 0).sum())
                    row[f"{name}: fewest in a fold"] = int(per_fold[:, label].min())
                rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", default=["mnist", "digits"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rare", type=int, default=3, help="the rarest labels shown")
    parser.add_argument("--rho", type=float, default=100.0)
    parser.add_argument("--n-train", type=int, default=3000)
    args = parser.parse_args()
    result = table(args.sources, args.seeds, args.folds, args.rare, args.rho, args.n_train)
    print(result.to_markdown(index=False))


if __name__ == "__main__":
    main()
