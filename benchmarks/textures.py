"""Long-tailed texture patches: a third real image set, cut from photographs in scikit-image.

scikit-image's wheel ships photographs (``skimage/data/``); ten of them, 400 to
1000 pixels a side, make ten classes:
a class is the photograph a 32x32 grey patch was cut from (as in texture
classification on Brodatz or KTH-TIPS). Textures (brick, grass, gravel),
scenes (astronaut, camera, coffee), microscopy (cell, ihc), the moon and
the Hubble deep field: unlike the digits, the classes differ in local
statistics and overlap where two photographs hold flat or dark areas.

Train and test patches never overlap: each photograph is cut into 64x64
blocks, coloured like a chessboard; training patches come from the white
blocks and test patches from the black ones, 25 patches a block (stride 8).
Patches with no texture (pixel standard deviation under 2 grey levels: the
sky of ``camera``, the black around the moon) are left out, since the same
flat patch can stand in two photographs.
The long-tailed training set follows ``n_i = n_max * rho ** (-i / (C - 1))``
(:func:`imbtorch.datasets.make_long_tailed`); the test set holds
``n_test_per_class`` patches of every class.

Needs scikit-image (``pip install scikit-image``) for its photographs only;
Pillow decodes them.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
from PIL import Image
from sklearn.utils import check_random_state

from imbtorch.datasets import _balanced_holdout, make_long_tailed  # the project's own draw

#: The photographs, one class each, in label order (0 = astronaut, ...).
PHOTOGRAPHS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "coffee.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
)
PATCH, BLOCK, STRIDE = 32, 64, 8
MIN_STD = 2.0  # grey levels; flatter patches hold no texture


def _photograph(name: str) -> np.ndarray:
    try:
        folder = files("skimage") / "data"
    except ModuleNotFoundError:
        raise ImportError(
            "The texture patches are cut from scikit-image's photographs; install it with: "
            "pip install scikit-image"
        ) from None
    with Image.open(folder / name) as image:
        return np.asarray(image.convert("L"))


def _patches(image: np.ndarray, colour: int) -> np.ndarray:
    """Every textured 32x32 patch (stride 8) inside the 64x64 blocks whose
    ``(row + column) % 2`` is ``colour``."""
    offsets = range(0, BLOCK - PATCH + 1, STRIDE)
    out = [
        image[top + dy : top + dy + PATCH, left + dx : left + dx + PATCH]
        for top in range(0, image.shape[0] - BLOCK + 1, BLOCK)
        for left in range(0, image.shape[1] - BLOCK + 1, BLOCK)
        if (top // BLOCK + left // BLOCK) % 2 == colour
        for dy in offsets
        for dx in offsets
    ]
    patches = np.stack(out)
    return patches[patches.reshape(len(patches), -1).std(axis=1) >= MIN_STD]


def texture_patches() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All training-side and test-side patches: ``X_pool, y_pool, X_test_pool, y_test_pool``,
    ``uint8`` of shape ``(N, 32, 32)`` and int labels (indices into :data:`PHOTOGRAPHS`)."""
    parts = {0: ([], []), 1: ([], [])}
    for label, name in enumerate(PHOTOGRAPHS):
        image = _photograph(name)
        for colour, (images, labels) in parts.items():
            patches = _patches(image, colour)
            images.append(patches)
            labels.append(np.full(len(patches), label))
    (Xw, yw), (Xb, yb) = ((np.concatenate(a), np.concatenate(b)) for a, b in parts.values())
    return Xw, yw, Xb, yb


def load_long_tailed_textures(
    imbalance_ratio: float = 100,
    *,
    n_max: int = 400,
    n_test_per_class: int = 100,
    class_order=None,
    random_state=0,
):
    """Long-tailed training patches and a balanced test set of patches from other blocks.

    Parameters
    ----------
    imbalance_ratio : float, default=100
    n_max : int, default=400
        Training patches of the head class.
    n_test_per_class : int, default=100
    class_order : None, 'random' or labels from head to tail, default=None
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
    """
    rng = check_random_state(random_state)
    X_pool, y_pool, X_test_pool, y_test_pool = texture_patches()
    test = _balanced_holdout(y_test_pool, n_test_per_class, rng)
    X_train, y_train = make_long_tailed(
        X_pool, y_pool, imbalance_ratio, n_max=n_max, class_order=class_order, random_state=rng
    )
    return X_train, X_test_pool[test], y_train, y_test_pool[test]
