"""Metrics for judging classifiers on imbalanced data.

Scores come from scikit-learn and imbalanced-learn; this module gathers the
ones that matter when classes are imbalanced and adds per-class recall against
class frequency. The pictures are in :mod:`imbtorch.evaluation.displays`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from imblearn.metrics import classification_report_imbalanced, geometric_mean_score
from sklearn.metrics import f1_score, make_scorer, recall_score

__all__ = [
    "IMBALANCE_SCORING",
    "balanced_accuracy",
    "f1_macro",
    "g_mean",
    "SHOT_GROUPS",
    "classification_report_imbalanced",
    "imbalance_scores",
    "per_class_recall",
    "shot_groups",
    "shot_scorers",
    "tail_labels",
]

#: The long-tail papers' groups of classes by training count (Liu et al. 2019,
#: Kang et al. 2020): many-shot above 100 images, few-shot under 20.
SHOT_GROUPS = ("many", "medium", "few")


def _over_present_classes(score, y_true, y_pred, **kwargs) -> float:
    return float(score(y_true, y_pred, labels=np.unique(np.asarray(y_true)), **kwargs))


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean recall over the classes ``y_true`` holds: scikit-learn's
    :func:`~sklearn.metrics.balanced_accuracy_score`, without its warning when
    ``y_pred`` names a class ``y_true`` lacks (a validation split or fold of
    long-tailed data often lacks the rarest classes)."""
    return _over_present_classes(recall_score, y_true, y_pred, average="macro", zero_division=0.0)


def f1_macro(y_true, y_pred) -> float:
    """Macro-F1 over the classes ``y_true`` holds.

    scikit-learn's ``f1_score(average='macro')`` averages over the classes of
    ``y_true`` and ``y_pred``: where ``y_true`` lacks a class (a validation
    split or fold of long-tailed data lacks the rarest), one prediction of it
    adds a class of F1 0, and one error costs as much as a whole class (on
    three classes of five samples, 0.72 against 0.93 for the same error toward
    a class present). Here that prediction is an error of its true class, as
    in :func:`balanced_accuracy`. Equal to scikit-learn's where ``y_true``
    holds every class ``y_pred`` names.
    """
    return _over_present_classes(f1_score, y_true, y_pred, average="macro", zero_division=0.0)


def g_mean(y_true, y_pred) -> float:
    """Geometric mean of the recalls of the classes ``y_true`` holds
    (imbalanced-learn's :func:`~imblearn.metrics.geometric_mean_score`, which is
    0 as soon as ``y_pred`` names a class ``y_true`` lacks)."""
    return _over_present_classes(geometric_mean_score, y_true, y_pred)


#: Scorers for ``GridSearchCV(scoring=...)`` / ``cross_validate``; with several
#: scorers pass ``refit=`` the one to select on. Each scores the classes the
#: fold holds (:func:`balanced_accuracy`, :func:`f1_macro`, :func:`g_mean`),
#: so a fold without a rare class neither hides nor over-punishes errors
#: toward it.
IMBALANCE_SCORING = {
    "balanced_accuracy": make_scorer(balanced_accuracy),
    "f1_macro": make_scorer(f1_macro),
    "g_mean": make_scorer(g_mean),
}


def import_pandas(purpose: str, extra: str):
    """pandas, or an ImportError saying what needs it and which extra installs it."""
    try:
        import pandas
    except ImportError as error:
        raise ImportError(f"{purpose}; install it with pip install 'imbtorch[{extra}]'.") from error
    return pandas


