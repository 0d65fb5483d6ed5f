"""Calibration of multi-class probabilities: expected calibration error and a reliability diagram.

scikit-learn scores multi-class probabilities with ``log_loss`` and
``brier_score_loss`` (multi-class since 1.7) but bins only binary ones
(``calibration_curve``, ``CalibrationDisplay``). This module adds the binned
view for any number of classes: the top-label and class-wise expected
calibration errors (Guo et al. 2017; Kull et al. 2019) and
:class:`ReliabilityDisplay`.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "CALIBRATION_SCORING",
    "ReliabilityDisplay",
    "expected_calibration_error",
    "reliability_curve",
]


def _check_probabilities(y_true, y_proba, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_proba = np.asarray(y_proba, dtype=np.float64)
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    if y_proba.ndim != 2 or y_proba.shape != (len(y_true), len(labels)):
        raise ValueError(
            f"y_proba has shape {y_proba.shape} but there are {len(y_true)} samples and "
            f"{len(labels)} labels {labels.tolist()!r}; pass one column per class and, when "
            "y_true lacks a class, labels=estimator.classes_."
        )
    unknown = np.setdiff1d(y_true, labels)
    if len(unknown):
        raise ValueError(
            f"y_true holds labels {unknown.tolist()!r} that are not among labels "
            f"{labels.tolist()!r}; pass labels=estimator.classes_."
        )
    return y_true, y_proba, labels


def _binned_gap(confidence: np.ndarray, hit: np.ndarray, n_bins: int, sample_weight=None):
    """Mean hit rate, mean confidence and (weighted) count of each of ``n_bins`` bins."""
    bins = np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)
    weight = np.ones_like(confidence) if sample_weight is None else np.asarray(sample_weight)
    counts = np.bincount(bins, weights=weight, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(bins, weights=weight * hit, minlength=n_bins) / counts
        mean_confidence = np.bincount(bins, weights=weight * confidence, minlength=n_bins) / counts
    return accuracy, mean_confidence, counts


def reliability_curve(y_true, y_proba, *, labels=None, n_bins: int = 15, sample_weight=None):
    """Accuracy against confidence of the top label, in equal-width bins.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_proba : array-like of shape (n_samples, n_classes)
        Probabilities, columns in ``labels`` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; the sorted labels of ``y_true`` by default.
    n_bins : int, default=15
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each sample (e.g. ``prior[y] / test_frequency[y]`` to
        score a balanced test set as if drawn at the training prior).

    Returns
    -------
    accuracy, confidence : ndarray of shape (n_bins,)
        Fraction of correct top labels and mean top probability per bin
        (NaN for an empty bin).
    counts : ndarray of shape (n_bins,)
        Samples (sum of weights) per bin.
    """
    y_true, y_proba, labels = _check_probabilities(y_true, y_proba, labels)
    hit = (labels[np.argmax(y_proba, axis=1)] == y_true).astype(np.float64)
    return _binned_gap(y_proba.max(axis=1), hit, n_bins, sample_weight)


def _ece(accuracy, confidence, counts) -> float:
    full = counts > 0
    return float(np.sum(counts[full] * np.abs(accuracy[full] - confidence[full])) / counts.sum())


def expected_calibration_error(
    y_true,
    y_proba,
    *,
    labels=None,
    n_bins: int = 15,
    kind: str = "top_label",
    sample_weight=None,
) -> float:
    """Expected calibration error of multi-class probabilities (lower is better).

    ``'top_label'`` (Guo et al. 2017): the predicted class's probability is
    binned into ``n_bins`` equal-width bins, and the gap between each bin's
    accuracy and mean probability is averaged, weighted by the bin's share
    of samples. ``'classwise'`` (Kull et al. 2019): the same for every
    class's probability against whether the sample is of that class,
    averaged over classes; it sees miscalibration of rare classes that the
    top label hides.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_proba : array-like of shape (n_samples, n_classes)
        Probabilities, columns in ``labels`` order.
    labels : array-like of shape (n_classes,), default=None
        The classes of the columns; the sorted labels of ``y_true`` by default.
    n_bins : int, default=15
    kind : {'top_label', 'classwise'}, default='top_label'
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    ece : float in [0, 1]
    """
    if kind == "top_label":
        curve = reliability_curve(
            y_true, y_proba, labels=labels, n_bins=n_bins, sample_weight=sample_weight
        )
        return _ece(*curve)
    if kind != "classwise":
        raise ValueError(f"kind must be 'top_label' or 'classwise'; got {kind!r}.")
    y_true, y_proba, labels = _check_probabilities(y_true, y_proba, labels)
    gaps = [
        _ece(
            *_binned_gap(y_proba[:, i], (y_true == label).astype(np.float64), n_bins, sample_weight)
        )
        for i, label in enumerate(labels)
    ]
    return float(np.mean(gaps))


def _neg_ece(estimator, X, y) -> float:
    proba = estimator.predict_proba(X)
    return -expected_calibration_error(y, proba, labels=estimator.classes_)


def _neg_brier_score(estimator, X, y) -> float:
    return -brier_score_loss(y, estimator.predict_proba(X), labels=estimator.classes_)


#: Scorers for ``cross_validate(scoring=...)`` and :func:`imbtorch.compare_strategies`:
#: the top-label ECE and scikit-learn's multi-class Brier score, negated so
#: that greater is better (as ``neg_log_loss``); columns in ``classes_`` order
#: even when a fold lacks a class.
CALIBRATION_SCORING = {"neg_ece": _neg_ece, "neg_brier_score": _neg_brier_score}


class ReliabilityDisplay:
    """Reliability diagram of multi-class probabilities, in scikit-learn's ``Display`` style.

    Bars show the accuracy of the top label in each confidence bin, against
    the diagonal of perfect calibration; the gap to the diagonal is shaded
    and the top-label ECE is in the legend. scikit-learn's
    ``CalibrationDisplay`` draws binary probabilities only. Build it with
    :meth:`from_predictions` or :meth:`from_estimator`.

    Parameters
    ----------
    accuracy, confidence, counts : ndarray of shape (n_bins,)
        As :func:`reliability_curve` returns them.
    ece : float
    estimator_name : str, default=None

    Attributes
    ----------
    ax_, figure_
        The matplotlib objects, set by :meth:`plot`.
    """

    def __init__(self, accuracy, confidence, counts, ece, *, estimator_name=None) -> None:
        self.accuracy = np.asarray(accuracy)
        self.confidence = np.asarray(confidence)
        self.counts = np.asarray(counts)
        self.ece = float(ece)
        self.estimator_name = estimator_name

    @classmethod
    def from_predictions(
        cls, y_true, y_proba, *, labels=None, n_bins: int = 15, name=None, ax=None
    ):
        """Plot from evaluation labels and probabilities (columns in ``labels`` order).

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            The evaluation labels.
        y_proba : array-like of shape (n_samples, n_classes)
            The probabilities.
        labels : array-like of shape (n_classes,), default=None
            The classes of the columns; the sorted labels of ``y_true`` by default.
        n_bins : int, default=15
            Bins of the top probability.
        name : str, default=None
            The curve's name in the legend.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure by default.

        Returns
        -------
        display : ReliabilityDisplay
        """
        curve = reliability_curve(y_true, y_proba, labels=labels, n_bins=n_bins)
        return cls(*curve, _ece(*curve), estimator_name=name).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, n_bins: int = 15, name=None, ax=None):
        """Plot for a fitted classifier with ``predict_proba`` and ``classes_``.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like
            The evaluation images.
        y : array-like of shape (n_samples,)
            Their labels.
        n_bins, name, ax
            As in :meth:`from_predictions`.

        Returns
        -------
        display : ReliabilityDisplay
        """
        check_is_fitted(estimator)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y,
            estimator.predict_proba(X),
            labels=estimator.classes_,
            n_bins=n_bins,
            name=name,
            ax=ax,
        )

    def plot(self, *, ax=None):
        """Draw the diagram on ``ax`` or on a new figure.

        Parameters
        ----------
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : ReliabilityDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        n_bins = len(self.accuracy)
        centers = (np.arange(n_bins) + 0.5) / n_bins
        full = self.counts > 0
        label = f"accuracy (ECE {self.ece:.3f})"
        if self.estimator_name:
            label = f"{self.estimator_name}: {label}"
        ax.bar(centers[full], self.accuracy[full], width=1 / n_bins, edgecolor="black", label=label)
        ax.bar(
            centers[full],
            self.confidence[full] - self.accuracy[full],
            bottom=self.accuracy[full],
            width=1 / n_bins,
            fill=False,
            edgecolor="tab:red",
            hatch="//",
            label="gap to confidence",
        )
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top-label probability)")
        ax.set_ylabel("accuracy")
        ax.legend(loc="lower right")
        self.ax_, self.figure_ = ax, ax.figure
        return self
