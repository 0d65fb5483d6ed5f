"""Per-class weight vectors: sklearn's 'balanced', effective number, dicts of labels."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real

import numpy as np
from sklearn.utils.class_weight import compute_class_weight


def effective_number_weights(class_counts: np.ndarray, beta: float) -> np.ndarray:
    """Class-balanced weights by the effective number of samples.

    Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
    CVPR 2019: ``w_c = (1 - beta) / (1 - beta ** n_c)``, normalised so that the
    weights sum to the number of classes. ``beta=0`` gives equal weights and
    ``beta -> 1`` approaches inverse class frequency.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Number of training samples of each class (all positive).
    beta : float in [0, 1)
        Hyperparameter of the effective number; 0.9, 0.99, 0.999 are common.

    Returns
    -------
    weights : ndarray of shape (n_classes,)
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1); got {beta!r}.")
    effective_num = 1.0 - np.power(beta, counts)
    weights = (1.0 - beta) / effective_num
    return weights * (len(counts) / weights.sum())


def weights_from_mapping(
    mapping: Mapping, classes: np.ndarray, *, name: str, default: float = 1.0
) -> np.ndarray:
    """Per-class vector from ``{label: weight}``; classes left out get ``default``.

    Raises a ValueError naming any key that is not a class of ``y`` and any
    weight that is negative or not finite.
    """
    lookup = {
        label.item() if hasattr(label, "item") else label: i for i, label in enumerate(classes)
    }
    unknown = [key for key in mapping if key not in lookup]
    if unknown:
        raise ValueError(
            f"{name} names label(s) {unknown!r} that are not in y; the classes of y are "
            f"{list(lookup)!r}. Use the labels exactly as they appear in y."
        )
    weights = np.full(len(classes), float(default))
    for key, value in mapping.items():
        if not isinstance(value, Real) or not np.isfinite(value) or value < 0:
            raise ValueError(
                f"{name}[{key!r}] must be a finite non-negative number; got {value!r}."
            )
        weights[lookup[key]] = float(value)
    return weights


def compute_imbalance_weights(
    class_weight: None | str | Mapping,
    *,
    classes: np.ndarray,
    y: np.ndarray,
    beta: float = 0.999,
) -> np.ndarray:
    """Resolve a ``class_weight`` setting to one weight per class.

    Parameters
    ----------
    class_weight : None, 'balanced', 'effective' or dict
        ``None``: all ones. ``'balanced'``: ``n_samples / (n_classes * n_c)``
        from :func:`sklearn.utils.class_weight.compute_class_weight`.
        ``'effective'``: :func:`effective_number_weights` with ``beta``.
        dict: ``{label: weight}`` with the labels of ``y``; others weigh 1.
    classes : ndarray of shape (n_classes,)
        Sorted class labels.
    y : ndarray of shape (n_samples,)
        Training labels.
    beta : float, default=0.999
        Only used by ``'effective'``.

    Returns
    -------
    weights : ndarray of shape (n_classes,)
    """
    if class_weight is None:
        return np.ones(len(classes))
    if isinstance(class_weight, Mapping):
        return weights_from_mapping(class_weight, classes, name="class_weight")
    if class_weight == "balanced":
        return compute_class_weight("balanced", classes=classes, y=y)
    if class_weight == "effective":
        counts = np.array([np.count_nonzero(y == c) for c in classes])
        return effective_number_weights(counts, beta)
    raise ValueError(
        f"class_weight must be None, 'balanced', 'effective' or a dict; got {class_weight!r}."
    )


def label_pos_weights(
    class_weight: None | str | Mapping, *, y: np.ndarray, beta: float = 0.999
) -> np.ndarray:
    """Weight of each label's positive term for a multi-label indicator ``y``.

    Parameters
    ----------
    class_weight : None, 'balanced', 'effective' or dict
        ``None``: all ones. ``'balanced'``: ``n_neg / n_pos`` of each label, so
        that its present and absent samples weigh the same in total (the
        ``pos_weight`` of :class:`torch.nn.BCEWithLogitsLoss`).
        ``'effective'``: the ratio of the effective numbers (Cui et al. 2019)
        ``E(n_neg) / E(n_pos)`` with ``E(n) = (1 - beta ** n) / (1 - beta)``,
        which tends to ``'balanced'`` as ``beta -> 1``. dict: ``{label column:
        weight}``; others weigh 1. A label no sample carries weighs 1.
    y : ndarray of shape (n_samples, n_labels)
        0/1 indicator matrix.
    beta : float, default=0.999

    Returns
    -------
    pos_weight : ndarray of shape (n_labels,)
    """
    n_labels = y.shape[1]
    if class_weight is None:
        return np.ones(n_labels)
    if isinstance(class_weight, Mapping):
        return weights_from_mapping(class_weight, np.arange(n_labels), name="class_weight")
    positives = y.sum(axis=0).astype(np.float64)
    negatives = len(y) - positives
    if class_weight == "effective":
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1); got {beta!r}.")
        positives, negatives = 1.0 - beta**positives, 1.0 - beta**negatives
    elif class_weight != "balanced":
        raise ValueError(
            f"class_weight must be None, 'balanced', 'effective' or a dict; got {class_weight!r}."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(positives > 0, negatives / positives, 1.0)
