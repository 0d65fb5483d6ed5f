"""Image files: decode with Pillow, check sizes from headers, list one-folder-per-class trees."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset

#: File name endings read as images (those of torchvision's ImageFolder).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
COLOR_MODES = ("auto", "grey", "rgb")
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
_GREY_PIL_MODES = ("1", "L", "LA")
_UNSUPPORTED_PIL_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


class ImageReadError(ValueError):
    """An image file is missing, unreadable or not what the estimator needs."""


def describe_file(path, index: int) -> str:
    return f"image file {os.fsdecode(path)!r} (X[{index}])"


def _open(path, index: int) -> Image.Image:
    try:
        return Image.open(path)
    except FileNotFoundError:
        raise ImageReadError(
            f"The {describe_file(path, index)} does not exist. Fix the path, or drop the file "
            "and its label from X and y."
        ) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageReadError(
            f"Cannot read the {describe_file(path, index)}: {exc}. Replace or remove the file "
            "(and its label)."
        ) from None


def channels_of_mode(mode: str, name: str) -> int:
    """1 for Pillow's grey modes, 3 for colour; 16-bit and float images are refused.

    ``name`` says which image it is in the error.
    """
    if mode in _UNSUPPORTED_PIL_MODES:
        raise ImageReadError(
            f"The {name} has Pillow mode {mode!r} (16-bit or float "
            "pixels), which would be clipped to 8 bits; convert such images to 8-bit grey or "
            "RGB first."
        )
    return 1 if mode in _GREY_PIL_MODES else 3


def check_color_mode(color_mode: str) -> None:
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {COLOR_MODES}; got {color_mode!r}.")


#: Collections at least this large have their headers read by worker processes.
PARALLEL_SCAN_MIN_FILES = 2000


class _FileSizes(Dataset):
    """``(H, W)`` of each file from its header, or the :class:`ImageReadError` it raised."""

    def __init__(self, paths: Sequence) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            with _open(self.paths[index], index) as image:
                return image.height, image.width
        except ImageReadError as exc:  # raised in the main process, as it is, by the caller
            return exc


def _as_list(batch: list) -> list:
    return batch


def _file_sizes(paths: Sequence, num_workers: int) -> Iterator:
    """The :class:`_FileSizes` items of ``paths`` in order, read by ``num_workers`` processes."""
    sizes = _FileSizes(paths)
    if num_workers == 0 or len(paths) < PARALLEL_SCAN_MIN_FILES:
        return map(sizes.__getitem__, range(len(paths)))
    loader = DataLoader(sizes, batch_size=256, num_workers=num_workers, collate_fn=_as_list)
    return (size for batch in loader for size in batch)


def scan_files(
    paths: Sequence, *, image_size: tuple[int, int] | None, num_workers: int = 0
) -> tuple[int, tuple[int, int]]:
    """Check every file up front and return the first file's channels and ``(H, W)``.

    With ``image_size=None`` every header is read (Pillow does not decode the
    pixels for that), by ``num_workers`` processes for collections of
    :data:`PARALLEL_SCAN_MIN_FILES` files or more, and files of different
    sizes raise an error naming two of them; with ``image_size`` only
    existence is checked and the size is ``image_size``.

    Raises
    ------
    ImageReadError
        For a missing or unidentifiable file, or sizes that differ.
    """
    with _open(paths[0], 0) as first:
        channels = channels_of_mode(first.mode, describe_file(paths[0], 0))
        first_size = (first.height, first.width)
    if image_size is not None:
        for index, path in enumerate(paths):
            if not os.path.isfile(path):
                _open(path, index).close()  # raises the error that names the file
        return channels, tuple(image_size)
    for index, size in enumerate(_file_sizes(paths, num_workers)):
        if isinstance(size, ImageReadError):
            raise size
        if size != first_size:
            raise ImageReadError(
                f"Images differ in size: the {describe_file(paths[0], 0)} is (H, W)={first_size}"
                f" but the {describe_file(paths[index], index)} is {size}. Pass "
                "image_size=(H, W) to resize every image to one size."
            )
    return channels, first_size


def pil_to_tensor(image: Image.Image, *, channels: int, image_size) -> torch.Tensor:
    """A PIL image as a ``uint8`` tensor ``(channels, H, W)``: converted, resized if asked.

    Grey (``channels=1``), RGB (``3``) or RGBA (``4``); ``image_size=(H, W)``
    resizes bilinearly (Pillow's antialiased resize).
    """
    if channels not in _PIL_MODES:
        raise ImageReadError(
            f"Cannot decode images into {channels} channels; images are read as grey (1), "
            "RGB (3) or RGBA (4)."
        )
    image = image.convert(_PIL_MODES[channels])
    if image_size is not None and (image.height, image.width) != tuple(image_size):
        image = image.resize((image_size[1], image_size[0]), Image.BILINEAR)
    tensor = torch.from_numpy(np.array(image))
    return tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()


def read_image(path, index: int, *, channels: int, image_size: tuple[int, int] | None):
    """Decode one file into a ``uint8`` tensor of shape ``(channels, H, W)``.

    See :func:`pil_to_tensor`; decoding errors name the file.
    """
    with _open(path, index) as image:
        try:
            channels_of_mode(image.mode, describe_file(path, index))
            return pil_to_tensor(image, channels=channels, image_size=image_size)
        except ImageReadError:
            raise
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageReadError(
                f"Cannot decode the {describe_file(path, index)}: {exc}. The file is "
                "probably truncated or corrupt; replace or remove it (and its label)."
            ) from None


def load_image_folder(
    root, *, extensions: Sequence[str] = IMAGE_EXTENSIONS
) -> tuple[np.ndarray, np.ndarray]:
    """File paths and labels of a one-folder-per-class image tree.

    The layout of torchvision's ``ImageFolder`` and Keras's
    ``image_dataset_from_directory``: ``root/<label>/.../<image>``. Every
    sub-folder of ``root`` is a class named after it (sorted); image files
    are found at any depth below it, in sorted order. Hidden files are
    ignored; other files whose names do not end in ``extensions`` are
    skipped with a warning that names them.

    Parameters
    ----------
    root : str or path
    extensions : sequence of str, default=IMAGE_EXTENSIONS
        File name endings to read as images (compared case-insensitively).

    Returns
    -------
    paths : ndarray of str (object dtype), shape (N,)
        Feed them to :class:`~imbtorch.BalancedImageClassifier` (``fit``,
        ``predict``), sklearn's splitters, ``GridSearchCV``.
    labels : ndarray of str, shape (N,)
        The class folder of each file.

    Raises
    ------
    FileNotFoundError
        When ``root`` is no folder, holds no class folder, or a class folder
        holds no image.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"load_image_folder: {str(root)!r} is not a folder.")
    entries = sorted(root.iterdir())
    classes = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    if not classes:
        raise FileNotFoundError(
            f"{str(root)!r} holds no class folders; put the images of each class in "
            "a folder of its own: root/<label>/<image>."
        )
    endings = tuple(e.lower() for e in extensions)
    paths, labels, skipped = [], [], []
    skipped += [p for p in entries if p.is_file() and not p.name.startswith(".")]
    for folder in classes:
        found = []
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            dirnames.sort()
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = os.path.join(dirpath, name)
                (found if name.lower().endswith(endings) else skipped).append(path)
        if not found:
            raise FileNotFoundError(
                f"The class folder {str(folder)!r} holds no image file (endings {endings}); "
                "add images or remove the folder."
            )
        paths += found
        labels += [folder.name] * len(found)
    if skipped:
        names = ", ".join(repr(str(p)) for p in skipped[:3])
        warnings.warn(
            f"load_image_folder skipped {len(skipped)} file(s) that are not in a class folder "
            f"or do not end in {endings}: {names}{', ...' if len(skipped) > 3 else ''}.",
            UserWarning,
            stacklevel=2,
        )
    return np.array(paths, dtype=object), np.array(labels)
