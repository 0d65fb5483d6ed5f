"""Array layouts: read a numeric image array as an ``(N, C, H, W)`` view, without copying.

Images stay in the array's own dtype (a ``uint8`` array stays ``uint8``);
conversion to float, scaling and standardisation happen per batch, on the
training device (:mod:`imbtorch.data.normalize`).
"""

from __future__ import annotations

import math

import numpy as np

DATA_FORMATS = ("auto", "channels_first", "channels_last")
_MAX_AUTO_CHANNELS = 4


def _reshape_flat(X: np.ndarray, image_shape: tuple[int, ...] | None) -> np.ndarray:
    """Reshape 2-D ``(N, F)`` rows into ``(N, C, H, W)`` images."""
    n_samples, n_features = X.shape
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"X is 2-D with {n_features} features per row, which is not a square image. "
                "Pass image_shape=(H, W) or (C, H, W) to say how to unflatten each row "
                "(-1 infers one axis, e.g. image_shape=(1, -1)), or pass X with shape "
                "(N, H, W), (N, H, W, C) or (N, C, H, W)."
            )
        return X.reshape(n_samples, 1, side, side)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"image_shape must be (H, W) or (C, H, W); got {image_shape!r}.")
    if len(shape) == 2:
        shape = (1, *shape)
    try:
        return X.reshape(n_samples, *shape)
    except ValueError:
        raise ValueError(
            f"image_shape={image_shape!r} does not fit rows of {n_features} features; "
            "the product of its axes must equal the number of features."
        ) from None


def channel_axis(shape: tuple[int, ...], data_format: str, *, what: str = "4-D X") -> int:
    """Return the channel axis (1 or last) of an ``(N, ?, ?, ?)`` or ``(?, ?, ?)`` shape.

    ``data_format='auto'`` picks the one of the first and last image axes
    that has at most 4 entries, and raises when that is ambiguous.
    """
    first, last = len(shape) - 3, len(shape) - 1
    if data_format == "channels_first":
        return first
    if data_format == "channels_last":
        return last
    first_ok = shape[first] <= _MAX_AUTO_CHANNELS
    last_ok = shape[last] <= _MAX_AUTO_CHANNELS
    if first_ok != last_ok:
        return first if first_ok else last
    raise ValueError(
        f"Cannot tell the channel axis of {what} with shape {tuple(shape)}: "
        f"{'both' if first_ok else 'neither'} axis {first} and axis {last} "
        f"{'are' if first_ok else 'is'} small enough (<= {_MAX_AUTO_CHANNELS}) "
        "to hold channels. Pass data_format='channels_first' for (C, H, W) or "
        "data_format='channels_last' for (H, W, C)."
    )


def as_nchw(
    X: np.ndarray,
    *,
    image_shape: tuple[int, ...] | None = None,
    data_format: str = "auto",
) -> np.ndarray:
    """View a validated numeric array of images as ``(N, C, H, W)``, in its own dtype.

    Parameters
    ----------
    X : ndarray
        ``(N, F)`` flattened rows, ``(N, H, W)`` grey images, ``(N, H, W, C)``
        or ``(N, C, H, W)``.
    image_shape : tuple of int, default=None
        How to unflatten 2-D ``X``: ``(H, W)`` or ``(C, H, W)``; one axis may be
        ``-1``. ``None`` accepts square rows only (``F = S * S``).
    data_format : {'auto', 'channels_first', 'channels_last'}, default='auto'
        Channel axis of 4-D ``X``. ``'auto'`` picks the one of axes 1 and 3
        that has at most 4 entries and raises when that is ambiguous.

    Returns
    -------
    images : ndarray of shape (N, C, H, W)
        A view of ``X`` where the layout allows one (always for C-ordered
        input); never a float copy.
    """
    if image_shape is not None and X.ndim != 2:
        raise ValueError(
            f"image_shape is only used to unflatten 2-D X, but X is {X.ndim}-D with shape "
            f"{X.shape}. Leave image_shape=None for image-shaped X."
        )
    if X.ndim == 2:
        return _reshape_flat(X, image_shape)
    if X.ndim == 3:
        return X[:, None, :, :]
    if X.ndim == 4:
        return X if channel_axis(X.shape, data_format) == 1 else X.transpose(0, 3, 1, 2)
    raise ValueError(
        f"X must be 2-D (N, H*W), 3-D (N, H, W) or 4-D (N, H, W, C) / (N, C, H, W); "
        f"got {X.ndim}-D X with shape {X.shape}."
    )


#: Pixel values per chunk of :func:`array_channel_stats` (2 MiB as float64).
STATS_CHUNK_VALUES = 2**18


def array_channel_stats(
    images: np.ndarray, *, chunk_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-channel mean and std of ``(N, C, H, W)`` images, in chunks.

    Pixels are scaled as the network sees them (uint8 to ``[0, 1]``). Chunks
    of ``chunk_size`` images (by default as many as hold
    ``STATS_CHUNK_VALUES`` values) are converted to float64 one at a time
    and merged with Chan et al.'s pairwise update, so memory stays small
    whatever ``N`` is. A constant channel gets std 1.
    """
    if chunk_size is None:
        chunk_size = max(1, STATS_CHUNK_VALUES // max(1, int(np.prod(images.shape[1:]))))
    n_channels = images.shape[1]
    count = 0
    mean = np.zeros(n_channels)
    m2 = np.zeros(n_channels)  # sum of squared deviations from the mean
    scale = 1.0 / 255.0 if images.dtype == np.uint8 else 1.0
    for start in range(0, len(images), chunk_size):
        chunk = np.asarray(images[start : start + chunk_size], dtype=np.float64) * scale
        n = chunk.shape[0] * chunk.shape[2] * chunk.shape[3]
        chunk_mean = chunk.mean(axis=(0, 2, 3))
        chunk_m2 = ((chunk - chunk_mean[None, :, None, None]) ** 2).sum(axis=(0, 2, 3))
        delta = chunk_mean - mean
        total = count + n
        mean = mean + delta * n / total
        m2 = m2 + chunk_m2 + delta**2 * count * n / total
        count = total
    return finish_stats(mean, m2 / max(count, 1))


def finish_stats(mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 mean and std from a mean and variance; std 1 where a channel is constant."""
    std = np.sqrt(np.maximum(var, 0.0))
    std[std < 1e-12] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)
