"""The one torch dataset the estimators train and predict on: a source, class codes, weights."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from .sources import ImageSource

IMAGES_KEY = "X"
SAMPLE_WEIGHT_KEY = "sample_weight"


def to_unit_float(image: torch.Tensor) -> torch.Tensor:
    """A ``uint8`` image scaled to float ``[0, 1]``; a float image as float32."""
    if image.dtype == torch.uint8:
        return image.to(torch.float32).div_(255.0)
    return image.to(torch.float32)


class ImageDataset(Dataset):
    """Images of a source with class codes, sample weights and a training transform.

    Items are ``(image, code)``, or ``({'X': image, 'sample_weight': w}, code)``
    when sample weights are given; ``code`` indexes ``classes_`` (``-1`` when
    the dataset holds images to predict), or is the image's float32 row of a
    multi-label indicator matrix. Images come as the source holds
    them (``uint8`` stays ``uint8``), or, with a ``transform``, as its float
    output. ``y`` (the codes) is exposed for skorch's helpers and the
    samplers, which need labels only.

    Parameters
    ----------
    source : ImageSource
    codes : ndarray of shape (N,) or (N, n_labels), default=None
        Class index of each sample in ``classes_``, or a 0/1 indicator matrix
        (multi-label).
    sample_weight : ndarray of shape (N,), default=None
    transform : callable, default=None
        Applied to every image as a float ``(C, H, W)`` tensor (``uint8``
        pixels scaled to ``[0, 1]``); must keep the shape.
    """

    def __init__(
        self,
        source: ImageSource,
        codes: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        transform: Callable | None = None,
    ) -> None:
        self.source = source
        self.y = None if codes is None else _as_targets(codes)
        self.sample_weight = (
            None if sample_weight is None else torch.as_tensor(sample_weight, dtype=torch.float32)
        )
        self.transform = transform

    @property
    def codes(self) -> torch.Tensor:
        return torch.from_numpy(self.y)

    def __len__(self) -> int:
        return len(self.source)

    def with_transform(self, transform: Callable | None) -> ImageDataset:
        """The same images, codes and weights, with ``transform`` applied.

        Parameters
        ----------
        transform : callable or None
            A per-image transform of ``(C, H, W)`` tensors.

        Returns
        -------
        ImageDataset
        """
        dataset = ImageDataset(self.source, transform=transform)
        dataset.y, dataset.sample_weight = self.y, self.sample_weight
        return dataset

    def __getitem__(self, index: int):
        image = self.source[index]
        if tuple(image.shape) != self.source.image_shape:
            raise ValueError(
                f"The {self.source.describe(index)} has shape (C, H, W)={tuple(image.shape)}, "
                f"but the images are {self.source.image_shape}; pass image_size=(H, W) to "
                "resize every image to one size."
            )
        if self.transform is not None:
            image = self._transformed(image, index)
        if self.sample_weight is not None:
            image = {IMAGES_KEY: image, SAMPLE_WEIGHT_KEY: self.sample_weight[index]}
        if self.y is None:
            return image, -1
        return image, self.y[index] if self.y.ndim == 2 else int(self.y[index])

    def _transformed(self, image: torch.Tensor, index: int) -> torch.Tensor:
        out = self.transform(to_unit_float(image))
        if not isinstance(out, torch.Tensor) or out.shape != image.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"train_transform turned the {self.source.describe(index)} of shape "
                f"{tuple(image.shape)} into {got}; it must return a tensor of the same (C, H, W) "
                "shape, e.g. RandomResizedCrop(size=(H, W)) rather than a crop to a new size."
            )
        return out.to(torch.float32)


def _as_targets(codes) -> np.ndarray:
    """Class codes as int64; a multi-label indicator matrix as float32."""
    codes = np.asarray(codes)
    return codes.astype(np.float32) if codes.ndim == 2 else codes.astype(np.int64)


def batch_images(X):
    """The images of a batch's ``X``: the tensor, or its ``'X'`` entry beside sample weights."""
    return X[IMAGES_KEY] if isinstance(X, Mapping) else X


def with_transform(dataset: Dataset, transform: Callable | None) -> Dataset:
    """``dataset`` (an :class:`ImageDataset` or nested Subsets of one) with ``transform``."""
    if isinstance(dataset, Subset):
        return Subset(with_transform(dataset.dataset, transform), dataset.indices)
    return dataset.with_transform(transform)


def root_dataset(dataset: Dataset) -> Dataset:
    """The dataset under nested Subsets."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return dataset


def is_prepared(dataset) -> bool:
    """Whether ``dataset`` is an :class:`ImageDataset` (or Subsets of one) built by imbtorch."""
    return isinstance(root_dataset(dataset), ImageDataset)


def dataset_codes(dataset: Dataset) -> np.ndarray:
    """Class codes of an :class:`ImageDataset` or of a (nested) Subset of one."""
    if isinstance(dataset, Subset):
        return dataset_codes(dataset.dataset)[np.asarray(dataset.indices)]
    codes = getattr(dataset, "y", None)
    if codes is None:
        raise TypeError(
            f"Cannot read the targets of {type(dataset).__name__}; samplers need a dataset "
            "with a y attribute (fit takes arrays and builds one)."
        )
    return np.asarray(codes)
