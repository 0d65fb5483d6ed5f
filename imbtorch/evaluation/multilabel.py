"""Scores of multi-label classifiers, label by label, beside each label's frequency.

A multi-label test set is judged per label: a rare finding scored by its own
average precision (AP), not drowned in the micro average of frequent ones.
The scores here are scikit-learn's on indicator matrices, gathered with the
training count of each label and averaged over groups of labels by
frequency, as :mod:`imbtorch.evaluation.metrics` does for classes.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    make_scorer,
    precision_recall_fscore_support,
)

from ..data.targets import check_multilabel_targets
from .metrics import SHOT_GROUPS, import_pandas, shot_groups

__all__ = [
    "LabelProbaScorer",
    "MULTILABEL_SCORING",
    "labels_f1_macro",
    "map_macro",
    "label_scores",
    "multilabel_scores",
    "multilabel_shot_scorers",
    "tail_label_columns",
]


class LabelProbaScorer:
    """A scorer of a multi-label classifier's ``predict_proba``, every label's column.

    scikit-learn's ``make_scorer(..., response_method='predict_proba')`` reads
    a ``classes_`` of two labels as a binary task and passes on one column
    only, so a score of two labels fails. This scorer gives ``score_func``
    the whole ``(n_samples, n_labels)`` array. Unlike scikit-learn's scorers
    it does not share one ``predict_proba`` with the others of a
    ``cross_validate`` (inside a fit's validation, skorch's cache does).

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_score, **kwargs)``, greater is better.
    **kwargs
        Passed on to ``score_func``.
    """

    def __init__(self, score_func, **kwargs) -> None:
        self.score_func = score_func
        self.kwargs = kwargs

    def __call__(self, estimator, X, y_true, sample_weight=None) -> float:
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.score_func(y_true, estimator.predict_proba(X), **self.kwargs, **weights)

    def __repr__(self) -> str:
        return f"LabelProbaScorer({self.score_func.__name__})"


def map_macro(y_true, y_score) -> float:
    """Mean average precision over the labels that some sample of ``y_true`` carries.

    A label no sample carries has no AP: scikit-learn's macro
    ``average_precision_score`` counts it as 0 (and warns), so a validation
    split or fold without a rare label scores lower whatever the scores are.
    NaN where no label is carried.
    """
    ap = _per_label_ap(check_multilabel_targets(y_true), np.asarray(y_score, dtype=np.float64))
    return _mean_of_defined(ap)


def _mean_of_defined(ap: np.ndarray) -> float:
    return float(np.nanmean(ap)) if np.any(np.isfinite(ap)) else np.nan


def labels_f1_macro(y_true, y_pred) -> float:
    """Macro-F1 over the labels that some sample of ``y_true`` carries (one no sample
    carries has no recall; scikit-learn would count it as 0)."""
    y_true = check_multilabel_targets(y_true)
    present = np.flatnonzero(y_true.sum(axis=0) > 0)
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0.0))


#: Scorers for ``GridSearchCV(scoring=...)`` / ``cross_validate`` on a
#: multi-label ``y``: macro (:func:`map_macro`) and micro mean average
#: precision (from ``predict_proba``) and macro-F1 (:func:`labels_f1_macro`,
#: from ``predict``), macro averages over the labels the fold holds.
MULTILABEL_SCORING = {
    "map_macro": LabelProbaScorer(map_macro),
    "map_micro": LabelProbaScorer(average_precision_score, average="micro"),
    "f1_macro": make_scorer(labels_f1_macro),
}


def tail_label_columns(y, *, fraction: float = 0.3) -> np.ndarray:
    """The rarest labels (columns) of an indicator ``y``: ``max(1, round(fraction * n))``.

    Parameters
    ----------
    y : array-like of shape (n_samples, n_labels)
        Training indicator matrix (its column sums decide what is rare).
    fraction : float in (0, 1], default=0.3

    Returns
    -------
    columns : ndarray of int
        The tail labels, rarest first (ties by column order).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
    counts = check_multilabel_targets(y).sum(axis=0)
    return np.argsort(counts, kind="stable")[: max(1, round(fraction * len(counts)))]


def _per_label_ap(y_true, y_score) -> np.ndarray:
    ap = np.full(y_true.shape[1], np.nan)
    for label in np.flatnonzero(y_true.sum(axis=0) > 0):  # AP needs a present label
        ap[label] = average_precision_score(y_true[:, label], y_score[:, label])
    return ap


def _per_label(y_true, y_score, y_pred) -> dict[str, np.ndarray]:
    positives = y_true.sum(axis=0)
    ap = _per_label_ap(y_true, y_score)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=0.0
    )
    recall = np.where(positives > 0, recall, np.nan)
    return {"ap": ap, "f1": f1, "recall": recall, "precision": precision, "support": positives}


