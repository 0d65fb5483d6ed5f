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
flat patch can stand in two photographs, and so are test patches equal to a
training patch (a drawing repeats itself).
The long-tailed training set follows ``n_i = n_max * rho ** (-i / (C - 1))``
(:func:`imbtorch.datasets.make_long_tailed`); the test set holds
``n_test_per_class`` patches of every class.

A second set, :data:`HELD_OUT_PHOTOGRAPHS` (``--dataset photos`` in
``longtail.py``), cuts the same patches from ten other images in
scikit-image's wheel (a cat, coins, a motorcycle, a retina, a rocket,
printed text, a horse's silhouette, a drawn CT phantom, ...).
It was built after ``strategy='auto'``'s rule was fixed, to check that rule
on images no one chose it on. Its smaller photographs need a stride of 4
(81 patches a block) and a head of 300 patches.

A third set, :data:`SAMPLE_IMAGES` (``--dataset samples``), cuts them from
eight images the sample data of three packages ship, in neither set above:
a portrait and two photographs (matplotlib's, scikit-learn's), a terrain
elevation map, an MRI slice, a colour chart and two logos. It was built on
2026-12-02, after every rule of ``strategy='auto'`` was fixed.

A fourth set, :data:`ALL_IMAGES` (``--dataset patches28``), puts the 28
images of the three sets together, one class each, stride 4, a head of 300:
no image in it is new, but every set above has ten classes or fewer, and
this one checks the default where many classes share the tail (at
rho = 100, eleven classes have 20 training patches or fewer).

Needs scikit-image (``pip install scikit-image``) for its photographs only;
Pillow decodes them.
"""

from __future__ import annotations

import gzip
import io
from importlib.resources import files

import numpy as np
from PIL import Image
from sklearn.utils import check_random_state

from imbtorch.datasets import make_long_tailed  # the project's own draw
from imbtorch.datasets.long_tailed import _balanced_holdout

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
#: Ten other photographs, held out from every choice made on :data:`PHOTOGRAPHS`.
HELD_OUT_PHOTOGRAPHS = (
    "chelsea.png",
    "clock_motion.png",
    "coins.png",
    "horse.png",
    "motorcycle_left.png",
    "page.png",
    "phantom.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)
#: Eight images from the sample data of matplotlib, scikit-learn and
#: scikit-image (``package:file``), in neither set above.
SAMPLE_IMAGES = (
    "matplotlib:grace_hopper.jpg",
    "sklearn:china.jpg",
    "sklearn:flower.jpg",
    "matplotlib:jacksboro_fault_dem.npz",  # terrain elevation, rescaled to grey levels
    "matplotlib:s1045.ima.gz",  # an MRI slice, 256x256 16-bit
    "skimage:color.png",
    "skimage:logo.png",
    "matplotlib:logo2.png",
)
#: The three sets together: 28 classes.
ALL_IMAGES = PHOTOGRAPHS + HELD_OUT_PHOTOGRAPHS + SAMPLE_IMAGES
_FOLDERS = {  # package: (module, folder of its sample images, name on PyPI)
    "skimage": ("skimage", "data", "scikit-image"),
    "matplotlib": ("matplotlib", "mpl-data/sample_data", "matplotlib"),
    "sklearn": ("sklearn", "datasets/images", "scikit-learn"),
}
PATCH, BLOCK, STRIDE = 32, 64, 8
MIN_STD = 2.0  # grey levels; flatter patches hold no texture


def _photograph(name: str) -> np.ndarray:
    """Grey levels (``uint8``) of ``name``: a file in ``skimage/data``, or ``package:file``."""
    package, _, name = name.rpartition(":")
    module, folder, distribution = _FOLDERS[package or "skimage"]
    try:
        path = files(module).joinpath(folder, name)
    except ModuleNotFoundError:
        raise ImportError(
            f"These patches are cut from {module}'s sample images; install it with: "
            f"pip install {distribution}"
        ) from None
    if name.endswith(".npz"):  # an elevation map
        return _grey_levels(np.load(io.BytesIO(path.read_bytes()))["elevation"])
    if name.endswith(".ima.gz"):  # raw 16-bit pixels, read as matplotlib's own example does
        pixels = np.frombuffer(gzip.decompress(path.read_bytes()), np.uint16)
        return _grey_levels(pixels.reshape(256, 256))
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return np.asarray(image.convert("L"))


def _grey_levels(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64)
    return np.round(255 * (values - values.min()) / np.ptp(values)).astype(np.uint8)


def _patches(image: np.ndarray, colour: int, stride: int = STRIDE) -> np.ndarray:
    """Every textured 32x32 patch (every ``stride`` pixels) inside the 64x64 blocks whose
    ``(row + column) % 2`` is ``colour``."""
    offsets = range(0, BLOCK - PATCH + 1, stride)
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


def texture_patches(
    photographs: tuple[str, ...] = PHOTOGRAPHS, stride: int = STRIDE
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All training-side and test-side patches: ``X_pool, y_pool, X_test_pool, y_test_pool``,
    ``uint8`` of shape ``(N, 32, 32)`` and int labels (indices into ``photographs``)."""
    parts = {0: ([], []), 1: ([], [])}
    for label, name in enumerate(photographs):
        image = _photograph(name)
        for colour, (images, labels) in parts.items():
            patches = _patches(image, colour, stride)
            images.append(patches)
            labels.append(np.full(len(patches), label))
    (Xw, yw), (Xb, yb) = ((np.concatenate(a), np.concatenate(b)) for a, b in parts.values())
    # a drawing repeats itself (two test patches of phantom.png equal training ones)
    seen = {patch.tobytes() for patch in Xw}
    unseen = np.array([patch.tobytes() not in seen for patch in Xb])
    return Xw, yw, Xb[unseen], yb[unseen]


