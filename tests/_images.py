"""Synthetic grey 8x8 images in 3 separable classes, for the subprocess test scripts."""

import numpy as np


def three_class_images(counts, *, name_pixels: bool = False):
    """``counts`` images of classes 0 (bright), 1 (dark) and 2 (striped): ``(X, y)``.

    ``X`` has shape ``(N, 1, 8, 8)``, float32. With ``name_pixels`` each image
    carries its own index in pixel ``[0, 0, 0]``.
    """
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), counts)
    X = rng.normal(0.0, 0.4, size=(len(y), 1, 8, 8)).astype(np.float32)
    X[y == 0] += 1.0
    X[y == 1] -= 1.0
    X[y == 2, :, :, ::2] += 1.0
    if name_pixels:
        X[:, 0, 0, 0] = np.arange(len(y))
    return X, y
