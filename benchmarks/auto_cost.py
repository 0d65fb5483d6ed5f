"""Wall time of the default fit (strategy='auto') against a plain cross-entropy fit.

Both train the same network for the same epochs on the same long-tailed
split; ``'auto'`` adds the logit adjustment of the loss, mixup in the
first two thirds of the epochs, the precise BatchNorm pass and the
classifier stage on square-root-sampled features, and where its network
still errs on the training images two thirds more epochs (``extension_``;
each repeat prints the epochs each fit trained).
With ``--files`` both fit on PNG files written to a temporary folder (one
sub-folder per class, read by ``load_image_folder`` and decoded in the
loader's worker processes), the input most users bring: there every pass
over the training set that ``'auto'`` adds (precise BatchNorm statistics,
the training score, the stage's features) decodes the images again.
After one untimed fit (which pays the process's one-off costs), the fits
are interleaved (plain, auto, plain, auto, ...) so that the machine's
drift falls on both alike, and the table gives each
repeat's seconds and the median ratio.

    python benchmarks/auto_cost.py --dataset mnist --rho 100 --repeats 3
    python benchmarks/auto_cost.py --dataset textures --rho 100 --repeats 3 --files
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from _runs import write_image_folder
from textures import load_long_tailed_textures

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import load_image_folder, load_long_tailed_digits, load_long_tailed_mnist

LOADERS = {
    "digits": load_long_tailed_digits,
    "mnist": load_long_tailed_mnist,
    "textures": load_long_tailed_textures,
}


def seconds_to_fit(X, y, *, epochs: int, **params) -> tuple[float, int]:
    """Seconds of one fit, and the epochs it trained."""
    clf = BalancedImageClassifier(max_epochs=epochs, random_state=0, **params)
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start, len(clf.history)


def as_files(X: np.ndarray, y: np.ndarray, root: str) -> tuple[np.ndarray, np.ndarray]:
    """Write the images as PNG files under ``root``; their paths and labels, as a user loads them.

    Images that are not uint8 (the 8x8 digits, values 0 to 16) are first scaled so that
    the largest value is 255; PNG is lossless, so the files hold the arrays' images exactly
    (up to that scaling).
    """
    if X.dtype != np.uint8:
        X = np.round(X * (255.0 / X.max())).astype(np.uint8)
    write_image_folder(X, y, root)
    return load_image_folder(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(LOADERS), default="mnist")
    parser.add_argument("--rho", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--files", action="store_true", help="fit on PNG files, not arrays")
    args = parser.parse_args()
    X, _, y, _ = LOADERS[args.dataset](args.rho, random_state=0)
    with tempfile.TemporaryDirectory() as root:
        if args.files:
            X, y = as_files(X, y, root)
        time_fits(X, y, args)


def time_fits(X, y, args) -> None:
    """Interleaved fits of plain cross-entropy and the default; print each repeat and the ratio."""
    seconds_to_fit(X, y, epochs=1, strategy=None)  # untimed: the process's first-fit costs
    plain, auto = [], []
    for repeat in range(args.repeats):
        seconds, plain_epochs = seconds_to_fit(X, y, epochs=args.epochs, strategy=None)
        plain.append(seconds)
        seconds, auto_epochs = seconds_to_fit(X, y, epochs=args.epochs)
        auto.append(seconds)
        print(
            f"repeat {repeat}: plain CE {plain[-1]:.1f} s ({plain_epochs} epochs), "
            f"auto {auto[-1]:.1f} s ({auto_epochs} epochs)"
        )
    ratio = np.median(np.array(auto) / np.array(plain))
    print(
        f"{args.dataset}-LT rho={args.rho:g}, {len(y)} {'files' if args.files else 'images'}, "
        f"{args.epochs} epochs: "
        f"median plain {np.median(plain):.1f} s, auto {np.median(auto):.1f} s, "
        f"auto / plain {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
