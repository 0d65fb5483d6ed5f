"""The data path: sources of images (arrays, files, torch Datasets), one dataset, loaders.

- :mod:`~imbtorch.data.arrays`: numeric array layouts, viewed as ``(N, C, H, W)``;
- :mod:`~imbtorch.data.files`: image files decoded with Pillow, image folders;
- :mod:`~imbtorch.data.tables`: image files and (multi-)labels listed in a CSV table;
- :mod:`~imbtorch.data.huggingface`: a Hugging Face ``datasets.Dataset`` as a torch
  Dataset of ``(image, target)`` pairs, :class:`HFImageDataset`;
- :mod:`~imbtorch.data.sources`: one reader per kind of input, :func:`make_source`;
- :mod:`~imbtorch.data.dataset`: :class:`ImageDataset`, the torch dataset of a source
  with class codes, sample weights and a training transform;
- :mod:`~imbtorch.data.unlabeled`: scikit-learn's ``-1`` marker of unlabelled images, and
  the dataset of their weak and strong views;
- :mod:`~imbtorch.data.normalize`: channel statistics, per-batch standardisation;
- :mod:`~imbtorch.data.loader`: DataLoader settings for the source and the device;
- :mod:`~imbtorch.data.inputs`: :class:`ImageInputMixin`, what the estimators use.
"""

from .dataset import ImageDataset
from .files import IMAGE_EXTENSIONS, ImageReadError, load_image_folder
from .huggingface import HFImageDataset
from .inputs import ImageInputMixin
from .sources import ArraySource, DatasetSource, FileSource, ImageSource, make_source
from .tables import load_image_table

__all__ = [
    "IMAGE_EXTENSIONS",
    "ArraySource",
    "DatasetSource",
    "FileSource",
    "HFImageDataset",
    "ImageDataset",
    "ImageInputMixin",
    "ImageReadError",
    "ImageSource",
    "load_image_folder",
    "load_image_table",
    "make_source",
]
