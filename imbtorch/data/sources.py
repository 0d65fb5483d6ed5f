"""Image sources: random access to N images, one reader per kind of input.

Every source returns image ``i`` as a tensor of shape ``(C, H, W)``, in the
dtype it holds (``uint8`` stays ``uint8``); scaling and standardisation happen
per batch on the training device. Sources:

- :class:`ArraySource`: a numeric array, kept as given (a view, no copy);
- :class:`FileSource`: image files, decoded lazily with Pillow;
- :class:`DatasetSource`: a map-style torch ``Dataset`` of ``(image, target)``
  pairs (``ImageFolder``, a Hugging Face ``datasets.Dataset`` through
  :class:`~imbtorch.data.huggingface.HFImageDataset`, or your own) or skorch's
  ``SliceDataset``; images may be PIL images, tensors or arrays.

:func:`make_source` picks the reader for the user's ``X``.
"""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
import torch
from PIL import Image
from skorch.helper import SliceDataset
from skorch.utils import is_dataset
from torch.nn import functional as F

from .arrays import as_nchw, channel_axis
from .files import (
    ImageReadError,
    channels_of_mode,
    describe_file,
    pil_to_tensor,
    read_image,
    scan_files,
)
from .huggingface import as_collection

_LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601-2, as Pillow converts RGB to L


class ImageSource:
    """The base contract: ``len(source)``, ``source[i]`` and ``describe(i)``.

    Attributes
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` every image has after reading.
    decodes : bool
        Reading an image decodes it (files, most Datasets): the loader then
        uses worker processes.
    """

    image_shape: tuple[int, int, int]
    decodes = True

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> torch.Tensor:
        raise NotImplementedError

    def describe(self, index: int) -> str:
        """How an error names an image.

        Parameters
        ----------
        index : int
            The image's position in the source.
        """
        return f"image X[{index}]"

    def targets(self) -> np.ndarray | None:
        """The labels the source carries (a Dataset's targets), or None."""
        return None


