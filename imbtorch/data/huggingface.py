"""Hugging Face ``datasets``: a ``datasets.Dataset`` of images as the estimators read it.

:class:`HFImageDataset` views a ``datasets.Dataset`` as a map-style torch
Dataset of ``(image, target)`` pairs:

- the image column is the one ``Image`` feature, the label column the one
  ``ClassLabel`` feature (or ``Sequence(ClassLabel)`` for multi-label
  images), unless ``image_column`` / ``label_column`` name them;
- ``targets`` are the ``ClassLabel`` *names* (so ``classes_`` holds them and
  ``predict`` returns them), or a 0/1 indicator matrix in the feature's
  label order; ``ClassLabel``'s missing label ``-1`` is scikit-learn's
  unlabelled marker;
- images are decoded one at a time, when the loader's workers read them;
- indexing with an array of indices (what scikit-learn's splitters and
  ``GridSearchCV`` do) returns another view, through ``Dataset.select``,
  which copies no image.

``fit(ds)`` with a ``datasets.Dataset`` wraps it so; :func:`as_collection`
does it for every input the estimators take. ``datasets`` is an optional
dependency (``pip install imbtorch[datasets]``); this module imports it only
when it is given one of its objects.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

#: ``ClassLabel``'s code of a missing label, which is also scikit-learn's unlabelled marker.
MISSING = -1

__all__ = ["HFImageDataset", "as_collection", "is_hf_dataset"]


_KINDS = ("Dataset", "IterableDataset", "DatasetDict", "IterableDatasetDict")


def _dataset_kinds() -> dict[str, type]:
    """Hugging Face ``datasets``' dataset classes, if it is imported (whoever built the object
    imported it), by name; an unrelated module called ``datasets`` has none of them."""
    module = sys.modules.get("datasets")
    kinds = {name: getattr(module, name, None) for name in _KINDS}
    return {name: kind for name, kind in kinds.items() if isinstance(kind, type)}


def is_hf_dataset(X) -> bool:
    """Whether ``X`` is an object of Hugging Face ``datasets`` (any of its dataset kinds)."""
    kinds = tuple(_dataset_kinds().values())
    return bool(kinds) and isinstance(X, kinds)


def as_collection(X):
    """``X``, with a ``datasets.Dataset`` wrapped as an :class:`HFImageDataset`.

    Streaming datasets and dataset dicts are refused with the fix.
    """
    return HFImageDataset(X) if is_hf_dataset(X) else X


def _check_map_style(dataset) -> None:
    kinds = _dataset_kinds()

    def of_kind(*names) -> bool:
        return any(name in kinds and isinstance(dataset, kinds[name]) for name in names)

    if of_kind("IterableDataset", "IterableDatasetDict"):
        raise TypeError(
            "X is a streaming datasets.IterableDataset, which has no random access; the "
            "samplers and the splitters need indices. Load it without streaming=True (or "
            "materialise a part: datasets.Dataset.from_generator(lambda: iter(X.take(n)), "
            "features=X.features))."
        )
    if of_kind("DatasetDict"):
        raise TypeError(
            f"X is a datasets.DatasetDict of the splits {sorted(dataset)}; pass one split, "
            f"e.g. X[{next(iter(dataset))!r}]."
        )
    if not of_kind("Dataset"):
        raise TypeError(f"HFImageDataset takes a datasets.Dataset; got {type(dataset).__name__}.")


def _is_class_label(feature) -> bool:
    return type(feature).__name__ == "ClassLabel"


def _inner_class_label(feature):
    """The ``ClassLabel`` of a ``Sequence(ClassLabel)`` / ``List(ClassLabel)`` feature, or None."""
    inner = getattr(feature, "feature", None)
    return (
        inner if type(feature).__name__ in ("Sequence", "List") and _is_class_label(inner) else None
    )


def _pick_column(features, wanted, kind: str, argument: str) -> str:
    if wanted is not None:
        if wanted not in features:
            raise ValueError(
                f"{argument}={wanted!r} is not a column of the dataset; its columns are "
                f"{list(features)}."
            )
        return wanted
    if kind == "image":
        found = [name for name, f in features.items() if type(f).__name__ == "Image"]
    else:
        found = [
            name
            for name, f in features.items()
            if _is_class_label(f) or _inner_class_label(f) is not None
        ]
    if len(found) != 1:
        what = "Image" if kind == "image" else "ClassLabel (or Sequence(ClassLabel))"
        how = "has none" if not found else f"has several: {found}"
        raise ValueError(
            f"The dataset's {kind} column is read from its one {what} feature, but it {how} "
            f"(features {dict(features)}). Name it: HFImageDataset(ds, {argument}='...'), "
            "or cast the column with ds.cast_column."
        )
    return found[0]


class HFImageDataset(torch.utils.data.Dataset):
    """A ``datasets.Dataset`` as a torch Dataset of ``(image, target)`` pairs.

    Parameters
    ----------
    dataset : datasets.Dataset
        A map-style dataset (``load_dataset("imagefolder", data_dir=...)["train"]``,
        a hub dataset, ``Dataset.from_dict``). Streaming datasets are refused.
    image_column : str, default=None
        The column of images (PIL images, or arrays); by default the one
        ``Image`` feature.
    label_column : str, default=None
        The column of labels; by default the one ``ClassLabel`` or
        ``Sequence(ClassLabel)`` feature. Another column (ints, strings) is
        read as it is. A dataset without labels has ``targets`` None.

    Attributes
    ----------
    targets : ndarray or None
        One label per image (the ``ClassLabel`` names, ``-1`` where it is
        missing), or a 0/1 indicator matrix for ``Sequence(ClassLabel)``,
        read without decoding any image.
    classes : list of str or None
        The ``ClassLabel`` names: of the classes, or of the indicator's
        columns, in the feature's order.

    Examples
    --------
    >>> ds = load_dataset("imagefolder", data_dir="photos")["train"]  # doctest: +SKIP
    >>> images = HFImageDataset(ds)  # doctest: +SKIP
    >>> GridSearchCV(BalancedImageClassifier(), grid).fit(images, images.targets)  # doctest: +SKIP
    """

    def __init__(self, dataset, image_column: str | None = None, label_column: str | None = None):
        _check_map_style(dataset)
        features = dataset.features
        self.image_column = _pick_column(features, image_column, "image", "image_column")
        if getattr(features[self.image_column], "decode", True) is False:
            raise ValueError(
                f"The image column {self.image_column!r} is an Image feature with decode=False, "
                "whose items are file references, not images; decode them: "
                f"ds.cast_column({self.image_column!r}, datasets.Image())."
            )
        if label_column is None and not any(
            _is_class_label(f) or _inner_class_label(f) is not None for f in features.values()
        ):
            self.label_column = None  # no labels: y must be given, or the images are embedded
        else:
            self.label_column = _pick_column(features, label_column, "label", "label_column")
        columns = [c for c in (self.image_column, self.label_column) if c is not None]
        self.dataset = dataset.select_columns(columns)  # no copy: the same Arrow table
        self._targets = None

    @property
    def _label_feature(self):
        return None if self.label_column is None else self.dataset.features[self.label_column]

    @property
    def classes(self) -> list | None:
        feature = self._label_feature
        if feature is None:
            return None
        feature = _inner_class_label(feature) or feature
        return list(feature.names) if _is_class_label(feature) else None

    @property
    def multilabel(self) -> bool:
        return (
            self._label_feature is not None and _inner_class_label(self._label_feature) is not None
        )

    @property
    def targets(self) -> np.ndarray | None:
        if self.label_column is None:
            return None
        if self._targets is None:
            self._targets = self._read_targets()
        return self._targets

    def _read_targets(self) -> np.ndarray:
        values = list(self.dataset.select_columns([self.label_column])[self.label_column])
        names = self.classes
        if self.multilabel:
            indicator = np.zeros((len(values), len(names)), dtype=np.uint8)
            for row, codes in enumerate(values):
                indicator[row, [c for c in codes if c != MISSING]] = 1
            return indicator
        if names is None:
            return np.asarray(values)
        codes = np.asarray(values, dtype=np.int64)
        labels = np.asarray(names)[codes]  # -1 reads the last name: set it apart below
        missing = codes == MISSING
        if missing.any():
            labels = labels.astype(object)
            labels[missing] = MISSING
        return labels

    def __len__(self) -> int:
        return self.dataset.num_rows

    @property
    def shape(self) -> tuple[int]:
        """``(n_images,)``: scikit-learn's splitters index it as they index a 1-D array."""
        return (len(self),)

    def __getitem__(self, index):
        if isinstance(index, tuple):  # scikit-learn's X[indices, ...]
            index = index[0]
        if isinstance(index, (int, np.integer)):
            row = self.dataset[int(index)]
            image = row[self.image_column]
            if isinstance(image, list):  # Array2D/3D features read as nested lists
                image = np.asarray(image)
            if self.label_column is None:
                return image  # a bare image: no targets to read from the items
            targets = self._targets
            return image, (targets[int(index)] if targets is not None else self._item_target(row))
        indices = np.arange(len(self))[index]  # slices, boolean masks, index arrays
        view = HFImageDataset.__new__(HFImageDataset)
        view.image_column, view.label_column = self.image_column, self.label_column
        view.dataset = self.dataset.select(indices)  # an indices mapping: no image is copied
        view._targets = None if self._targets is None else self._targets[indices]
        return view

    def _item_target(self, row):
        value = row[self.label_column]
        names = self.classes
        if self.multilabel:
            out = np.zeros(len(names), dtype=np.uint8)
            out[[c for c in value if c != MISSING]] = 1
            return out
        return names[value] if names is not None and value != MISSING else value

    def __repr__(self) -> str:
        return (
            f"HFImageDataset({len(self)} images, image_column={self.image_column!r}, "
            f"label_column={self.label_column!r})"
        )
