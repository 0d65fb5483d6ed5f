"""The report of one evaluation, class by class: scores, a per-class table and a figure;
built by :func:`imbtorch.evaluation.report.report`."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from .calibration import ReliabilityDisplay, expected_calibration_error, reliability_curve
from .displays import RecallFrequencyDisplay, plot_confusion_matrix
from .metrics import imbalance_scores, import_pandas, shot_groups


class ImbalanceReport:
    """Scores, a per-class table and a figure of one evaluation; build it with :func:`report`.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    y_proba : array-like of shape (n_samples, n_classes) or None
    classes, class_counts : ndarray of shape (n_classes,)
    shot_thresholds : (many, few)
    n_bins : int
    name : str
    training : str or None, default=None
        How the classifier was trained (:func:`training_summary`), shown
        under the title.

    Attributes
    ----------
    scores : dict
        Balanced accuracy, macro-F1, G-mean, many/medium/few-shot recall (NaN
        for an empty group) and, with probabilities, the top-label and
        class-wise ECE.
    per_class : pandas.DataFrame
        One row per class, most frequent in training first: ``train_count``,
        ``shot``, ``support`` (evaluation samples), ``recall``,
        ``precision``, ``f1``.
    figure_ : matplotlib Figure
        Set by :meth:`plot`.
    """

    def __init__(
        self,
        y_true,
        y_pred,
        y_proba,
        *,
        classes,
        class_counts,
        shot_thresholds,
        n_bins,
        name,
        training=None,
    ) -> None:
        pd = import_pandas(
            "report's per-class table is a pandas DataFrame (and its figure needs matplotlib)",
            "report",
        )
        self.y_true, self.y_pred = np.asarray(y_true), np.asarray(y_pred)
        self.y_proba = None if y_proba is None else np.asarray(y_proba)
        self.classes, self.class_counts = classes, class_counts
        self.n_bins, self.name, self.training = n_bins, name, training
        self.scores = imbalance_scores(
            self.y_true,
            self.y_pred,
            class_counts=class_counts,
            labels=classes,
            shot_thresholds=shot_thresholds,
        )
        if self.y_proba is not None:
            for kind, key in (("top_label", "ece"), ("classwise", "ece_classwise")):
                self.scores[key] = expected_calibration_error(
                    self.y_true, self.y_proba, labels=classes, n_bins=n_bins, kind=kind
                )
        precision, recall, f1, support = precision_recall_fscore_support(
            self.y_true, self.y_pred, labels=classes, zero_division=0.0
        )
        table = pd.DataFrame(
            {
                "train_count": class_counts,
                "shot": shot_groups(class_counts, thresholds=shot_thresholds),
                "support": support,
                "recall": recall,
                "precision": precision,
                "f1": f1,
            },
            index=pd.Index(classes, name="class"),
        )
        self.per_class = table.iloc[np.argsort(-np.asarray(class_counts), kind="stable")]

    # -- text and HTML ----------------------------------------------------------------
    _row, _kind = "class", "classes"  # what the table's rows are

    def _title(self) -> str:
        return (
            f"Imbalance report: {self.name} on {len(self.y_true)} samples, "
            f"{len(self.classes)} {self._kind}"
        )

    def __str__(self) -> str:
        scores = "\n".join(f"  {name:<18} {value:.3f}" for name, value in self.scores.items())
        table = self.per_class.to_string(float_format=lambda v: f"{v:.3f}")
        training = f"\n{self.training}" if self.training else ""
        return f"{self._title()}{training}\n\n{scores}\n\n{table}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{value:.3f}</td></tr>"
            for name, value in self.scores.items()
        )
        table = self.per_class.to_html(float_format=lambda v: f"{v:.3f}")
        png = io.BytesIO()
        self.plot().figure_.savefig(png, format="png", dpi=80, bbox_inches="tight")
        image = base64.b64encode(png.getvalue()).decode("ascii")
        training = ""
        if self.training:
            training = "<p>" + "<br>".join(map(html.escape, self.training.splitlines())) + "</p>"
        return (
            f"<div><h4>{html.escape(self._title())}</h4>{training}"
            f"<table><tr><th>score</th><th>value</th></tr>{rows}</table>"
            f'<img src="data:image/png;base64,{image}" alt="report figure"/>'
            f"<details><summary>per-{self._row} table</summary>{table}</details></div>"
        )

    # -- figure -----------------------------------------------------------------------
    def plot(self, *, figsize: tuple[float, float] | None = None):
        """Draw the normalised confusion matrix, recall against training frequency and,
        with probabilities, the reliability diagram, side by side; returns ``self``.

        Parameters
        ----------
        figsize : (float, float), default=None
            The figure's size in inches; None sizes it to the classes.

        Returns
        -------
        ImbalanceReport"""
        import matplotlib.pyplot as plt

        panels = 3 if self.y_proba is not None else 2
        figure, axes = plt.subplots(1, panels, figsize=figsize or (5.5 * panels, 4.8))
        # the table's order, which the recall panel shares: most frequent in training first
        by_frequency = self.per_class.index.to_numpy()
        plot_confusion_matrix(
            self.y_true,
            self.y_pred,
            labels=by_frequency,
            ax=axes[0],
            colorbar=False,
            include_values=len(self.classes) <= 12,
        )
        axes[0].set_title("confusion matrix (rows: recall)")
        recall = self.per_class.loc[self.classes, "recall"].to_numpy()
        RecallFrequencyDisplay(recall, self.class_counts, self.classes).plot(ax=axes[1])
        axes[1].set_title("recall by training frequency")
        if self.y_proba is not None:
            curve = reliability_curve(
                self.y_true, self.y_proba, labels=self.classes, n_bins=self.n_bins
            )
            ReliabilityDisplay(*curve, self.scores["ece"]).plot(ax=axes[2])
            axes[2].set_title("reliability (top label)")
        figure.tight_layout()
        plt.close(figure)  # shown by _repr_html_ or savefig, not twice in a notebook
        self.figure_ = figure
        return self

    def savefig(self, path, **kwargs) -> None:
        """Save the figure (drawn if needed) to ``path``.

        Parameters
        ----------
        path : str or path-like
            The file to write; its suffix names the format.
        **kwargs : dict
            Passed on to matplotlib's ``Figure.savefig``.
        """
        if not hasattr(self, "figure_"):
            self.plot()
        self.figure_.savefig(path, **{"bbox_inches": "tight", **kwargs})
