"""CIFAR-10 and CIFAR-10-LT from a local copy of CIFAR-10's python batches (nothing is
downloaded)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .long_tailed import make_long_tailed

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
