"""Image data to try imbtorch on: your folders and tables, and long-tailed real image sets.

- :func:`load_image_folder` and :func:`load_image_table` (from
  :mod:`imbtorch.data`): the file paths and labels of a folder per class or a
  CSV table;
- :mod:`~imbtorch.datasets.long_tailed`: long-tailed versions of real image
  sets that ship inside installed packages (scikit-learn's digits, MNIST);
- :mod:`~imbtorch.datasets.mosaics`: long-tailed multi-label digit mosaics;
- :mod:`~imbtorch.datasets.cifar`: CIFAR-10(-LT) from a local copy.
"""

from ..data.files import load_image_folder
from ..data.tables import load_image_table
from .cifar import load_cifar10, load_long_tailed_cifar10
from .long_tailed import (
    load_long_tailed_digits,
    load_long_tailed_mnist,
    long_tailed_counts,
    long_tailed_split,
    make_long_tailed,
)
from .mosaics import load_long_tailed_mosaics

__all__ = [
    "load_cifar10",
    "load_image_folder",
    "load_image_table",
    "load_long_tailed_cifar10",
    "load_long_tailed_digits",
    "load_long_tailed_mnist",
    "load_long_tailed_mosaics",
    "long_tailed_counts",
    "long_tailed_split",
    "make_long_tailed",
]
