"""Targets as ``fit`` reads them: one label per image, or a multi-label indicator matrix.

scikit-learn's multi-label target is a 0/1 indicator matrix of shape
``(n_samples, n_labels)``; it may come as an array, a scipy sparse matrix or
a pandas DataFrame. These helpers tell it from one label per image and
check it; :mod:`imbtorch.labels` turns targets into what the losses take.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array
from skorch.utils import is_dataset

from .huggingface import as_collection
from .sources import dataset_targets
from .unlabeled import UNLABELED, unlabeled_mask

__all__ = ["check_multilabel_targets", "collection_and_targets", "is_multilabel_input"]


def is_multilabel_input(y) -> bool:
    """Whether ``y`` has the 2-D shape of a multi-label indicator matrix (several columns)."""
    if sp.issparse(y):
        return True
    shape = np.asarray(y).shape  # through __array__: array-likes without numpy's functions
    return len(shape) == 2 and shape[1] > 1


def check_multilabel_targets(y, *, unlabeled: bool = False) -> np.ndarray:
    """A 2-D ``y`` (array, sparse matrix, DataFrame) as a dense ``uint8`` 0/1 indicator matrix.

    Raises a ValueError naming the first entry that is not 0 or 1 (scikit-learn's
    multi-output targets with other values are not supported). With
    ``unlabeled``, rows of ``-1`` (unlabelled images) are kept, and the matrix
    is ``int8``.
    """
    dense = y.toarray() if sp.issparse(y) else check_array(y, dtype=None, input_name="y")
    if unlabeled and dense.dtype.kind in "if" and dense.shape[1]:
        marked = unlabeled_mask(dense)  # rows partly -1 are refused, by row
        if marked.any():
            labeled = check_multilabel_targets(dense[~marked])
            out = np.full(dense.shape, UNLABELED, dtype=np.int8)
            out[~marked] = labeled
            return out
    kind = type_of_target(dense, input_name="y")
    if kind != "multilabel-indicator":
        is_binary = np.isin(dense, (0, 1)) if dense.dtype.kind in "biuf" else np.zeros_like(dense)
        row, column = np.argwhere(~np.asarray(is_binary, dtype=bool))[0]
        value = dense[row, column]
        value = value.item() if isinstance(value, np.generic) else value
        raise ValueError(
            f"y has shape {dense.shape}, which reads as a multi-label indicator matrix (one "
            f"0/1 column per label), but y[{row}, {column}] is {value!r}. Pass "
            "0/1 values (sklearn.preprocessing.MultiLabelBinarizer turns lists of labels into "
            "them), or one label per image as a 1-D y; multi-output targets with other values "
            "are not supported."
        )
    return dense.astype(np.uint8)


def collection_and_targets(X, y, *, caller: str):
    """``X`` (a ``datasets.Dataset`` viewed as a torch Dataset) and ``y``, or the targets a
    Dataset carries when ``y`` is None, for functions that split or score ``(X, y)``."""
    X = as_collection(X)
    if y is None:
        y = dataset_targets(X) if is_dataset(X) else None
        if y is None:
            raise ValueError(
                f"{caller} needs y, one label per image; X carries none (a torch Dataset "
                "with a targets attribute, or a datasets.Dataset with a ClassLabel column, "
                "gives its own)."
            )
    return X, y
