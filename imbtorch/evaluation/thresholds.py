"""TunedLabelThresholdsCV: a decision threshold per label of a multi-label classifier.

A multi-label classifier predicts every label whose probability reaches 0.5.
For a rare label that threshold is rarely the one that maximises its F1: the
network's probabilities of rare labels run low. scikit-learn's
:class:`~sklearn.model_selection.TunedThresholdClassifierCV` tunes the
threshold of a binary classifier; this meta-estimator does the same for each
label of a multi-label one, on cross-validated (or held-out) probabilities::

    from imbtorch import BalancedImageClassifier, TunedLabelThresholdsCV
    tuned = TunedLabelThresholdsCV(BalancedImageClassifier(), cv=0.2, refit=False)
    tuned.fit(X, Y).predict(X_test)  # uses tuned.best_thresholds_
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import check_scoring
from sklearn.utils._param_validation import (  # private; pinned in pyproject.toml
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted
from skorch.helper import SliceDataset
from torch.utils.data import Dataset, Subset

from ..data.huggingface import HFImageDataset
from ..data.splits import check_cv, holdout
from ..data.targets import check_multilabel_targets, collection_and_targets

__all__ = ["TunedLabelThresholdsCV"]


class TunedLabelThresholdsCV(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Tune one decision threshold per label of a multi-label classifier.

    Each label's threshold maximises ``scoring`` of that label (its own 0/1
    column) on probabilities the classifier gave images it was not trained
    on: the test folds of ``cv``, pooled. ``predict`` then predicts label
    ``l`` where its probability is at least ``best_thresholds_[l]``.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        A multi-label classifier whose ``predict_proba`` gives one probability
        per label, shape ``(N, n_labels)`` (a list of per-label ``(N, 2)``
        arrays, as :class:`~sklearn.multioutput.MultiOutputClassifier`
        gives, is read too).
    scoring : str or callable, default='f1'
        What each label's threshold maximises: the name of a scikit-learn
        scorer that reads ``predict`` on binary targets (``'f1'``,
        ``'balanced_accuracy'``, ``'precision'``, ``'recall'``,
        ``'jaccard'``...) or a scorer ``scorer(estimator, X, y)``
        (:func:`~sklearn.metrics.make_scorer`).
    cv : int, float, cross-validation splitter, iterable or 'prefit', default=5
        Where the held-out probabilities come from. An int: that many
        folds, one fit each; a float in (0, 1): one split holding out that
        share of the images, one fit. Both stratify every label by iterative
        stratification (:mod:`imbtorch.data.splits`), and warn naming the
        labels with fewer positive images than parts. ``'prefit'``:
        ``estimator`` is fitted already and ``fit`` tunes on the data it is
        given, which must be held-out data.
    refit : bool, default=True
        Refit ``estimator`` on all the data after tuning. ``False`` keeps the
        one classifier fitted on the training part of a single split (a float
        ``cv``, or a splitter with one split): one fit in all.
    thresholds : int or array-like, default=100
        An int: that many candidates per label, the quantiles of its
        held-out probabilities. An array: the candidates, for every label.
    random_state : int or None, default=None
        Seed of the split of an int or float ``cv``; None draws with a fixed
        seed, so that the folds are the same from run to run.

    Attributes
    ----------
    estimator_ : classifier
        The classifier ``predict`` uses.
    best_thresholds_ : ndarray of shape (n_labels,)
        Each label's threshold. A label without both present and absent
        samples among the held-out images keeps 0.5 (with a warning).
    best_scores_ : ndarray of shape (n_labels,)
        ``scoring`` of each label at its threshold on the held-out
        probabilities (NaN where it was not tuned).
    classes_ : ndarray of shape (n_labels,)
        The estimator's ``classes_``.

    See Also
    --------
    sklearn.model_selection.TunedThresholdClassifierCV : the same, for one
        binary target.
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "scoring": [str, callable],
        "cv": [
            "cv_object",
            StrOptions({"prefit"}),
            Interval(Real, 0.0, 1.0, closed="neither"),
        ],
        "refit": ["boolean"],
        "thresholds": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "random_state": ["random_state"],
    }

    def __init__(
        self, estimator, *, scoring="f1", cv=5, refit=True, thresholds=100, random_state=None
    ):
        self.estimator = estimator
        self.scoring = scoring
        self.cv = cv
        self.refit = refit
        self.thresholds = thresholds
        self.random_state = random_state

    def fit(self, X, y, **fit_params):
        """Tune the thresholds, then fit (or keep) the classifier ``predict`` uses.

        Parameters
        ----------
        X : images (or any input ``estimator`` takes)
        y : array-like, sparse matrix or DataFrame of shape (N, n_labels), or None
            0/1 indicator matrix (None: a Dataset's own, e.g. a
            ``datasets.Dataset``'s ``Sequence(ClassLabel)`` column).
        **fit_params
            Passed to ``estimator.fit``; ``sample_weight`` is split with ``X``.

        Returns
        -------
        self
        """
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        X, y = collection_and_targets(X, y, caller=f"{type(self).__name__}.fit")
        y = check_multilabel_targets(y)
        scorer = check_scoring(self, scoring=self.scoring)
        if isinstance(self.cv, str) and self.cv == "prefit":
            if fit_params:
                raise ValueError(
                    f"cv='prefit' tunes a fitted estimator without fitting it, so the fit "
                    f"parameters {sorted(fit_params)} would go unused; drop them, or let "
                    "TunedLabelThresholdsCV fit the estimator with a cv of folds or a float."
                )
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
            self._tune(scorer, y, label_probabilities(self.estimator.predict_proba(X)))
            return self
        proba, held_out, fitted = self._held_out_probabilities(X, y, fit_params)
        self._tune(scorer, y[held_out], proba[held_out])
        if self.refit:
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        elif len(fitted) == 1:
            self.estimator_ = fitted[0]
        else:
            raise ValueError(
                f"refit=False keeps the classifier of a single split, but cv={self.cv!r} makes "
                f"{len(fitted)}; use refit=True, or a float cv such as 0.2 (one split)."
            )
        return self

    def _held_out_probabilities(self, X, y, fit_params):
        if isinstance(self.cv, Real) and not isinstance(self.cv, Integral):
            splitter = holdout(self.cv, y, stratified=True, random_state=self.random_state)
        else:
            splitter = check_cv(self.cv, y, random_state=self.random_state)
        proba = np.zeros(y.shape, dtype=np.float64)
        held_out = np.zeros(len(y), dtype=bool)
        fitted = []
        for train, test in splitter.split(np.zeros(len(y)), y):
            params = dict(fit_params)
            if params.get("sample_weight") is not None:
                params["sample_weight"] = np.asarray(params["sample_weight"])[train]
            estimator = clone(self.estimator).fit(_take(X, train), y[train], **params)
            proba[test] = label_probabilities(estimator.predict_proba(_take(X, test)))
            held_out[test] = True
            fitted.append(estimator)
        return proba, held_out, fitted

    def _tune(self, scorer, y: np.ndarray, proba: np.ndarray) -> None:
        if proba.shape != y.shape:
            raise ValueError(
                f"estimator.predict_proba gave shape {proba.shape} for a y of shape {y.shape}; "
                "TunedLabelThresholdsCV needs one probability per label."
            )
        n_labels = y.shape[1]
        self.best_thresholds_ = np.full(n_labels, 0.5)
        self.best_scores_ = np.full(n_labels, np.nan)
        untuned = []
        for label in range(n_labels):
            truth = y[:, label]
            if truth.min() == truth.max():
                untuned.append(label)
                continue
            candidates = self._candidates(proba[:, label])
            scores = [
                _score_predictions(scorer, truth, (proba[:, label] >= t).astype(np.int64))
                for t in candidates
            ]
            best = int(np.argmax(scores))
            self.best_thresholds_[label], self.best_scores_[label] = candidates[best], scores[best]
        if untuned:
            warnings.warn(
                f"Labels {untuned} are all present or all absent among the {len(y)} held-out "
                "images, so their thresholds stay 0.5; hold out more images (a larger or "
                "another cv) to tune them.",
                UserWarning,
                stacklevel=3,
            )

    def _candidates(self, proba: np.ndarray) -> np.ndarray:
        if isinstance(self.thresholds, Integral):
            return np.unique(np.quantile(proba, np.linspace(0.0, 1.0, self.thresholds)))
        return np.asarray(self.thresholds, dtype=np.float64)

    @property
    def classes_(self) -> np.ndarray:
        return self.estimator_.classes_

    def predict_proba(self, X) -> np.ndarray:
        """The classifier's probability of each label, shape ``(N, n_labels)``.

        Parameters
        ----------
        X : array-like
            The images.

        Returns
        -------
        ndarray of shape (N, n_labels)
        """
        check_is_fitted(self, "best_thresholds_")
        return label_probabilities(self.estimator_.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The 0/1 indicator of every label at or above its tuned threshold.

        Parameters
        ----------
        X : array-like
            The images.

        Returns
        -------
        ndarray of shape (N, n_labels)
        """
        return (self.predict_proba(X) >= self.best_thresholds_).astype(np.int64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.input_tags.three_d_array = True
        return tags


def label_probabilities(proba) -> np.ndarray:
    """``predict_proba`` of a multi-label classifier as an ``(N, n_labels)`` array."""
    if isinstance(proba, list):  # MultiOutputClassifier: one (N, 2) array per label
        return np.column_stack([np.asarray(p)[:, -1] for p in proba])
    return np.asarray(proba, dtype=np.float64)


def _take(X, indices: np.ndarray):
    """The images at ``indices`` of any input the estimators take: a SliceDataset sliced, a
    Subset of a torch Dataset, rows of an array or a pandas object, items of a list."""
    if isinstance(X, (SliceDataset, HFImageDataset)):
        return X[indices]
    if isinstance(X, Dataset):
        return Subset(X, indices.tolist())
    if hasattr(X, "iloc"):  # pandas
        return X.iloc[indices]
    if isinstance(X, np.ndarray):
        return X[indices]
    return [X[i] for i in indices]  # a list of file paths


class _FixedPredictions(ClassifierMixin, BaseEstimator):
    """A binary classifier that predicts given 0/1 values, for scorers to read."""

    classes_ = np.array([0, 1])

    def __init__(self, predictions=None):
        self.predictions = predictions

    def predict(self, X):
        return self.predictions


def _score_predictions(scorer, truth: np.ndarray, predictions: np.ndarray) -> float:
    with warnings.catch_warnings():  # a threshold above every probability predicts none
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        try:
            return float(scorer(_FixedPredictions(predictions), None, truth))
        except AttributeError as exc:
            raise ValueError(
                f"The scorer {scorer!r} reads more than predictions ({exc}); a threshold "
                "changes only predict, so tune it for a scorer of predictions such as 'f1', "
                "'balanced_accuracy' or 'jaccard'."
            ) from exc
