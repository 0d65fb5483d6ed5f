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

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..data.targets import collection_and_targets, is_multilabel_input
from .imbalance_report import ImbalanceReport
from .metrics import (
    class_counts_for,
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
        Evaluation images and labels; ``y=None`` reads the labels a Dataset
        carries (a ``datasets.Dataset``'s ``ClassLabel`` column). A multi-label 0/1 indicator ``y``
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
        for the table and the figure; a ``datasets.Dataset``'s
        ``Sequence(ClassLabel)`` names by default.

    Returns
    -------
    report : ImbalanceReport
    """
    check_is_fitted(estimator)
    X, y = collection_and_targets(X, y, caller="report")
    if label_names is None and getattr(X, "multilabel", False):
        label_names = X.classes  # a datasets.Dataset's Sequence(ClassLabel) names
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
            training=training_summary(estimator),
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
        class_counts=class_counts_for(classes, class_counts),
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

    Parameters
    ----------
    estimator : estimator
        A fitted classifier, pipeline or meta-estimator.

    Returns
    -------
    str or None
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