class ArraySource(ImageSource):
    """Images of a numeric array, read as a ``(N, C, H, W)`` view of it.

    Items are ``uint8`` for a ``uint8`` array and float32 otherwise, one
    image at a time, so that no float copy of the array is ever made.

    Parameters
    ----------
    X : ndarray
        Images of shape ``(N, H, W)``, ``(N, H, W, C)``, ``(N, C, H, W)`` or
        flat rows of ``H * W * C`` values.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(C, H, W)`` of flat rows; None for square grey rows.
    data_format : {'auto', 'channels_first', 'channels_last'}, default='auto'
        Where a 4-d array holds its channels; ``'auto'`` takes the axis of 1
        or 3 values.
    """

    decodes = False

    def __init__(self, X: np.ndarray, *, image_shape=None, data_format: str = "auto"):
        self.images = as_nchw(X, image_shape=image_shape, data_format=data_format)
        self.image_shape = tuple(int(s) for s in self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = self.images[index]
        dtype = np.uint8 if image.dtype == np.uint8 else np.float32
        return torch.from_numpy(np.ascontiguousarray(image, dtype=dtype))


class FileSource(ImageSource):
    """Image files decoded with Pillow, converted to ``channels`` and resized to ``image_size``.

    Paths are held as one fixed-width bytes array, so that worker processes
    do not copy them page by page (as Python string lists are).

    Parameters
    ----------
    paths : sequence of str or path-like
        The image files.
    channels : {1, 3} or None
        Channels to convert every image to; None keeps the first image's.
    image_size : tuple of int, default=None
        ``(H, W)`` to resize every image to; None requires equal sizes.
    num_workers : int, default=0
        Processes that read the files' headers when the source is made.
    """

    def __init__(self, paths, *, channels: int | None, image_size=None, num_workers=0) -> None:
        self.paths = np.array([os.fsencode(p) for p in paths])
        first_channels, size = scan_files(
            self.paths, image_size=image_size, num_workers=num_workers
        )
        self.channels = first_channels if channels is None else channels
        self.image_size = None if image_size is None else tuple(image_size)
        self.image_shape = (self.channels, *size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return read_image(
            self.paths[index], index, channels=self.channels, image_size=self.image_size
        )

    def describe(self, index: int) -> str:
        return describe_file(self.paths[index], index)


def _split_item(item):
    """The image of a Dataset item: the first element of an ``(image, target)`` pair."""
    return item[0] if isinstance(item, (tuple, list)) else item


def dataset_targets(dataset) -> np.ndarray | None:
    """Targets a Dataset carries without decoding images (``.targets`` or ``.y``), or None.

    Looks through ``torch.utils.data.Subset`` and skorch's ``SliceDataset``.
    """
    indices = getattr(dataset, "indices_", getattr(dataset, "indices", None))
    if isinstance(dataset, (torch.utils.data.Subset, SliceDataset)):
        inner = dataset_targets(dataset.dataset)
        return None if inner is None else inner[np.asarray(indices, dtype=np.int64)]
    for name in ("targets", "y"):
        targets = getattr(dataset, name, None)
        if targets is not None and not callable(targets):
            return np.asarray(targets)
    return None


def _to_chw(image, index_name: str, data_format: str) -> torch.Tensor:
    """A Dataset's image (PIL, tensor or array) as a ``(C, H, W)`` tensor."""
    if isinstance(image, np.ndarray):
        if image.ndim == 3:
            axis = channel_axis(image.shape, data_format, what=index_name)
            image = image if axis == 0 else image.transpose(2, 0, 1)
        image = torch.from_numpy(np.ascontiguousarray(image))
    if not isinstance(image, torch.Tensor):
        raise TypeError(
            f"{index_name} is a {type(image).__name__}; Dataset images must be PIL images, "
            "tensors or numpy arrays (transform them into one, e.g. with PILToTensor)."
        )
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3:
        raise ValueError(
            f"{index_name} has shape {tuple(image.shape)}; an image must be (H, W) or (C, H, W)."
        )
    if image.dtype not in (torch.uint8, torch.float32):
        image = image.to(torch.float32)
    return image


def _convert_channels(image: torch.Tensor, channels: int, index_name: str) -> torch.Tensor:
    have = image.shape[0]
    if have == channels:
        return image
    if have == 1 and channels == 3:
        return image.expand(3, -1, -1).contiguous()
    if have == 3 and channels == 1:
        grey = (image.float() * _LUMA.view(3, 1, 1)).sum(0, keepdim=True)
        return grey.round().clamp(0, 255).to(torch.uint8) if image.dtype == torch.uint8 else grey
    raise ValueError(
        f"{index_name} has {have} channels, which cannot be converted to {channels}; give "
        "every image the same channels (color_mode converts between grey and RGB only)."
    )


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[1:]) == tuple(size):
        return image
    out = F.interpolate(
        image[None].float(), size=tuple(size), mode="bilinear", antialias=True, align_corners=False
    )[0]
    return out.round().clamp(0, 255).to(torch.uint8) if image.dtype == torch.uint8 else out


class DatasetSource(ImageSource):
    """The images of a map-style torch Dataset (or of skorch's ``SliceDataset``).

    Items of a Dataset are ``(image, target)`` pairs (or bare images); those
    of a ``SliceDataset`` are images. PIL images are converted to
    ``channels`` with Pillow and resized with it, tensors and arrays with
    torch.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        A map-style Dataset of images or of ``(image, target)`` pairs.
    channels : {1, 3} or None
        Channels to convert every image to; None keeps the first image's.
    image_size : tuple of int, default=None
        ``(H, W)`` to resize every image to; None requires equal sizes.
    data_format : {'auto', 'channels_first', 'channels_last'}, default='auto'
        Where array items hold their channels.
    """

    def __init__(
        self, dataset, *, channels: int | None, image_size=None, data_format: str = "auto"
    ) -> None:
        self.dataset = dataset
        self.image_size = None if image_size is None else tuple(image_size)
        self.data_format = data_format
        self.channels = channels
        first = self[0]
        self.channels = first.shape[0]
        self.image_shape = tuple(int(s) for s in first.shape)

    def __len__(self) -> int:
        return len(self.dataset)

    def describe(self, index: int) -> str:
        return f"item {index} of the {type(self.dataset).__name__}"

    def __getitem__(self, index: int) -> torch.Tensor:
        image = _split_item(self.dataset[index])
        name = self.describe(index)
        if isinstance(image, Image.Image):
            channels = self.channels or channels_of_mode(image.mode, name)
            return pil_to_tensor(image, channels=channels, image_size=self.image_size)
        image = _to_chw(image, name, self.data_format)
        if self.channels is not None:
            image = _convert_channels(image, self.channels, name)
        return image if self.image_size is None else _resize(image, self.image_size)

    def targets(self) -> np.ndarray | None:
        targets = dataset_targets(self.dataset)
        if targets is not None or isinstance(self.dataset, SliceDataset):
            return targets
        first = self.dataset[0]
        if not (isinstance(first, (tuple, list)) and len(first) >= 2):
            return None
        # no targets attribute: read them from the items (this decodes every image once)
        return np.asarray([_target_value(self.dataset[i][1]) for i in range(len(self))])


def _target_value(target):
    """A Dataset item's target: a label, or a row of a multi-label indicator matrix."""
    if isinstance(target, torch.Tensor):
        return target.item() if target.ndim == 0 else target.numpy()
    return target


def is_path_like(value) -> bool:
    return isinstance(value, (str, bytes, os.PathLike))


def _as_path_list(X):
    """``X`` as a list of paths when it is a 1-D sequence of them, else None."""
    if hasattr(X, "iloc") and getattr(X, "ndim", 2) == 1:  # pandas Series
        X = X.to_numpy()
    if isinstance(X, np.ndarray):
        if X.ndim != 1 or X.dtype.kind not in "OUS" or len(X) == 0:
            return None
    elif not isinstance(X, (list, tuple)) or not X:
        return None
    if not is_path_like(X[0]):
        return None
    for index, value in enumerate(X):
        if not is_path_like(value):
            raise ValueError(
                f"X looks like a list of file paths, but X[{index}] is {value!r} of type "
                f"{type(value).__name__}; every element must be a path (str or os.PathLike)."
            )
    return list(X)


def check_not_empty(X) -> None:
    try:
        n = len(X)
    except TypeError:
        return
    if n == 0:
        raise ValueError(
            "X holds no images (it is empty); pass at least one image, file path or Dataset item."
        )


def make_source(
    X,
    *,
    validate_array=np.asarray,
    image_shape=None,
    data_format: str = "auto",
    channels=None,
    image_size=None,
    num_workers: int = 0,
) -> ImageSource:
    """The source that reads ``X``: file paths, a torch Dataset / SliceDataset, or an array.

    Parameters
    ----------
    X : array-like of paths, torch Dataset, SliceDataset, ``datasets.Dataset``, or pixels
    validate_array : callable, default=numpy.asarray
        Turns pixel input into a numeric ndarray (the estimators pass
        scikit-learn's ``validate_data``); not called for other inputs.
    image_shape, data_format
        Array layout (:func:`~imbtorch.data.arrays.as_nchw`); ``image_shape``
        is refused for other inputs.
    channels : {1, 3} or None
        Convert every image to grey or RGB; None keeps the first image's.
    image_size : (H, W) or None
        Resize every image to it.
    num_workers : int, default=0
        Processes that read the file headers of a large collection.
    """
    X = as_collection(X)  # a Hugging Face datasets.Dataset, viewed as a torch Dataset
    check_not_empty(X)
    if image_size is not None:
        if len(image_size) != 2 or not all(isinstance(s, Integral) and s > 0 for s in image_size):
            raise ValueError(f"image_size must be (H, W), two positive ints; got {image_size!r}.")
        image_size = tuple(int(s) for s in image_size)
    paths = _as_path_list(X)
    collection = paths is not None or is_dataset(X) or isinstance(X, SliceDataset)
    if collection and image_shape is not None:
        raise ValueError(
            f"image_shape={image_shape!r} unflattens the rows of a 2-D array, but X holds "
            f"{'file paths' if paths is not None else 'a Dataset'}, whose images have their "
            "own shape. Drop image_shape (image_size=(H, W) resizes the images)."
        )
    if paths is not None:
        return FileSource(paths, channels=channels, image_size=image_size, num_workers=num_workers)
    if collection:
        return DatasetSource(X, channels=channels, image_size=image_size, data_format=data_format)
    source = ArraySource(validate_array(X), image_shape=image_shape, data_format=data_format)
    if image_size is not None or channels not in (None, source.image_shape[0]):
        return ConvertedSource(source, channels=channels, image_size=image_size)
    return source


class ConvertedSource(ImageSource):
    """An array's images converted to ``channels`` and resized to ``image_size`` one by one."""

    decodes = False

    def __init__(self, inner: ImageSource, *, channels=None, image_size=None) -> None:
        self.inner = inner
        self.channels = channels or inner.image_shape[0]
        self.image_size = image_size or inner.image_shape[1:]
        self.image_shape = (self.channels, *self.image_size)
        _convert_channels(inner[0], self.channels, self.describe(0))  # fail before training

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = _convert_channels(self.inner[index], self.channels, self.describe(index))
        return _resize(image, self.image_size)


__all__ = [
    "ArraySource",
    "DatasetSource",
    "FileSource",
    "ImageReadError",
    "ImageSource",
    "dataset_targets",
    "make_source",
]
