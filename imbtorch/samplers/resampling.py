"""Neighbour-based resamplers on classes smaller than their neighbourhood.

SMOTE, ADASYN, Borderline-SMOTE, SVM-SMOTE and SMOTETomek interpolate between
a sample and its ``k`` nearest neighbours of the same class, so a class needs
more than ``k`` samples; in a long tail, and more so in a cross-validation
fold of one, the rarest classes often have fewer. imbalanced-learn then stops
with scikit-learn's "Expected n_neighbors <= n_samples_fit". Our call:
:class:`CappedNeighbors` lowers ``k`` to what the smallest resampled class
allows and warns that it did; a class of one sample, which no interpolation
can grow, is an error that says what to do.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone

NEIGHBOR_PARAMS = ("k_neighbors", "n_neighbors")


class SmallClassWarning(UserWarning):
    """A resampler's neighbourhood was shrunk to fit a small class."""


def _neighbor_settings(sampler) -> dict[str, int]:
    """The integer neighbourhood sizes of ``sampler`` and of its nested SMOTE, by param name."""
    params = sampler.get_params(deep=True)
    return {
        name: value
        for name, value in params.items()
        if name.split("__")[-1] in NEIGHBOR_PARAMS and isinstance(value, Integral)
    }


def cap_neighbors(sampler, y) -> BaseEstimator:
    """A clone of ``sampler`` whose neighbourhoods fit the smallest resampled class of ``y``.

    The classes resampled are all but the largest. When one of them has
    ``n <= k`` samples, ``k`` becomes ``n - 1`` and a
    :class:`SmallClassWarning` names the class.

    Parameters
    ----------
    sampler : imbalanced-learn sampler
        A sampler with ``k_neighbors``, ``n_neighbors`` or ``m_neighbors``.
    y : array-like of shape (N,)
        The labels it will resample.

    Returns
    -------
    sampler
        A clone, its neighbourhoods capped.

    Raises
    ------
    ValueError
        When a resampled class has a single sample.
    """
    sampler = clone(sampler)
    settings = _neighbor_settings(sampler)
    if not settings:
        return sampler
    labels, counts = np.unique(y, return_counts=True)
    minority = counts < counts.max()
    if not minority.any():
        return sampler
    smallest = int(np.argmin(np.where(minority, counts, np.iinfo(np.int64).max)))
    label, count = labels.tolist()[smallest], int(counts[smallest])
    if count < 2:
        raise ValueError(
            f"Class {label!r} has 1 sample, and {type(sampler).__name__} makes new samples "
            "between a sample and its neighbours of the same class; there are none. Use "
            "RandomOverSampler, merge or drop the class, or use fewer cross-validation folds."
        )
    capped = {name: count - 1 for name, k in settings.items() if k >= count}
    if capped:
        warnings.warn(
            f"Class {label!r} has {count} samples, fewer than {type(sampler).__name__}'s "
            f"neighbourhood needs; using {capped} instead of "
            f"{ {name: settings[name] for name in capped} }.",
            SmallClassWarning,
            stacklevel=3,
        )
        sampler.set_params(**capped)
    return sampler


class CappedNeighbors(BaseEstimator):
    """Run an imbalanced-learn resampler with ``k`` capped to the smallest class.

    Wrap SMOTE and its kin in an ``imblearn.pipeline.Pipeline`` so that a
    class with ``n <= k`` samples (a long-tail class in a CV fold) is
    resampled with ``k = n - 1`` neighbours, with a :class:`SmallClassWarning`,
    instead of stopping the search; see :func:`cap_neighbors`.

    Parameters
    ----------
    sampler : imblearn sampler
        Cloned at every ``fit_resample``.

    Attributes
    ----------
    sampler_ : imblearn sampler
        The (capped) clone that resampled the data.

    Examples
    --------
    >>> from imblearn.over_sampling import SMOTE
    >>> from imbtorch.samplers.resampling import CappedNeighbors
    >>> resampler = CappedNeighbors(SMOTE(k_neighbors=5, random_state=0))
    """

    def __init__(self, sampler):
        self.sampler = sampler

    def fit_resample(self, X, y, **params):
        """Resample ``(X, y)`` with the capped clone of ``sampler``.

        Parameters
        ----------
        X : array-like of shape (N, n_features)
        y : array-like of shape (N,)
        **params : dict
            Passed on to the sampler's ``fit_resample``.

        Returns
        -------
        X_resampled, y_resampled : ndarrays
        """
        self.sampler_ = cap_neighbors(self.sampler, y)
        return self.sampler_.fit_resample(X, y, **params)
