"""Labels of any type to class codes, with the checks a classifier's ``fit`` owes the user.

Single-label ``y`` (one label of any type per image) becomes class codes, the
index of each label in ``classes_``. A multi-label ``y`` is scikit-learn's
binary indicator matrix of shape ``(n_samples, n_labels)``
(:mod:`imbtorch.data.targets` reads it): it stays a 0/1 matrix, and
``classes_`` is ``arange(n_labels)`` as for
:class:`~sklearn.neural_network.MLPClassifier`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array

__all__ = ["check_class_sample_weight", "encode_labels", "fit_classes"]


def fit_classes(y: np.ndarray, classes=None) -> np.ndarray:
    """The sorted labels of ``y`` (or ``classes``, for a first ``partial_fit``): at least two.

    For a multi-label indicator matrix, ``arange(n_labels)`` (``classes``, if
    given, must be that), with a warning for labels that no sample carries.
    """
    if y.ndim == 2:
        return _fit_label_columns(y, classes)
    check_classification_targets(y)
    found = np.unique(y if classes is None else classes)
    if len(found) < 2:
        raise ValueError(
            f"y contains only one class ({found[0]!r}); a classifier needs samples of at "
            "least two classes."
        )
    return found


def _fit_label_columns(y: np.ndarray, classes) -> np.ndarray:
    found = np.arange(y.shape[1])
    if classes is not None and not np.array_equal(np.asarray(classes), found):
        raise ValueError(
            f"classes={np.asarray(classes).tolist()!r} was given with a multi-label indicator "
            f"y of {y.shape[1]} columns, whose classes are the column indices {found.tolist()}; "
            "drop classes, or pass classes=range(n_labels)."
        )
    absent = np.flatnonzero(y.sum(axis=0) == 0)
    if len(absent):
        warnings.warn(
            f"Labels {absent.tolist()} (columns of y) are carried by no sample; they are "
            "trained as always absent, and samplers and class weights leave them out. Drop "
            "these columns if no image will ever carry them.",
            UserWarning,
            stacklevel=4,
        )
    return found


def encode_labels(y: np.ndarray, classes: np.ndarray, *, multilabel: bool = False) -> np.ndarray:
    """The index of each label of ``y`` in ``classes``; unknown labels raise.

    With ``multilabel``, ``y`` must be an indicator matrix with one column per
    class, and comes back as float32 (the loss's targets).
    """
    if multilabel or y.ndim == 2:
        return _encode_label_columns(y, classes, multilabel)
    check_classification_targets(y)
    unseen = np.setdiff1d(y, classes)
    if len(unseen):
        raise ValueError(
            f"y contains labels {unseen.tolist()!r} that are not among classes_="
            f"{classes.tolist()!r}; pass all classes to the first partial_fit "
            "through its classes argument, or call fit."
        )
    return np.searchsorted(classes, y)


def _encode_label_columns(y: np.ndarray, classes: np.ndarray, multilabel: bool) -> np.ndarray:
    if not multilabel:
        raise ValueError(
            f"y is a multi-label indicator matrix of shape {y.shape}, but this classifier was "
            "fitted on one label per image; call fit with the new y."
        )
    if y.ndim != 2 or y.shape[1] != len(classes):
        raise ValueError(
            f"This classifier was fitted on a multi-label indicator y of {len(classes)} "
            f"columns, but y has shape {y.shape}; pass the same {len(classes)} label columns, "
            "or call fit with the new y."
        )
    return y.astype(np.float32)


def check_class_sample_weight(sample_weight, codes: np.ndarray) -> np.ndarray | None:
    """Non-negative float32 weights, one per sample, positive on two classes at least."""
    if sample_weight is None:
        return None
    sample_weight = check_array(
        sample_weight, ensure_2d=False, dtype=np.float32, input_name="sample_weight"
    )
    if sample_weight.shape != codes.shape[:1]:
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected {codes.shape[:1]}: pass "
            "one weight per sample of X."
        )
    if np.any(sample_weight < 0):
        raise ValueError(
            f"Negative values in sample_weight (first at index "
            f"{int(np.flatnonzero(sample_weight < 0)[0])}); sample weights must be >= 0."
        )
    if codes.ndim == 2:
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight is zero for every sample; nothing would be learnt.")
        return sample_weight
    if len(np.unique(codes[sample_weight > 0])) < 2:
        raise ValueError(
            "sample_weight is zero for all samples but those of one class; a "
            "classifier needs positive weight on at least two classes."
        )
    return sample_weight
