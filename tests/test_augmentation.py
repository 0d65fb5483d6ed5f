"""augment: named augmentations of every training image, from torchvision's transforms v2."""

import numpy as np
import pytest
import torch

from imbtorch import BalancedImageClassifier
from imbtorch.data.augmentation import build_augmentation, shift_padding

FAST = dict(max_epochs=2, random_state=0, module__width=8)


def test_shift_moves_the_image_by_whole_pixels_and_repeats_the_border():
    """One bright pixel in a dark 8x8 image lands within one pixel of where it was (an
    eighth of 8), never blurred; every shift in [-1, 1]^2 occurs."""
    image = torch.zeros(1, 8, 8)
    image[0, 4, 3] = 1.0
    shift = build_augmentation("shift", (8, 8))
    torch.manual_seed(0)
    seen = set()
    for _ in range(200):
        out = shift(image)
        assert out.shape == image.shape and set(out.unique().tolist()) <= {0.0, 1.0}
        (row, col) = (out[0] == 1.0).nonzero()[0].tolist()
        seen.add((row - 4, col - 3))
    assert seen == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    assert shift_padding((28, 28)) == 4 and shift_padding((4, 4)) == 1
    # a border pixel is repeated outward, never replaced by zeros
    edge = torch.ones(1, 8, 8)
    assert all(bool((shift(edge) == 1.0).all()) for _ in range(20))


def test_flip_mirrors_some_images_and_the_stronger_policies_keep_the_shape():
    image = torch.arange(64.0).reshape(1, 8, 8) / 64
    torch.manual_seed(0)
    flip = build_augmentation("flip", (8, 8))
    outs = [flip(image) for _ in range(50)]
    # a mirrored image has its columns' order reversed, up to the shift
    mirrored = [o for o in outs if (o[0, :, 0] > o[0, :, -1]).all()]
    assert 0 < len(mirrored) < len(outs)
    for name in ("trivial", "randaugment"):
        out = build_augmentation(name, (8, 8))(torch.rand(3, 8, 8))
        assert out.shape == (3, 8, 8) and 0.0 <= out.min() and out.max() <= 1.0


def test_augment_trains_every_image_through_the_plan_reproducibly(long_tailed_images):
    X, y = long_tailed_images
    shifted = BalancedImageClassifier(augment="shift", **FAST).fit(X, y)
    assert shifted.plan_.transform is not None
    assert "- augment='shift': random shifts of up to 1 pixel on every training image\n" in str(
        shifted.plan_
    )
    again = BalancedImageClassifier(augment="shift", **FAST).fit(X, y)
    plain = BalancedImageClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(shifted.predict_proba(X), again.predict_proba(X))
    assert not np.array_equal(shifted.predict_proba(X), plain.predict_proba(X))
    assert plain.plan_.transform is None and "augment" not in str(plain.plan_)


def test_augment_in_loader_workers_on_files_is_reproducible(png_folder):
    """Files decoded in a worker process, each image shifted there."""
    _, paths, labels = png_folder
    params = dict(augment="flip", iterator_train__num_workers=1, **FAST)
    fits = [
        BalancedImageClassifier(**params).fit(paths, labels).predict_proba(paths[:20])
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0], fits[1])


def test_augment_with_a_train_transform_is_refused_before_training(long_tailed_images):
    from torchvision.transforms import v2

    X, y = long_tailed_images
    clf = BalancedImageClassifier(augment="shift", train_transform=v2.RandomHorizontalFlip())
    with pytest.raises(ValueError, match=r"augment='shift' and train_transform=.* set one of"):
        clf.fit(X, y)
    assert not clf.initialized_
    own = BalancedImageClassifier(train_transform=v2.RandomHorizontalFlip(), **FAST).fit(X, y)
    assert "- train_transform RandomHorizontalFlip(p=0.5)\n" in str(own.plan_)
