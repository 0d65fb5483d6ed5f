"""Wrapper overhead: the same CNN, data and epochs through a hand loop, skorch and imbtorch.

Runners, all from raw images to a trained model (standardisation included):

- ``torch loop``: hand-written loop, ``DataLoader(TensorDataset, shuffle=True)``;
- ``torch loop + WRS``: the same with ``WeightedRandomSampler``;
- ``skorch``: plain ``NeuralNetClassifier``;
- ``imbtorch sampler=...``: ``BalancedImageClassifier`` with each sampler
  (``None``, the named ones, and an imblearn ``RandomUnderSampler``).

Samplers change how many images an epoch holds ('over' repeats the tail,
'under' drops the head), so runners are compared by seconds per training
image seen. Runners are interleaved: every repeat runs each once, in a
rotated order, after one discarded warm-up round; the table shows medians
over repeats of each runner's time and of its ratio to the plain torch loop
timed in the same repeat.

    python benchmarks/overhead.py                     # MNIST-5k LT and digits LT, CPU
    python benchmarks/overhead.py --dataset mnist --device cuda --repeats 7
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from imblearn.under_sampling import RandomUnderSampler
from peers import HandLoop, plain_skorch, prepare

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import load_long_tailed_digits, load_long_tailed_mnist
from imbtorch.device import check_device, resolve_device
from imbtorch.samplers import SAMPLER_NAMES

HAND = "torch loop"


def runners(epochs: int, seed: int, device) -> dict:
    """Name -> function(X, y) that trains from raw images and returns the images it saw."""

    def hand(weighted):
        def fit(X, y):
            images = prepare(X, X[:1])[0]
            HandLoop(epochs=epochs, seed=seed, device=device, weighted=weighted).fit(images, y)
            return len(y) * epochs

        return fit

    def skorch_fit(X, y):
        images = prepare(X, X[:1])[0]
        plain_skorch(images, y, epochs=epochs, seed=seed, device=device).fit(images, y)
        return len(y) * epochs

    def imbtorch(sampler):
        def fit(X, y):
            clf = BalancedImageClassifier(
                sampler=sampler, max_epochs=epochs, random_state=seed, device=device
            ).fit(X, y)
            return int(np.sum(clf.history[:, "batches", :, "train_batch_size"]))

        return fit

    table = {HAND: hand(False), f"{HAND} + WRS": hand(True), "skorch": skorch_fit}
    samplers = [None, *SAMPLER_NAMES, RandomUnderSampler(random_state=seed)]
    for sampler in samplers:
        label = type(sampler).__name__ + "()" if hasattr(sampler, "fit_resample") else sampler
        table[f"imbtorch sampler={label}"] = imbtorch(sampler)
    return table


def measure(X, y, *, epochs: int, repeats: int, device) -> dict[str, dict[str, float]]:
    """Median seconds, images seen and ratio of seconds per image to the hand loop's."""
    fits = runners(epochs, 0, device)
    names = list(fits)
    seconds = {n: [] for n in names}
    seen = {}
    for repeat in range(repeats + 1):  # round 0 warms up and is discarded
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            seen[name] = fits[name](X, y)
            if str(device).startswith("cuda"):
                torch.cuda.synchronize()
            if repeat:
                seconds[name].append(time.perf_counter() - start)
    per_image = {n: np.array(seconds[n]) / seen[n] for n in names}
    return {
        n: {
            "seconds": float(np.median(seconds[n])),
            "images": seen[n],
            "ratio": float(np.median(per_image[n] / per_image[HAND])),
        }
        for n in names
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", nargs="+", default=["mnist", "digits"], choices=["mnist", "digits"]
    )
    parser.add_argument("--rho", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    args = parser.parse_args()
    check_device(args.device)
    device = resolve_device(args.device)
    loaders = {"digits": load_long_tailed_digits, "mnist": load_long_tailed_mnist}
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, {args.epochs} epochs, "
        f"median of {args.repeats} interleaved repeats"
    )
    for dataset in args.dataset:
        X, _, y, _ = loaders[dataset](args.rho, random_state=0)
        print(f"\n{dataset} LT rho={args.rho:g}: {len(y)} training images {X.shape[1:]}")
        results = measure(X, y, epochs=args.epochs, repeats=args.repeats, device=device)
        print(f"{'runner':<42}{'seconds':>9}{'images':>9}{'µs/image':>10}{'vs loop':>9}")
        for name, r in results.items():
            micro = 1e6 * r["seconds"] / r["images"]
            print(f"{name:<42}{r['seconds']:>9.2f}{r['images']:>9}{micro:>10.1f}{r['ratio']:>9.3f}")


if __name__ == "__main__":
    main()
