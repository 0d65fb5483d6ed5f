"""The report of a multi-label classifier: average precision and recall per label by frequency.

Built by :func:`imbtorch.report` when ``y`` is a 0/1 indicator matrix; the
text, HTML and ``savefig`` are :class:`~imbtorch.evaluation.report.ImbalanceReport`'s.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibrationDisplay

from ..data.targets import check_multilabel_targets
from .displays import RecallFrequencyDisplay
from .imbalance_report import ImbalanceReport
from .metrics import import_pandas
from .multilabel import label_scores, multilabel_scores
from .thresholds import label_probabilities

__all__ = ["MultiLabelReport"]


class MultiLabelReport(ImbalanceReport):
    """Scores, a per-label table and a figure of a multi-label evaluation.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, n_labels)
        0/1 label indicators: the truth and the predictions.
    y_proba : array-like of shape (n_samples, n_labels) or None
        Each label's probability.
    label_counts : ndarray of shape (n_labels,)
        Training images that carry each label.
    label_names : array-like of shape (n_labels,)
        The labels' names, in column order.
    shot_thresholds : (many, few)
        Training counts from which a label is many-shot, and under which few-shot.
    n_bins : int
        Bins of the reliability diagram.
    name : str
        The classifier's name, in the title.
    training : str or None, default=None
        How the classifier was trained (:func:`training_summary`), shown
        under the title.

    Attributes
    ----------
    scores : dict
        Macro and micro mean average precision, macro and micro F1, and the
        mean AP of the many-, medium- and few-shot labels
        (:func:`~imbtorch.evaluation.multilabel_scores`).
    per_class : pandas.DataFrame
        One row per label, most frequent in training first: ``train_count``,
        ``shot``, ``support``, ``average_precision``, ``f1``, ``recall``,
        ``precision`` (:func:`~imbtorch.evaluation.label_scores`).
    figure_ : matplotlib Figure
        Set by :meth:`plot`: AP and recall per label by training frequency,
        and the reliability of every label's probability.
    """

    _row, _kind = "label", "labels"

    def __init__(
        self,
        y_true,
        y_pred,
        y_proba,
        *,
        label_counts,
        label_names,
        shot_thresholds,
        n_bins,
        name,
        training=None,
    ) -> None:
        import_pandas("report's per-label table is a pandas DataFrame", "report")
        self.y_true = check_multilabel_targets(y_true)
        self.y_pred, self.y_proba = check_multilabel_targets(y_pred), np.asarray(y_proba)
        n_labels = self.y_true.shape[1]
        self.classes = np.arange(n_labels) if label_names is None else np.asarray(label_names)
        self.class_counts = np.asarray(label_counts)
        self.n_bins, self.name, self.training = n_bins, name, training
        self.scores = multilabel_scores(
            self.y_true,
            self.y_proba,
            y_pred=self.y_pred,
            label_counts=self.class_counts,
            shot_thresholds=shot_thresholds,
        )
        self.per_class = label_scores(
            self.y_true,
            self.y_proba,
            y_pred=self.y_pred,
            label_counts=self.class_counts,
            label_names=self.classes,
        )

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, label_counts, label_names, shot_thresholds, n_bins, training
    ) -> MultiLabelReport:
        """Evaluate a fitted multi-label classifier with ``predict_proba`` on ``(X, y)``;
        ``training`` says how it was trained (``report``'s ``training_summary``).

        Parameters
        ----------
        estimator : fitted classifier
            A multi-label classifier with ``predict_proba``.
        X : array-like
            The evaluation images.
        y : array-like of shape (n_samples, n_labels)
            Their 0/1 label indicator.
        label_counts, label_names, shot_thresholds, n_bins, training
            As in :class:`MultiLabelReport`.

        Returns
        -------
        MultiLabelReport"""
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"A multi-label report ranks each label's images by probability (average "
                f"precision), but {type(estimator).__name__} has no predict_proba."
            )
        y = check_multilabel_targets(y)
        if len(estimator.classes_) != y.shape[1]:
            raise ValueError(
                f"y has {y.shape[1]} label columns, but {type(estimator).__name__} was trained "
                f"on {len(estimator.classes_)}; evaluate on the labels it knows."
            )
        return cls(
            y,
            estimator.predict(X),
            label_probabilities(estimator.predict_proba(X)),
            label_counts=label_counts,
            label_names=label_names,
            shot_thresholds=shot_thresholds,
            n_bins=n_bins,
            name=type(estimator).__name__,
            training=training,
        )

    def plot(self, *, figsize: tuple[float, float] | None = None):
        """Draw AP and recall per label against training frequency, and the reliability of
        the labels' probabilities (pooled), side by side; returns ``self``.

        Parameters
        ----------
        figsize : (float, float), default=None
            The figure's size in inches; None sizes it to the labels.

        Returns
        -------
        MultiLabelReport"""
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(1, 3, figsize=figsize or (16.5, 4.8))
        table = self.per_class.loc[self.classes]
        for ax, column in zip(axes[:2], ("average_precision", "recall"), strict=True):
            values = np.nan_to_num(table[column].to_numpy())
            RecallFrequencyDisplay(values, self.class_counts, self.classes).plot(ax=ax)
            ax.set_ylabel(column.replace("_", " "))
            ax.set_title(f"{column.replace('_', ' ')} by training frequency")
        CalibrationDisplay.from_predictions(
            self.y_true.ravel(), self.y_proba.ravel(), n_bins=self.n_bins, ax=axes[2]
        )
        axes[2].set_title("reliability (every label's probability)")
        figure.tight_layout()
        plt.close(figure)
        self.figure_ = figure
        return self
