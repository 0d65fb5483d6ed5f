"""Splits of a multi-label ``y`` that keep every label: iterative stratification.

scikit-learn's stratified splitters take one label per image. With a 0/1
indicator matrix, plain ``KFold`` makes folds in which a rare label has no
positive image, so its average precision there is undefined, or rests on one
or two images. Iterative stratification (Sechidis et al. 2011) deals each
label's positive images out over the folds, the rarest label first;
``iterative-stratification``'s ``MultilabelStratifiedKFold`` and
``MultilabelStratifiedShuffleSplit`` implement it as scikit-learn splitters.
A single-label ``y`` keeps scikit-learn's own splitters.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from iterstrat.ml_stratifiers import (
    MultilabelStratifiedKFold,
    MultilabelStratifiedShuffleSplit,
)
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.model_selection import check_cv as sklearn_check_cv

__all__ = [
    "FewPositivesWarning",
    "check_cv",
    "holdout",
    "is_indicator",
    "split_for_validation",
]

#: The seed of the folds drawn where the caller gives none: iterative
#: stratification breaks ties at random, so folds without a seed would differ
#: from run to run.
DEFAULT_SEED = 0


class FewPositivesWarning(UserWarning):
    """A label has fewer positive images than a split has parts."""


def is_indicator(y) -> bool:
    """Whether ``y`` is a multi-label 0/1 indicator matrix (two dimensions, two or more columns).

    Parameters
    ----------
    y : array-like or None
        The targets.

    Returns
    -------
    bool
    """
    return y is not None and np.ndim(y) == 2 and np.shape(y)[1] > 1


def check_label_counts(y, n_parts: int, *, label_names=None, parts: str = "folds") -> None:
    """Warn, naming each label and its count, where a label has fewer positives than parts.

    Parameters
    ----------
    y : array-like of shape (n_samples, n_labels)
        A 0/1 label indicator.
    n_parts : int
        The parts of the split: folds, or 2 for a hold-out.
    label_names : array-like of shape (n_labels,), default=None
        The labels' names; their column indices by default.
    parts : str, default='folds'
        What the parts are called in the warning.
    """
    counts = np.asarray(y).sum(axis=0)
    names = np.arange(len(counts)) if label_names is None else np.asarray(label_names)
    short = [
        (name, int(count))
        for name, count in zip(names.tolist(), counts, strict=True)
        if count < n_parts
    ]
    if short:
        listed = ", ".join(f"{name!r} ({count})" for name, count in short)
        warnings.warn(
            f"labels with fewer positive images than the {n_parts} {parts}: {listed}; some "
            f"{parts} hold none of them, and their scores there are undefined. Use fewer "
            f"{parts}, or gather more images of those labels.",
            FewPositivesWarning,
            stacklevel=3,
        )


def check_cv(cv=5, y=None, *, classifier: bool = True, random_state=None, label_names=None):
    """scikit-learn's ``check_cv``, with iterative stratification for a multi-label ``y``.

    Parameters
    ----------
    cv : int, cross-validation splitter or iterable, default=5
        An int is that many folds: ``MultilabelStratifiedKFold`` for a
        multi-label ``y``, scikit-learn's ``StratifiedKFold`` (or ``KFold``)
        otherwise. Splitters and iterables are used as they are.
    y : array-like, default=None
        The targets: labels, or a 0/1 label indicator.
    classifier : bool, default=True
        Whether the folds stratify a single-label ``y``.
    random_state : int or None, default=None
        The seed of the multi-label folds; :data:`DEFAULT_SEED` where None,
        so that they are the same from run to run.
    label_names : array-like, default=None
        The labels' names, for the warning about labels with fewer positives
        than folds (:class:`FewPositivesWarning`).

    Returns
    -------
    splitter
    """
    if is_indicator(y) and (cv is None or isinstance(cv, Integral)):
        n_splits = 5 if cv is None else int(cv)
        check_label_counts(y, n_splits, label_names=label_names)
        seed = DEFAULT_SEED if random_state is None else random_state
        return MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return sklearn_check_cv(cv, y, classifier=classifier)


def holdout(test_size: float, y, *, stratified: bool, random_state=None, label_names=None):
    """A one-split splitter that holds out ``test_size`` of the images.

    Parameters
    ----------
    test_size : float in (0, 1)
        The share held out.
    y : array-like
        The targets: labels, or a 0/1 label indicator.
    stratified : bool
        Keep each class's (each label's) share in both parts: iterative
        stratification for a multi-label ``y``.
    random_state : int or None, default=None
        The seed of the split (:data:`DEFAULT_SEED` for a multi-label ``y``
        where None).
    label_names : array-like, default=None
        The labels' names, for the warning about labels with a single
        positive image.

    Returns
    -------
    splitter
    """
    if stratified and is_indicator(y):
        check_label_counts(y, 2, label_names=label_names, parts="parts of the split")
        seed = DEFAULT_SEED if random_state is None else random_state
        return MultilabelStratifiedShuffleSplit(1, test_size=test_size, random_state=seed)
    if stratified:
        return StratifiedShuffleSplit(1, test_size=test_size, random_state=random_state)
    return ShuffleSplit(1, test_size=test_size, random_state=random_state)


def split_for_validation(train_split, y):
    """skorch's ``ValidSplit(..., stratified=True)`` for a multi-label ``y``, by iterative
    stratification; None for any other split or ``y`` (skorch's own then applies).

    skorch's stratified ``ValidSplit`` takes one label per image and refuses an
    indicator matrix; this draws its split as it would, with its ``cv`` (a
    share, or a number of folds of which the first is held out) and its
    ``random_state``.

    Parameters
    ----------
    train_split : callable or None
        The estimator's ``train_split``.
    y : array-like
        The targets.

    Returns
    -------
    (ndarray, ndarray) or None
        The indices of the training and the validation part.
    """
    from skorch.dataset import ValidSplit

    if not (isinstance(train_split, ValidSplit) and train_split.stratified and is_indicator(y)):
        return None
    cv, seed = train_split.cv, train_split.random_state
    if not isinstance(cv, Real):  # a splitter of the user's: skorch uses it as it is
        return None
    if not float(cv).is_integer():
        splitter = holdout(float(cv), y, stratified=True, random_state=seed)
    else:
        splitter = check_cv(int(cv), y, random_state=seed)
    return next(iter(splitter.split(np.zeros(len(y)), np.asarray(y))))
