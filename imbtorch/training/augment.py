"""Minority-targeted augmentation: random transforms for the samples of rare classes only.

Rare classes are seen as the same few images over and over, so the network
memorises them, all the more under re-sampling, which repeats them; head
classes have variety enough. Transforming only the tail samples adds
variety where it is missing and leaves the head distribution untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F


def random_shift(images: torch.Tensor, max_shift: float = 0.125) -> torch.Tensor:
    """Shift each image of a batch by its own random number of whole pixels.

    The standard pad-and-crop augmentation (CIFAR's "pad 4, crop 32" is
    ``max_shift=0.125``): each image moves by up to ``max_shift`` of its size,
    at least one pixel, in each direction; uncovered pixels repeat the border
    (the background, for centred objects). Whole-pixel shifts do not blur, so
    the transformed tail images stay as sharp as the test images. Uses
    torch's global RNG.

    Parameters
    ----------
    images : Tensor of shape (N, C, H, W)
    max_shift : float in (0, 1), default=0.125

    Returns
    -------
    Tensor of shape (N, C, H, W)
    """
    n, _, height, width = images.shape
    pad = max(1, round(max_shift * max(height, width)))
    padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    offset_y = torch.randint(0, 2 * pad + 1, (n, 1, 1), device=images.device)
    offset_x = torch.randint(0, 2 * pad + 1, (n, 1, 1), device=images.device)
    rows = torch.arange(height, device=images.device).view(1, -1, 1) + offset_y
    cols = torch.arange(width, device=images.device).view(1, 1, -1) + offset_x
    batch = torch.arange(n, device=images.device).view(-1, 1, 1)
    # (N, H, W, C) after advanced indexing on the batch and both spatial axes
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def minority_codes(class_counts: np.ndarray, classes: np.ndarray, minority_classes) -> np.ndarray:
    """Codes (indices into ``classes``) of the classes to augment.

    Parameters
    ----------
    class_counts : ndarray of shape (n_classes,)
    classes : ndarray of shape (n_classes,)
    minority_classes : 'auto' or array-like of labels
        ``'auto'``: the classes with fewer training samples than the median
        class (the rarer half; none when all classes are equally frequent).

    Returns
    -------
    codes : ndarray of int
    """
    if isinstance(minority_classes, str) and minority_classes == "auto":
        return np.flatnonzero(class_counts < np.median(class_counts))
    labels = np.atleast_1d(np.asarray(minority_classes, dtype=classes.dtype))
    unknown = np.setdiff1d(labels, classes)
    if len(unknown):
        raise ValueError(
            f"minority_classes names {unknown.tolist()!r}, which are not classes of y "
            f"{classes.tolist()!r}; name existing labels or use minority_classes='auto'."
        )
    return np.searchsorted(classes, np.unique(labels))


def augment_minority(
    images: torch.Tensor,
    codes: torch.Tensor,
    augment_codes: torch.Tensor,
    transform: float | Callable,
) -> torch.Tensor:
    """Return ``images`` with the samples whose class is in ``augment_codes`` transformed.

    Parameters
    ----------
    images : Tensor of shape (N, C, H, W)
    codes : Tensor of shape (N,)
        Class code of each image.
    augment_codes : Tensor of int
        Classes to transform.
    transform : float or callable
        A float is the ``max_shift`` of :func:`random_shift`, applied to the
        minority images as one batch. A callable (e.g. a
        ``torchvision.transforms.v2`` transform) is applied to each minority
        image ``(C, H, W)`` separately, so each gets its own random draw.

    Returns
    -------
    Tensor of shape (N, C, H, W)
    """
    mask = torch.isin(codes.to(images.device), augment_codes.to(images.device))
    if not mask.any():
        return images
    selected = images[mask]
    if callable(transform):
        transformed = torch.stack([transform(image) for image in selected])
        if transformed.shape != selected.shape:
            raise ValueError(
                f"minority_augment turned images of shape {tuple(selected.shape[1:])} into "
                f"{tuple(transformed.shape[1:])}; it must keep the shape (C, H, W), e.g. use "
                "RandomAffine or RandomResizedCrop with size=(H, W)."
            )
    else:
        transformed = random_shift(selected, max_shift=float(transform))
    out = images.clone()
    out[mask] = transformed.to(images.dtype)
    return out