def load_long_tailed_textures(
    imbalance_ratio: float = 100,
    *,
    n_max: int = 400,
    n_test_per_class: int = 100,
    class_order=None,
    random_state=0,
    photographs: tuple[str, ...] = PHOTOGRAPHS,
    stride: int = STRIDE,
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
    photographs : tuple of str, default=PHOTOGRAPHS
        File names in ``skimage/data``, one class each.
    stride : int, default=8
        Pixels between patches inside a block.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarrays
    """
    rng = check_random_state(random_state)
    X_pool, y_pool, X_test_pool, y_test_pool = texture_patches(photographs, stride)
    test = _balanced_holdout(y_test_pool, n_test_per_class, rng)
    X_train, y_train = make_long_tailed(
        X_pool, y_pool, imbalance_ratio, n_max=n_max, class_order=class_order, random_state=rng
    )
    return X_train, X_test_pool[test], y_train, y_test_pool[test]


def load_long_tailed_photos(imbalance_ratio: float = 100, *, class_order=None, random_state=0):
    """The held-out set: :func:`load_long_tailed_textures` on :data:`HELD_OUT_PHOTOGRAPHS`,
    stride 4, 300 training patches in the head class and 100 test patches a class."""
    return _small_images(HELD_OUT_PHOTOGRAPHS, imbalance_ratio, class_order, random_state)


def load_long_tailed_samples(imbalance_ratio: float = 100, *, class_order=None, random_state=0):
    """The third set: :func:`load_long_tailed_textures` on :data:`SAMPLE_IMAGES`, stride 4,
    300 training patches in the head class and 100 test patches a class."""
    return _small_images(SAMPLE_IMAGES, imbalance_ratio, class_order, random_state)


def load_long_tailed_patches28(imbalance_ratio: float = 100, *, class_order=None, random_state=0):
    """The 28 classes of :data:`ALL_IMAGES`: :func:`load_long_tailed_textures`, stride 4,
    300 training patches in the head class and 100 test patches a class."""
    return _small_images(ALL_IMAGES, imbalance_ratio, class_order, random_state)


def _small_images(photographs: tuple[str, ...], imbalance_ratio, class_order, random_state):
    """Smaller images than :data:`PHOTOGRAPHS`: patches every 4 pixels, a head of 300."""
    return load_long_tailed_textures(
        imbalance_ratio,
        n_max=300,
        class_order=class_order,
        random_state=random_state,
        photographs=photographs,
        stride=4,
    )
