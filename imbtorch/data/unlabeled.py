"""Unlabelled images in ``y``: scikit-learn's ``-1`` marker, and the dataset of two views.

As for :class:`~sklearn.semi_supervised.SelfTrainingClassifier` and
:class:`~sklearn.semi_supervised.LabelSpreading`, ``y == -1`` marks an image
without a label. Labels of any other type take the same marker: the integer
``-1`` in an object array (``np.array(["cat", -1, "dog"], dtype=object)``),
or the string ``"-1"``, which NumPy makes of it in an array of strings
(``np.array(["cat", -1])``). A multi-label indicator ``y`` marks an
unlabelled image by a row of ``-1``.

:class:`TwoViews` reads the unlabelled images for semi-supervised training:
each item is the image under a weak and a strong augmentation, made in the
loader's workers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from .dataset import to_unit_float
from .sources import ImageSource

#: The label that marks an unlabelled image, as in scikit-learn's semi-supervised estimators.
UNLABELED = -1


def unlabeled_mask(y: np.ndarray) -> np.ndarray:
    """Boolean mask of the images ``y`` marks as unlabelled (see the module's docstring).

    Parameters
    ----------
    y : ndarray of shape (N,) or (N, n_labels)
        Labels; a 2-D ``y`` is a multi-label indicator matrix.

    Returns
    -------
    ndarray of bool, shape (N,)

    Raises
    ------
    ValueError
        Where a row of a multi-label ``y`` marks some labels ``-1`` but not all,
        naming the row.
    """
    y = np.asarray(y)
    if y.ndim == 2:
        marked = y == UNLABELED
        partial = np.flatnonzero(marked.any(axis=1) & ~marked.all(axis=1))
        if len(partial):
            raise ValueError(
                f"Row {int(partial[0])} of the multi-label y marks some labels -1 but not all; "
                "a row of -1 marks an unlabelled image, and a labelled one holds only 0 and 1. "
                "Mark the whole row -1, or give every label 0 or 1."
            )
        return marked.all(axis=1) if y.shape[1] else np.zeros(len(y), dtype=bool)
    if y.dtype.kind in "US":
        return y == str(UNLABELED)
    if y.dtype.kind == "O":
        return np.array([_is_marker(label) for label in y], dtype=bool)
    if y.dtype.kind in "iuf":
        return y == UNLABELED
    return np.zeros(len(y), dtype=bool)


def _is_marker(label) -> bool:
    if isinstance(label, str):
        return label == str(UNLABELED)
    if isinstance(label, (bool, np.bool_)):
        return False
    try:
        return bool(label == UNLABELED)
    except (TypeError, ValueError):
        return False


class SubsetSource(ImageSource):
    """The images of ``source`` at ``indices``, named in errors by their index in ``source``.

    Parameters
    ----------
    source : ImageSource
    indices : array-like of int
    """

    def __init__(self, source: ImageSource, indices) -> None:
        self.source = source
        self.indices = np.asarray(indices, dtype=np.int64)
        self.image_shape = source.image_shape
        self.decodes = source.decodes

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.source[int(self.indices[index])]

    def describe(self, index: int) -> str:
        return self.source.describe(int(self.indices[index]))


class TwoViews(Dataset):
    """Unlabelled images of a source, each as a weak and a strong augmentation of itself.

    Items are ``(views, weight)``: ``views`` a float tensor of shape
    ``(2, C, H, W)`` (the weak view first), ``weight`` the image's sample
    weight (1 without sample weights).

    Parameters
    ----------
    source : ImageSource
        The unlabelled images.
    weak, strong : callable
        Transforms of a float ``(C, H, W)`` image in ``[0, 1]`` that keep its shape.
    sample_weight : ndarray of shape (N,), default=None
    """

    def __init__(
        self,
        source: ImageSource,
        weak: Callable,
        strong: Callable,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        self.source = source
        self.weak = weak
        self.strong = strong
        self.sample_weight = (
            None if sample_weight is None else torch.as_tensor(sample_weight, dtype=torch.float32)
        )

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int):
        image = self.source[index]
        if tuple(image.shape) != self.source.image_shape:
            raise ValueError(
                f"The {self.source.describe(index)} has shape (C, H, W)={tuple(image.shape)}, "
                f"but the images are {self.source.image_shape}; pass image_size=(H, W) to "
                "resize every image to one size."
            )
        image = to_unit_float(image)
        views = torch.stack([self.weak(image), self.strong(image)]).to(torch.float32)
        weight = 1.0 if self.sample_weight is None else self.sample_weight[index]
        return views, torch.as_tensor(weight, dtype=torch.float32)


def check_labeled_part(y: np.ndarray, n_unlabeled: int, *, first_call: bool = True) -> None:
    """Refuse labelled images too few for a classifier beside ``n_unlabeled`` marked ones.

    Parameters
    ----------
    y : ndarray
        The labels of the labelled images.
    n_unlabeled : int
    first_call : bool, default=True
        Whether ``y`` alone sets the classes (not a later ``partial_fit``, or one given
        ``classes``), so that it must hold two.
    """
    if not len(y):
        raise ValueError(
            f"y marks all {n_unlabeled} images unlabelled (-1); a classifier needs labelled "
            "images of at least two classes beside them. Label some images (of every class)."
        )
    if first_call and y.ndim == 1 and len(np.unique(y)) < 2:
        raise ValueError(
            f"y marks {n_unlabeled} images unlabelled (-1), which leaves labelled images of "
            f"one class only ({np.unique(y)[0]!r}). If -1 is one of your classes (labels -1 "
            "and 1), pass unlabeled=None; else label images of another class."
        )


def split_unlabeled(source: ImageSource, y: np.ndarray, sample_weight=None):
    """The labelled images and the unlabelled ones of ``source``, as ``y`` marks them.

    Parameters
    ----------
    source : ImageSource
    y : ndarray of shape (N,) or (N, n_labels)
    sample_weight : array-like of shape (N,), default=None

    Returns
    -------
    source, y, sample_weight
        Those of the labelled images (the arguments themselves where none is
        unlabelled).
    pool : (ImageSource, ndarray or None) or None
        The unlabelled images and their sample weights; None where there are none.
    """
    marked = unlabeled_mask(y)
    if not marked.any():
        return source, y, sample_weight, None
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if sample_weight.shape != (len(y),):
            raise ValueError(
                f"sample_weight.shape == {sample_weight.shape}, expected ({len(y)},): pass one "
                "weight per image of X, unlabelled images included."
            )
    labeled, unlabeled = np.flatnonzero(~marked), np.flatnonzero(marked)
    weights = (None, None)
    if sample_weight is not None:
        weights = (sample_weight[labeled], sample_weight[unlabeled])
    y = y[labeled].astype(np.uint8) if y.ndim == 2 else y[labeled]
    pool = (SubsetSource(source, unlabeled), weights[1])
    return SubsetSource(source, labeled), y, weights[0], pool