def _check(y_true, y_score, y_pred, threshold):
    y_true = check_multilabel_targets(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_score.shape != y_true.shape:
        raise ValueError(
            f"y_score has shape {y_score.shape} but y_true {y_true.shape}; pass one score "
            "per label (predict_proba of a multi-label classifier)."
        )
    y_pred = (y_score >= threshold).astype(np.int64) if y_pred is None else y_pred
    return y_true, y_score, check_multilabel_targets(y_pred)


def multilabel_scores(
    y_true,
    y_score,
    *,
    y_pred=None,
    threshold=0.5,
    tail_labels=None,
    label_counts=None,
    shot_thresholds: tuple[int, int] = (100, 20),
) -> dict[str, float]:
    """Mean average precision (macro and micro), F1 (macro and micro), and tail or shot mAP.

    Parameters
    ----------
    y_true : array-like of shape (N, n_labels)
        0/1 indicator matrix.
    y_score : array-like of shape (N, n_labels)
        Scores or probabilities of each label (``predict_proba``).
    y_pred : array-like of shape (N, n_labels), default=None
        Predicted indicator matrix; ``y_score >= threshold`` by default.
    threshold : float or array-like of shape (n_labels,), default=0.5
    tail_labels : array-like of int, default=None
        Columns of the rare labels; adds ``'tail_map'``, their mean AP.
    label_counts : array-like of shape (n_labels,), default=None
        Training samples that carry each label; adds ``'many_shot_map'``,
        ``'medium_shot_map'`` and ``'few_shot_map'``, the mean AP of each
        group's labels (:func:`~imbtorch.evaluation.metrics.shot_groups`).
    shot_thresholds : (many, few), default=(100, 20)

    Returns
    -------
    scores : dict
        ``map_macro`` (:func:`map_macro`) and ``f1_macro`` average over the
        labels present in ``y_true`` (a label without positives has no AP
        and no recall); a group without such labels scores NaN.
    """
    y_true, y_score, y_pred = _check(y_true, y_score, y_pred, threshold)
    per_label = _per_label(y_true, y_score, y_pred)
    ap = per_label["ap"]
    scores = {
        "map_macro": _mean_of_defined(ap),
        "map_micro": float(average_precision_score(y_true, y_score, average="micro")),
        "f1_macro": labels_f1_macro(y_true, y_pred),
        "f1_micro": float(f1_score(y_true, y_pred, average="micro", zero_division=0.0)),
    }
    if tail_labels is not None:
        tail = np.atleast_1d(np.asarray(tail_labels, dtype=np.int64))
        absent = tail[~np.isfinite(ap[tail])]
        if len(absent):
            raise ValueError(
                f"tail_labels {absent.tolist()} are carried by no sample of y_true, so their "
                "average precision is undefined; name labels that the evaluation set holds."
            )
        scores["tail_map"] = float(ap[tail].mean())
    if label_counts is not None:
        groups = shot_groups(_label_counts(label_counts, y_true), thresholds=shot_thresholds)
        for group in SHOT_GROUPS:
            members = (groups == group) & np.isfinite(ap)
            scores[f"{group}_shot_map"] = float(ap[members].mean()) if members.any() else np.nan
    return scores


def multilabel_shot_scorers(label_counts, *, thresholds=(100, 20)) -> dict:
    """Scorers of the many-, medium- and few-shot labels' mean AP, for ``cross_validate``.

    Parameters
    ----------
    label_counts : array-like of shape (n_labels,)
        Training samples per label of the fold being scored.
    thresholds : (many, few), default=(100, 20)

    Returns
    -------
    scorers : dict
        ``{'many_shot_map', 'medium_shot_map', 'few_shot_map'}``, each a
        :class:`LabelProbaScorer` (NaN for a group without labels).
    """
    return {
        f"{group}_shot_map": LabelProbaScorer(
            _shot_map,
            label_counts=np.asarray(label_counts),
            thresholds=thresholds,
            group=group,
        )
        for group in SHOT_GROUPS
    }


def _shot_map(y_true, y_score, *, label_counts, thresholds, group) -> float:
    scores = multilabel_scores(
        y_true, y_score, label_counts=label_counts, shot_thresholds=thresholds
    )
    return scores[f"{group}_shot_map"]


def label_scores(
    y_true,
    y_score,
    *,
    y_pred=None,
    threshold=0.5,
    label_counts=None,
    label_names=None,
):
    """A table of each label's scores beside its frequency, rarest label last.

    Parameters
    ----------
    y_true, y_score, y_pred, threshold
        As in :func:`multilabel_scores`.
    label_counts : array-like of shape (n_labels,), default=None
        Training samples per label: adds ``train_count`` and ``shot`` and
        orders the rows by it (by ``support`` otherwise).
    label_names : array-like of shape (n_labels,), default=None
        The index of the table; the column indices by default.

    Returns
    -------
    table : pandas.DataFrame
        ``[train_count, shot,] support, average_precision, f1, recall,
        precision`` per label; NaN AP and recall for a label absent from
        ``y_true``.
    """
    pd = import_pandas("label_scores returns a pandas DataFrame", "report")
    y_true, y_score, y_pred = _check(y_true, y_score, y_pred, threshold)
    per_label = _per_label(y_true, y_score, y_pred)
    names = np.arange(y_true.shape[1]) if label_names is None else np.asarray(label_names)
    columns = {}
    order_by = "support"
    if label_counts is not None:
        counts = _label_counts(label_counts, y_true)
        columns = {"train_count": counts, "shot": shot_groups(counts)}
        order_by = "train_count"
    columns.update(
        support=per_label["support"],
        average_precision=per_label["ap"],
        f1=per_label["f1"],
        recall=per_label["recall"],
        precision=per_label["precision"],
    )
    table = pd.DataFrame(columns, index=pd.Index(names, name="label"))
    return table.sort_values(order_by, ascending=False, kind="stable")


def _label_counts(label_counts, y_true: np.ndarray) -> np.ndarray:
    counts = np.asarray(label_counts)
    if counts.shape != (y_true.shape[1],):
        raise ValueError(
            f"label_counts holds {counts.size} counts but y has {y_true.shape[1]} labels; pass "
            "one training count per label column (the classifier's class_counts_)."
        )
    return counts.astype(np.int64)
