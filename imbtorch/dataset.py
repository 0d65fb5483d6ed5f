"""The torch dataset the estimator trains on: prepared images, class codes, weights."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

IMAGES_KEY = "X"
SAMPLE_WEIGHT_KEY = "sample_weight"


class ImageDataset(Dataset):
    """Prepared ``(N, C, H, W)`` images with class codes and sample weights.

    Items are ``(image, code)``, or ``({'X': image, 'sample_weight': w}, code)``
    when sample weights are given; ``code`` indexes ``classes_``. ``X`` and
    ``y`` (the codes) are exposed for skorch's helpers, so that inside skorch's
    loop (scoring callbacks on the validation split) targets are class codes,
    as the batches are.

    Parameters
    ----------
    images : ndarray of shape (N, C, H, W), float32
    codes : ndarray of shape (N,)
        Class index of each sample in ``classes_``.
    sample_weight : ndarray of shape (N,), default=None
    """

    def __init__(
        self,
        images: np.ndarray,
        codes: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        self.X = torch.from_numpy(images)
        self.y = np.asarray(codes, dtype=np.int64)
        self.codes = torch.from_numpy(self.y)
        self.sample_weight = (
            None if sample_weight is None else torch.as_tensor(sample_weight, dtype=torch.float32)
        )

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i):
        image = self.X[i]
        if self.sample_weight is not None:
            image = {IMAGES_KEY: image, SAMPLE_WEIGHT_KEY: self.sample_weight[i]}
        return image, self.codes[i]


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
