"""compare_strategies: a cross-validated leaderboard of imbalance strategies.

One call answers "which answer to imbalance suits my data?": every strategy
is cross-validated on the same folds with imbalance-aware scores (balanced
accuracy, macro-F1, G-mean, recall of the rarest classes) and fit time, and
the results come back as a pandas DataFrame, best first::

    from imbtorch import compare_strategies
    table = compare_strategies(X, y, cv=3, plot=True)

Needs pandas (``pip install 'imbtorch[compare]'``); the plot needs matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.metrics import average_precision_score, make_scorer, recall_score
from sklearn.model_selection import cross_validate
from sklearn.utils.parallel import Parallel, delayed

from ..data.splits import check_cv
from ..data.targets import check_multilabel_targets, collection_and_targets, is_multilabel_input
from ..estimator import BalancedImageClassifier
from ..strategies import DEFAULT_STRATEGIES, MULTILABEL_DEFAULT_STRATEGIES, strategy_params
from .calibration import CALIBRATION_SCORING
from .metrics import IMBALANCE_SCORING, SHOT_GROUPS, import_pandas, shot_scorers, tail_labels
from .multilabel import (
    MULTILABEL_SCORING,
    LabelProbaScorer,
    multilabel_shot_scorers,
    tail_label_columns,
)

__all__ = ["compare_strategies", "plot_strategy_comparison"]


def _resolve(strategies, estimator, *, multilabel: bool = False) -> dict:
    """Strategy name -> estimator to cross-validate."""
    if strategies is None:
        strategies = MULTILABEL_DEFAULT_STRATEGIES if multilabel else DEFAULT_STRATEGIES
    if isinstance(strategies, str) or not isinstance(strategies, (Mapping, Sequence)):
        raise TypeError(
            "strategies must be a list of strategy names (see imbtorch.strategies."
            "STRATEGY_NAMES) or a dict {name: strategy name | dict of parameters | estimator}, "
            f"got {strategies!r}."
        )
    if not isinstance(strategies, Mapping):
        strategies = {name: name for name in strategies}
    if not strategies:
        raise ValueError("strategies is empty; name at least one strategy to compare.")
    resolved = {}
    for name, spec in strategies.items():
        if hasattr(spec, "fit"):
            resolved[name] = clone(spec)
            continue
        if isinstance(spec, str):
            spec = strategy_params(spec, _max_epochs(estimator, spec))
        if not isinstance(spec, Mapping):
            raise TypeError(
                f"Strategy {name!r} is {spec!r}; give a strategy name, a dict of "
                f"{type(estimator).__name__} parameters, or an estimator."
            )
        resolved[name] = clone(estimator).set_params(**spec)
    return resolved


def _max_epochs(estimator, strategy: str) -> int:
    params = estimator.get_params(deep=False)
    if "max_epochs" not in params:
        raise ValueError(
            f"Strategy {strategy!r} sets BalancedImageClassifier parameters, but estimator "
            f"is a {type(estimator).__name__}; pass a BalancedImageClassifier as estimator, "
            "or give this strategy as an estimator of its own."
        )
    return int(params["max_epochs"])


def compare_strategies(
    X,
    y,
    strategies: Sequence[str] | Mapping | None = None,
    *,
    estimator=None,
    cv=5,
    scoring: Mapping | None = None,
    tail_fraction: float = 0.3,
    extra_scores: Sequence[str] = (),
    shot_thresholds: tuple[int, int] = (100, 20),
    n_jobs: int | None = None,
    error_score="raise",
    plot: bool = False,
    ax=None,
):
    """Cross-validate imbalance strategies on the same folds and rank them.

    Parameters
    ----------
    X : array-like of images
        Arrays, file paths, a torch Dataset (wrap it in skorch's
        ``SliceDataset``) or a ``datasets.Dataset``.
    y : array-like of shape (n_samples,), or (n_samples, n_labels), or None
        Labels (None: those a Dataset carries, e.g. a ``datasets.Dataset``'s
        ``ClassLabel`` column), or a multi-label 0/1 indicator matrix (array, sparse matrix
        or DataFrame), for which the folds stratify every label (iterative
        stratification, :mod:`imbtorch.data.splits`) and the defaults
        change: see ``strategies`` and ``scoring``.
    strategies : list of str or dict, default=None
        Names from :data:`imbtorch.strategies.STRATEGY_NAMES` (for a
        multi-label ``y``, :data:`~imbtorch.strategies.MULTILABEL_STRATEGY_NAMES`), or a dict
        ``{label: name | dict of parameters | estimator}``; dict parameters are
        set on a clone of ``estimator``, estimators (e.g. a pipeline of
        :class:`~imbtorch.ImageEmbedder` and SMOTE) run as they are.
        ``None`` runs :data:`imbtorch.strategies.DEFAULT_STRATEGIES`
        (:data:`~imbtorch.strategies.MULTILABEL_DEFAULT_STRATEGIES` for a
        multi-label ``y``).
    estimator : BalancedImageClassifier, default=None
        The configured classifier each strategy modifies (epochs, backbone,
        device, ``random_state``...); ``BalancedImageClassifier()`` by default.
        Its own imbalance settings stay in every strategy that does not set
        them, so leave them at their defaults; the named strategies set
        ``strategy=None`` (``'ce'`` is plain cross-entropy), ``'auto'`` sets
        ``strategy='auto'``.
    cv : int, cross-validation generator or iterable, default=5
        As in :func:`~sklearn.model_selection.cross_validate` (stratified for
        an int). The folds are drawn once, so every strategy sees the same.
    scoring : dict, default=None
        Scorers by name; by default balanced accuracy, macro-F1, G-mean and
        ``tail_recall`` (mean recall of the rarest classes of ``y``). For a
        multi-label ``y``: macro mean average precision (``map_macro``, what
        the table is ranked by), micro mAP, macro-F1 and ``tail_map`` (mean
        AP of the rarest labels).
    tail_fraction : float, default=0.3
        Share of classes (labels) counted as tail by ``tail_recall``
        (``tail_map``).
    extra_scores : sequence of {'shots', 'calibration'}, default=()
        Scores added to ``scoring``: ``'shots'``, the mean recall of
        many-, medium- and few-shot classes by each fold's training counts
        (``many_shot``, ``medium_shot``, ``few_shot``; NaN for an empty
        group; for a multi-label ``y`` the mean AP of each group's labels,
        ``many_shot_map`` ...); ``'calibration'`` (single-label), the
        negated top-label ECE and multi-class Brier score of ``predict_proba``
        (:data:`~imbtorch.evaluation.calibration.CALIBRATION_SCORING`).
    shot_thresholds : (many, few), default=(100, 20)
        The shot groups' bounds (see :func:`~imbtorch.evaluation.metrics.shot_groups`).
    n_jobs : int, default=None
        Fits (strategies x folds) run in parallel, through joblib: processes
        here, or a Dask cluster under ``joblib.parallel_config("dask")`` (see
        the "Scaling out" guide). Each fit also uses torch's threads.
    error_score : 'raise' or float, default='raise'
        A failing fit stops the comparison by default instead of a NaN score.
    plot : bool, default=False
        Also draw the ranking with :func:`plot_strategy_comparison`.
    ax : matplotlib Axes, default=None
        Where to draw (implies ``plot``); the axes are in ``table.attrs['ax']``.

    Returns
    -------
    table : pandas.DataFrame
        One row per strategy, best mean score first (the first scorer):
        ``<score>_mean`` and ``<score>_std`` for every scorer and for
        ``fit_time`` (seconds). The tail's and the shot groups' scores count
        the classes each fold's test part holds, and average over the folds
        that hold one (a rare class is in few folds).
        ``table.attrs['cv_results']`` holds the raw
        :func:`~sklearn.model_selection.cross_validate` output per strategy.
    """
    pd = import_pandas("compare_strategies returns a pandas DataFrame", "compare")
    estimator = BalancedImageClassifier() if estimator is None else estimator
    X, y = collection_and_targets(X, y, caller="compare_strategies")
    multilabel = is_multilabel_input(y)
    if multilabel:
        y = check_multilabel_targets(y)
    candidates = _resolve(strategies, estimator, multilabel=multilabel)
    unknown = set(extra_scores) - {"shots", "calibration"}
    if isinstance(extra_scores, str) or unknown:
        raise ValueError(
            f"extra_scores takes a list of 'shots' and 'calibration'; got {extra_scores!r}."
        )
    if scoring is None:
        scoring = _default_scoring(y, multilabel, tail_fraction)
    if "calibration" in extra_scores:
        if multilabel:
            raise ValueError(
                "extra_scores='calibration' scores the top-label calibration of one label per "
                "image, which a multi-label y lacks; drop it."
            )
        scoring = {**scoring, **CALIBRATION_SCORING}
    # iterative stratification for a multi-label y, StratifiedKFold for labels
    folds = list(check_cv(cv, y, classifier=True).split(X, y))

    def scoring_for(fold) -> dict:
        if "shots" not in extra_scores:
            return scoring
        return {**scoring, **_fold_shot_scorers(y, fold[0], multilabel, shot_thresholds)}

    # every (strategy, fold) fit is one task of one joblib call, so that n_jobs workers
    # (or a Dask cluster) run them all at once, and X travels to each worker once
    tasks = [(name, fold) for name in candidates for fold in folds]
    per_fold = Parallel(n_jobs=n_jobs)(
        delayed(cross_validate)(
            candidates[name], X, y, cv=[fold], scoring=scoring_for(fold), error_score=error_score
        )
        for name, fold in tasks
    )
    results, rows = {}, []
    for name in candidates:
        runs = [run for (task, _), run in zip(tasks, per_fold, strict=True) if task == name]
        result = {key: np.concatenate([run[key] for run in runs]) for key in runs[0]}
        results[name] = result
        row = {"strategy": name}
        for key in [f"test_{s}" for s in scoring_for(folds[0])] + ["fit_time"]:
            label = key.removeprefix("test_")
            row[f"{label}_mean"], row[f"{label}_std"] = _over_folds(label, result[key])
        rows.append(row)
    first = f"{next(iter(scoring))}_mean"
    table = pd.DataFrame(rows).set_index("strategy").sort_values(first, ascending=False)
    table.attrs["cv_results"] = results
    if plot or ax is not None:
        table.attrs["ax"] = plot_strategy_comparison(table, metric=first[: -len("_mean")], ax=ax)
    return table


#: Scores of a subset of the classes (labels): undefined (NaN) on a fold without one.
_SUBSET_SCORES = frozenset(
    ["tail_recall", "tail_map", *(f"{g}_shot{m}" for g in SHOT_GROUPS for m in ("", "_map"))]
)


def _over_folds(label: str, scores: np.ndarray) -> tuple[float, float]:
    """Mean and std of a score over the folds; those of :data:`_SUBSET_SCORES` over the
    folds where they are defined (NaN where none is). Any other NaN is a failed fit (a
    numeric ``error_score``) and stays in the mean."""
    if label in _SUBSET_SCORES:
        scores = scores[np.isfinite(scores)]
        if not len(scores):
            return np.nan, np.nan
    return float(np.mean(scores)), float(np.std(scores))


def _default_scoring(y, multilabel: bool, tail_fraction: float) -> dict:
    if multilabel:  # mean average precision, of all labels and of the rarest
        tail = tail_label_columns(y, fraction=tail_fraction)
        return {
            **MULTILABEL_SCORING,
            "tail_map": LabelProbaScorer(_tail_map, tail=tail),
        }
    tail = tail_labels(y, fraction=tail_fraction)
    return {
        **IMBALANCE_SCORING,
        "tail_recall": make_scorer(_tail_recall, tail=tail),
    }


def _tail_recall(y_true, y_pred, *, tail) -> float:
    """Mean recall of the ``tail`` classes that the fold's ``y_true`` holds (one it lacks
    has no recall: counted as 0, it would lower every strategy's score alike)."""
    present = np.intersect1d(tail, np.asarray(y_true))
    if not len(present):
        return np.nan
    return float(recall_score(y_true, y_pred, labels=present, average="macro"))


