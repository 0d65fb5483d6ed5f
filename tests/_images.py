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


def multilabel_images(n, frequencies=(0.6, 0.25, 0.06), *, signal=1.2, seed=0, name_pixels=False):
    """``n`` grey 8x8 images carrying any subset of labels: ``(X, Y)``.

    Label ``l`` is present with probability ``frequencies[l]`` and brightens
    its own band of rows by ``signal`` (label 0 rows 0-1, label 1 rows 2-3, ...); ``Y`` is
    the ``(n, n_labels)`` 0/1 indicator matrix.
    """
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, len(frequencies))) < np.asarray(frequencies)).astype(np.int64)
    X = rng.normal(0.0, 0.5, size=(n, 1, 8, 8)).astype(np.float32)
    for label in range(len(frequencies)):
        X[:, 0, 2 * label : 2 * label + 2, :] += signal * Y[:, label, None, None]
    if name_pixels:
        X[:, 0, 7, 7] = np.arange(n)
    return X, Y
