"""Per-channel statistics of a source, and per-batch standardisation on the device."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from .arrays import array_channel_stats, finish_stats
from .sources import ArraySource, ImageSource

#: Images a file or Dataset source's channel statistics are estimated from.
STATS_SAMPLE_SIZE = 1000


def channel_stats(source: ImageSource, *, num_workers: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the images as the network sees them (``uint8`` in ``[0, 1]``).

    Exact for an array, in chunks (no float copy of it). For files and
    Datasets, estimated from ``STATS_SAMPLE_SIZE`` images drawn with a fixed
    seed (all of them when there are fewer), decoded with ``num_workers``
    processes: decoding a whole collection once more only to refine these
    numbers is not worth it.

    Returns
    -------
    mean, std : ndarray of shape (C,), float32
        A constant channel gets std 1.
    """
    if isinstance(source, ArraySource):
        return array_channel_stats(source.images)
    n_channels = source.image_shape[0]
    indices = np.arange(len(source))
    if len(source) > STATS_SAMPLE_SIZE:
        rng = np.random.default_rng(0)
        indices = np.sort(rng.choice(len(source), STATS_SAMPLE_SIZE, replace=False))
    loader = DataLoader(Subset(source, indices.tolist()), batch_size=64, num_workers=num_workers)
    count, total, total_sq = 0, np.zeros(n_channels), np.zeros(n_channels)
    for batch in loader:
        pixels = batch.to(torch.float64)
        if batch.dtype == torch.uint8:
            pixels /= 255.0
        count += pixels.shape[0] * pixels.shape[2] * pixels.shape[3]
        total += pixels.sum(dim=(0, 2, 3)).numpy()
        total_sq += (pixels**2).sum(dim=(0, 2, 3)).numpy()
    mean = total / count
    return finish_stats(mean, total_sq / count - mean**2)


def standardize_batch(
    images: torch.Tensor, mean: np.ndarray, std: np.ndarray, device
) -> torch.Tensor:
    """Move a batch to ``device``, make it float32 (``uint8`` scaled to ``[0, 1]``), standardise.

    A grey batch given 3-channel statistics is repeated to 3 channels first.

    Parameters
    ----------
    images : Tensor of shape (N, C, H, W), uint8 or float
    mean, std : ndarray of shape (C,)
    device : torch device or None (leave the batch where it is)

    Returns
    -------
    Tensor of shape (N, C, H, W), float32, on ``device``
    """
    images = images.to(device, non_blocking=True) if device is not None else images
    if images.shape[1] == 1 and len(mean) == 3:
        images = images.expand(-1, 3, -1, -1)
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    images = images.to(torch.float32)
    mean_t = torch.as_tensor(mean, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    if scale != 1.0:
        images = images / scale
    return (images - mean_t) / std_t


def to_memory_format(images: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """A 4-D batch in ``channels_last`` memory order when asked (same shape and values)."""
    if channels_last and images.ndim == 4:
        return images.contiguous(memory_format=torch.channels_last)
    return images


def network_batch(
    images: torch.Tensor, mean: np.ndarray, std: np.ndarray, device, channels_last: bool = False
) -> torch.Tensor:
    """A batch of raw images as a network takes it: on ``device``, float32, standardised by
    ``mean`` and ``std`` (grey images repeated to RGB statistics' three channels), in
    ``channels_last`` memory order when asked."""
    return to_memory_format(standardize_batch(images, mean, std, device), channels_last)
