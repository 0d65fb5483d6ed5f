"""The two pictures that tell whether the tail classes are served.

A row-normalised confusion matrix and recall per class ordered by training
frequency. They need matplotlib (``pip install 'imbtorch[plot]'``).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.utils.validation import check_is_fitted

from .metrics import class_counts_for, per_class_recall

__all__ = ["RecallFrequencyDisplay", "plot_confusion_matrix"]


def plot_confusion_matrix(y_true, y_pred, *, labels=None, ax=None, **kwargs):
    """Confusion matrix with rows normalised to recall, via sklearn's display.

    Row ``i`` shows where the samples of class ``i`` went, so a tail class
    with 3 samples is as visible as a head class with 300.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
    ax : matplotlib Axes, default=None
    **kwargs
        Passed to :meth:`sklearn.metrics.ConfusionMatrixDisplay.from_predictions`
        (e.g. ``cmap``, ``normalize=None`` for counts).

    Returns
    -------
    display : sklearn.metrics.ConfusionMatrixDisplay
    """
    kwargs = {"normalize": "true", "values_format": ".2f", **kwargs}
    return ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=labels, ax=ax, **kwargs)


class RecallFrequencyDisplay:
    """Recall of each class as bars, classes ordered by training frequency.

    The training count of each class is drawn as a line on a log-scaled
    second axis, so a recall that falls with frequency is visible at a
    glance. Build it with :meth:`from_predictions` or :meth:`from_estimator`.

    Parameters
    ----------
    recall : ndarray of shape (n_classes,)
    class_counts : ndarray of shape (n_classes,)
        Training samples per class.
    labels : ndarray of shape (n_classes,)

    Attributes
    ----------
    ax_, figure_, count_ax_
        The matplotlib objects, set by :meth:`plot`.
    """

    def __init__(self, recall, class_counts, labels) -> None:
        self.recall = np.asarray(recall, dtype=np.float64)
        self.class_counts = np.asarray(class_counts)
        self.labels = np.asarray(labels)

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, class_counts, labels=None, ax=None):
        """Plot from evaluation labels, predictions and training counts.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
            Labels, or multi-label indicator matrices (each label's recall is
            the share of the images that carry it where it is predicted).
        class_counts : dict or array-like
            Training samples per class: ``{label: count}`` or counts in
            ``labels`` order (e.g. ``np.unique(y_train, return_counts=True)[1]``,
            or a multi-label ``y_train.sum(axis=0)``).
        labels : array-like, default=None
            Classes to show; the sorted labels of ``y_true`` by default (the
            columns of a multi-label ``y_true``).
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : RecallFrequencyDisplay
        """
        if labels is None:
            labels = np.arange(np.shape(y_true)[1]) if np.ndim(y_true) == 2 else np.unique(y_true)
        labels = np.asarray(labels)
        recall = per_class_recall(y_true, y_pred, labels=labels)
        return cls(recall, class_counts_for(labels, class_counts), labels).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, ax=None):
        """Plot for a fitted :class:`~imbtorch.BalancedImageClassifier` on ``(X, y)``.

        Training counts come from the estimator's ``class_counts_``.

        Parameters
        ----------
        estimator : fitted BalancedImageClassifier
        X : array-like
            The evaluation images.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Their labels.
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : RecallFrequencyDisplay
        """
        check_is_fitted(estimator, "class_counts_")
        return cls.from_predictions(
            y,
            estimator.predict(X),
            class_counts=estimator.class_counts_,
            labels=estimator.classes_,
            ax=ax,
        )

    def plot(self, *, ax=None):
        """Draw the bars (and the count line) on ``ax`` or on a new figure.

        Parameters
        ----------
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : RecallFrequencyDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        order = np.argsort(-self.class_counts, kind="stable")
        positions = np.arange(len(order))
        ax.bar(positions, self.recall[order], color="tab:blue", label="recall")
        ax.set_xticks(positions, [str(label) for label in self.labels[order]])
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("class or label (most to least frequent in training)")
        ax.set_ylabel("recall")
        count_ax = ax.twinx()
        count_ax.plot(positions, self.class_counts[order], color="tab:orange", marker="o")
        count_ax.set_yscale("log")
        count_ax.set_ylabel("training samples (log scale)", color="tab:orange")
        self.ax_, self.count_ax_, self.figure_ = ax, count_ax, ax.figure
        return self
