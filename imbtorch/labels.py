"""Labels of any type to class codes, with the checks a classifier's ``fit`` owes the user."""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array


def fit_classes(y: np.ndarray, classes=None) -> np.ndarray:
    """The sorted labels of ``y`` (or ``classes``, for a first ``partial_fit``): at least two."""
    check_classification_targets(y)
    found = np.unique(y if classes is None else classes)
    if len(found) < 2:
        raise ValueError(
            f"y contains only one class ({found[0]!r}); a classifier needs samples of at "
            "least two classes."
        )
    return found


def encode_labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The index of each label of ``y`` in ``classes``; unknown labels raise."""
    check_classification_targets(y)
    unseen = np.setdiff1d(y, classes)
    if len(unseen):
        raise ValueError(
            f"y contains labels {unseen.tolist()!r} that are not among classes_="
            f"{classes.tolist()!r}; pass all classes to the first partial_fit "
            "through its classes argument, or call fit."
        )
    return np.searchsorted(classes, y)


def check_class_sample_weight(sample_weight, codes: np.ndarray) -> np.ndarray | None:
    """Non-negative float32 weights, one per sample, positive on two classes at least."""
    if sample_weight is None:
        return None
    sample_weight = check_array(
        sample_weight, ensure_2d=False, dtype=np.float32, input_name="sample_weight"
    )
    if sample_weight.shape != codes.shape:
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected {codes.shape}: pass one "
            "weight per sample of X."
        )
    if np.any(sample_weight < 0):
        raise ValueError(
            f"Negative values in sample_weight (first at index "
            f"{int(np.flatnonzero(sample_weight < 0)[0])}); sample weights must be >= 0."
        )
    if len(np.unique(codes[sample_weight > 0])) < 2:
        raise ValueError(
            "sample_weight is zero for all samples but those of one class; a "
            "classifier needs positive weight on at least two classes."
        )
    return sample_weight