def tail_labels(y, *, fraction: float = 0.3) -> np.ndarray:
    """The rarest classes of ``y``: ``max(1, round(fraction * n_classes))`` of them.

    Ties in count are broken by label order. With 10 classes and the default
    fraction these are the 3 rarest; with 2 classes, the minority class.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Training labels (their counts decide what is rare).
    fraction : float in (0, 1], default=0.3

    Returns
    -------
    labels : ndarray
        The tail classes, rarest first.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    n_tail = max(1, round(fraction * len(labels)))
    return labels[np.argsort(counts, kind="stable")[:n_tail]]


def per_class_recall(y_true, y_pred, *, labels=None) -> np.ndarray:
    """Recall of each class: the fraction of its samples predicted as it.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : array-like, default=None
        Classes to report, in this order; all labels of ``y_true`` and
        ``y_pred``, sorted, by default.

    Returns
    -------
    recall : ndarray of shape (n_labels,)
    """
    return recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0.0)


def shot_groups(class_counts, *, thresholds: tuple[int, int] = (100, 20)) -> np.ndarray:
    """The shot group of each class from its training count.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training samples per class.
    thresholds : (many, few), default=(100, 20)
        More than ``many`` samples is many-shot, fewer than ``few`` is
        few-shot, the rest medium-shot (the papers' 100 and 20).

    Returns
    -------
    groups : ndarray of str of shape (n_classes,)
        ``'many'``, ``'medium'`` or ``'few'``.
    """
    many, few = thresholds
    if not few <= many:
        raise ValueError(f"thresholds must be (many, few) with few <= many; got {thresholds!r}.")
    counts = np.asarray(class_counts)
    return np.where(counts > many, "many", np.where(counts < few, "few", "medium"))


def _shot_recalls(y_true, y_pred, labels, counts, thresholds) -> dict[str, float]:
    """Mean recall of the classes of each shot group that occur in ``y_true`` (NaN: none)."""
    groups = shot_groups(counts, thresholds=thresholds)
    present = np.isin(labels, np.asarray(y_true))
    recall = per_class_recall(y_true, y_pred, labels=labels)
    scores = {}
    for group in SHOT_GROUPS:
        members = (groups == group) & present
        scores[f"{group}_shot"] = float(recall[members].mean()) if members.any() else np.nan
    return scores


def shot_scorers(class_counts, *, labels, thresholds=(100, 20)) -> dict:
    """Scorers of many-, medium- and few-shot recall, for ``cross_validate(scoring=...)``.

    Parameters
    ----------
    class_counts : dict or array-like
        Training samples per class of the fold being scored (``{label:
        count}`` or counts in ``labels`` order).
    labels : array-like
        All classes.
    thresholds : (many, few), default=(100, 20)

    Returns
    -------
    scorers : dict
        ``{'many_shot', 'medium_shot', 'few_shot'}``, each a scikit-learn
        scorer of ``predict`` (NaN for a group without classes); in one
        ``cross_validate`` they share one ``predict`` with the other scorers.
    """
    labels = np.asarray(labels)
    counts = class_counts_for(labels, class_counts)
    return {
        f"{group}_shot": make_scorer(
            _shot_recall, labels=labels, counts=counts, thresholds=thresholds, group=group
        )
        for group in SHOT_GROUPS
    }


def _shot_recall(y_true, y_pred, *, labels, counts, thresholds, group) -> float:
    return _shot_recalls(y_true, y_pred, labels, counts, thresholds)[f"{group}_shot"]


def imbalance_scores(
    y_true,
    y_pred,
    *,
    tail_labels=None,
    class_counts=None,
    labels=None,
    shot_thresholds: tuple[int, int] = (100, 20),
) -> dict[str, float]:
    """Balanced accuracy, macro-F1, G-mean and, when asked, tail and shot-group recall.

    The first three score the classes ``y_true`` holds (:func:`balanced_accuracy`,
    :func:`f1_macro`, :func:`g_mean`).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    tail_labels : array-like, default=None
        The rare classes; adds ``'tail_recall'``, their mean recall.
    class_counts : dict or array-like, default=None
        Training samples per class (``{label: count}`` or counts in
        ``labels`` order); adds ``'many_shot'``, ``'medium_shot'`` and
        ``'few_shot'``: the mean recall of the classes of each group
        (:func:`shot_groups`) that ``y_true`` holds, which on a balanced
        test set is the papers' group accuracy. A group without such a
        class scores NaN.
    labels : array-like, default=None
        The classes ``class_counts`` counts, in its order; the sorted labels
        of ``y_true`` and ``y_pred`` by default.
    shot_thresholds : (many, few), default=(100, 20)

    Returns
    -------
    scores : dict
        ``{'balanced_accuracy', 'f1_macro', 'g_mean'[, 'tail_recall']
        [, 'many_shot', 'medium_shot', 'few_shot']}``.
    """
    scores = {
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
        "f1_macro": f1_macro(y_true, y_pred),
        "g_mean": g_mean(y_true, y_pred),
    }
    if tail_labels is not None:
        tail_labels = np.atleast_1d(tail_labels)
        missing = np.setdiff1d(tail_labels, y_true)
        if len(missing):
            raise ValueError(
                f"tail_labels {missing.tolist()!r} do not occur in y_true, so their recall is "
                "undefined; name classes that the evaluation set holds."
            )
        scores["tail_recall"] = float(per_class_recall(y_true, y_pred, labels=tail_labels).mean())
    if class_counts is not None:
        if labels is None:
            labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
        labels = np.asarray(labels)
        counts = class_counts_for(labels, class_counts)
        scores.update(_shot_recalls(y_true, y_pred, labels, counts, shot_thresholds))
    return {name: float(value) for name, value in scores.items()}


def class_counts_for(labels: np.ndarray, class_counts) -> np.ndarray:
    if isinstance(class_counts, Mapping):
        missing = [label for label in labels.tolist() if label not in class_counts]
        if missing:
            raise ValueError(
                f"class_counts has no count for labels {missing!r}; give a count for every class."
            )
        return np.array([class_counts[label] for label in labels.tolist()], dtype=np.int64)
    counts = np.asarray(class_counts)
    if counts.shape != labels.shape:
        raise ValueError(
            f"class_counts holds {counts.shape[0] if counts.ndim else 0} counts but there are "
            f"{len(labels)} classes {labels.tolist()!r}; pass one count per class in that order "
            "or a dict {label: count}."
        )
    return counts.astype(np.int64)
