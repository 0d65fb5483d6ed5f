"""``report``: one call that shows how a classifier serves every class.

::

    from imbtorch import report
    rep = report(clf, X_test, y_test)
    rep                      # in Jupyter: headline scores, per-class table, figure
    print(rep)               # in a terminal: the same as text
    rep.savefig("report.png")

Needs pandas and matplotlib (``pip install 'imbtorch[report]'``).
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
from sklearn.metrics import precision_recall_fscore_support
from sklearn.utils.validation import check_is_fitted

from ..data.targets import is_multilabel_input
from .calibration import ReliabilityDisplay, expected_calibration_error, reliability_curve
from .metrics import (
    RecallFrequencyDisplay,
    _counts_for,
    imbalance_scores,
    import_pandas,
    plot_confusion_matrix,
    shot_groups,
)

__all__ = ["ImbalanceReport", "report", "training_summary"]


def report(
    estimator,
    X,
    y,
    *,
    class_counts=None,
    shot_thresholds: tuple[int, int] = (100, 20),
    n_bins: int = 15,
    label_names=None,
) -> ImbalanceReport:
    """Evaluate a fitted classifier on ``(X, y)`` class by class (or label by label).

    Parameters
    ----------
    estimator : fitted scikit-learn classifier
        Anything with ``classes_`` and ``predict`` (a
        :class:`~imbtorch.BalancedImageClassifier`, a pipeline, ...);
        with ``predict_proba`` the report adds calibration.
    X, y
        Evaluation images and labels. A multi-label 0/1 indicator ``y``
        gives a :class:`~imbtorch.evaluation.multilabel_report.MultiLabelReport`
        (average precision per label; needs ``predict_proba``).
    class_counts : dict or array-like, default=None
        Training samples per class (``{label: count}`` or counts in
        ``classes_`` order; per label column for a multi-label ``y``); the
        estimator's ``class_counts_`` by default.
    shot_thresholds : (many, few), default=(100, 20)
        Bounds of the many-, medium- and few-shot groups.
    n_bins : int, default=15
        Bins of the expected calibration error and the reliability diagram.
    label_names : array-like of shape (n_labels,), default=None
        Names of a multi-label ``y``'s columns (``load_image_table``'s),
        for the table and the figure.

    Returns
    -------
    report : ImbalanceReport
    """
    check_is_fitted(estimator)
    classes = np.asarray(estimator.classes_)
    if class_counts is None:
        class_counts = getattr(estimator, "class_counts_", None)
    if class_counts is None:
        raise ValueError(
            f"{type(estimator).__name__} does not record its training counts (class_counts_); "
            "pass class_counts=np.unique(y_train, return_counts=True)[1] (or a dict "
            "{label: count}; y_train.sum(axis=0) for a multi-label y)."
        )
    if is_multilabel_input(y):
        from .multilabel_report import MultiLabelReport

        return MultiLabelReport.from_estimator(
            estimator,
            X,
            y,
            label_counts=class_counts,
            label_names=label_names,
            shot_thresholds=shot_thresholds,
            n_bins=n_bins,
        )
    unknown = np.setdiff1d(np.asarray(y), classes)
    if len(unknown):
        raise ValueError(
            f"y holds labels {unknown.tolist()!r} that {type(estimator).__name__} was not "
            f"trained on (classes_ {classes.tolist()!r}); evaluate on the classes it knows."
        )
    y_proba = estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else None
    y_pred = estimator.predict(X)
    return ImbalanceReport(
        y,
        y_pred,
        y_proba,
        classes=classes,
        class_counts=_counts_for(classes, class_counts),
        shot_thresholds=shot_thresholds,
        n_bins=n_bins,
        name=type(estimator).__name__,
        training=training_summary(estimator),
    )


def _trained_classifier(estimator):
    """The :class:`~imbtorch.BalancedImageClassifier` behind ``estimator`` (itself, a
    pipeline's last step, or a meta-estimator's ``estimator_``), else None."""
    for candidate in (
        estimator,
        estimator[-1] if hasattr(estimator, "steps") else None,
        getattr(estimator, "estimator_", None),
    ):
        if hasattr(candidate, "plan_") and hasattr(candidate, "history"):
            return candidate
    return None


def training_summary(estimator) -> str | None:
    """How a :class:`~imbtorch.BalancedImageClassifier` was trained: its epochs and its plan
    (``plan_``: what ``strategy='auto'`` chose, the decisions it took in training and their
    evidence), the epoch early stopping restored and the temperature of its probabilities,
    one statement a line. None for other estimators.

    Read from the classifier itself, a pipeline's last step or a meta-estimator's
    ``estimator_``.
    """
    clf = _trained_classifier(estimator)
    if clf is None:
        return None
    first, *lines = clf.plan_.lines()
    stopping = dict(getattr(clf, "callbacks_", None) or []).get("early_stopping")
    restored = getattr(stopping, "best_epoch_", 0) if getattr(stopping, "load_best", 0) else 0
    if restored and restored != len(clf.history):
        lines.append(
            f"early stopping kept the weights of epoch {restored} (best {stopping.monitor})"
        )
    temperature = getattr(clf, "proba_temperature_", 1.0)
    if temperature != 1.0:
        lines.append(
            f"probabilities at temperature {temperature:.3g}, fitted on the validation split"
        )
    return "\n".join([f"Trained {len(clf.history)} epochs. {first}", *(f"- {x}" for x in lines)])


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
        with probabilities, the reliability diagram, side by side; returns ``self``."""
        import matplotlib.pyplot as plt

        panels = 3 if self.y_proba is not None else 2
        figure, axes = plt.subplots(1, panels, figsize=figsize or (5.5 * panels, 4.8))
        plot_confusion_matrix(
            self.y_true,
            self.y_pred,
            labels=self.classes,
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
        """Save the figure (drawn if needed) to ``path``; ``kwargs`` go to ``Figure.savefig``."""
        if not hasattr(self, "figure_"):
            self.plot()
        self.figure_.savefig(path, **{"bbox_inches": "tight", **kwargs})
