"""Turn user image arrays into float32 ``(N, C, H, W)`` batches for torch."""

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


def _channel_axis(shape: tuple[int, ...], data_format: str) -> int:
    """Return 1 (channels first) or 3 (channels last) for a 4-D batch shape."""
    if data_format == "channels_first":
        return 1
    if data_format == "channels_last":
        return 3
    first_ok = shape[1] <= _MAX_AUTO_CHANNELS
    last_ok = shape[3] <= _MAX_AUTO_CHANNELS
    if first_ok != last_ok:
        return 1 if first_ok else 3
    raise ValueError(
        f"Cannot tell the channel axis of 4-D X with shape {shape}: "
        f"{'both' if first_ok else 'neither'} axis 1 and axis 3 "
        f"{'are' if first_ok else 'is'} small enough (<= {_MAX_AUTO_CHANNELS}) "
        "to hold channels. Pass data_format='channels_first' for (N, C, H, W) or "
        "data_format='channels_last' for (N, H, W, C)."
    )


def to_nchw(
    X: np.ndarray,
    *,
    image_shape: tuple[int, ...] | None = None,
    data_format: str = "auto",
) -> np.ndarray:
    """Convert a validated numeric array of images to float32 ``(N, C, H, W)``.

    Parameters
    ----------
    X : ndarray
        ``(N, F)`` flattened rows, ``(N, H, W)`` grey images, ``(N, H, W, C)``
        or ``(N, C, H, W)``. ``uint8`` pixels are scaled to ``[0, 1]``.
    image_shape : tuple of int, default=None
        How to unflatten 2-D ``X``: ``(H, W)`` or ``(C, H, W)``; one axis may be
        ``-1``. ``None`` accepts square rows only (``F = S * S``).
    data_format : {'auto', 'channels_first', 'channels_last'}, default='auto'
        Channel axis of 4-D ``X``. ``'auto'`` picks the one of axes 1 and 3
        that has at most 4 entries and raises when that is ambiguous.

    Returns
    -------
    images : ndarray of shape (N, C, H, W), dtype float32
    """
    if image_shape is not None and X.ndim != 2:
        raise ValueError(
            f"image_shape is only used to unflatten 2-D X, but X is {X.ndim}-D with shape "
            f"{X.shape}. Leave image_shape=None for image-shaped X."
        )
    if X.ndim == 2:
        images = _reshape_flat(X, image_shape)
    elif X.ndim == 3:
        images = X[:, None, :, :]
    elif X.ndim == 4:
        images = X if _channel_axis(X.shape, data_format) == 1 else X.transpose(0, 3, 1, 2)
    else:
        raise ValueError(
            f"X must be 2-D (N, H*W), 3-D (N, H, W) or 4-D (N, H, W, C) / (N, C, H, W); "
            f"got {X.ndim}-D X with shape {X.shape}."
        )
    out = np.array(images, dtype=np.float32, order="C")  # a copy: callers may edit it in place
    if X.dtype == np.uint8:
        out /= 255.0
    return out


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (1 where a channel is constant)."""
    mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
    std = images.std(axis=(0, 2, 3), dtype=np.float64)
    std[std < 1e-12] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def standardize(images: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Standardise ``(N, C, H, W)`` images per channel, in place."""
    images -= mean[None, :, None, None]
    images /= std[None, :, None, None]
    return images


class ImageInputMixin:
    """``_images``: read ``X`` as images and standardise them, for estimators taking images.

    Uses the estimator's ``image_shape``, ``data_format`` and ``normalize``
    parameters; with ``reset=True`` it sets ``image_shape_``, ``channel_mean_``
    and ``channel_std_`` (zeros and ones with ``normalize=False``), otherwise
    it checks the images have the fitted shape.
    """

    def _images(self, X, *, reset: bool) -> np.ndarray:
        images = to_nchw(X, image_shape=self.image_shape, data_format=self.data_format)
        if reset:
            self.image_shape_ = tuple(int(s) for s in images.shape[1:])
            if self.normalize:
                self.channel_mean_, self.channel_std_ = channel_stats(images)
            else:
                n_channels = self.image_shape_[0]
                self.channel_mean_ = np.zeros(n_channels, dtype=np.float32)
                self.channel_std_ = np.ones(n_channels, dtype=np.float32)
        elif images.shape[1:] != self.image_shape_:
            raise ValueError(
                f"X holds images of shape (C, H, W)={images.shape[1:]}, but "
                f"{type(self).__name__} was fitted on images of shape {self.image_shape_}."
            )
        return standardize(images, self.channel_mean_, self.channel_std_)