def _tail_map(y_true, y_score, *, tail) -> float:
    """Mean average precision of the ``tail`` columns that the fold's ``y_true`` holds."""
    present = [label for label in tail if np.any(np.asarray(y_true)[:, label])]
    if not present:
        return np.nan
    return float(np.mean([average_precision_score(y_true[:, c], y_score[:, c]) for c in present]))


def _fold_shot_scorers(y, train, multilabel: bool, thresholds) -> dict:
    """Shot-group scorers by the training counts of one fold."""
    if multilabel:
        return multilabel_shot_scorers(y[train].sum(axis=0), thresholds=thresholds)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    counts = np.bincount(codes[train], minlength=len(classes))
    return shot_scorers(counts, labels=classes, thresholds=thresholds)


def plot_strategy_comparison(table, *, metric: str = "balanced_accuracy", ax=None):
    """Horizontal bars of one score per strategy, with its std over folds.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`compare_strategies`.
    metric : str, default='balanced_accuracy'
        A scorer name (the table has ``<metric>_mean`` and ``<metric>_std``).
    ax : matplotlib Axes, default=None
        Drawn on a new figure when omitted.

    Returns
    -------
    ax : matplotlib Axes
    """
    if f"{metric}_mean" not in table:
        scores = sorted(c.removesuffix("_mean") for c in table if c.endswith("_mean"))
        raise ValueError(f"The table has no score {metric!r}; use one of {scores}.")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 0.4 * len(table) + 1))
    ordered = table.sort_values(f"{metric}_mean")
    ax.barh(ordered.index, ordered[f"{metric}_mean"], xerr=ordered[f"{metric}_std"], color="C0")
    ax.set_xlabel(f"{metric} (mean ± std over folds)")
    return ax
