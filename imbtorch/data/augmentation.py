"""Named augmentations of every training image, built from torchvision's transforms v2.

``augment`` names how much a user declares safe for their images:

- ``'shift'``: random translations by whole pixels, up to an eighth of the
  image's size (pad by replicating the border, then crop back: CIFAR's
  "pad 4, crop 32"). Label-preserving almost everywhere, digits and text
  included.
- ``'flip'``: ``'shift'`` and horizontal flips, for images whose meaning a
  mirror keeps (photographs, textures; not digits or text).
- ``'trivial'``: ``'flip'`` and TrivialAugment (Müller & Hutter 2021,
  ``TrivialAugmentWide``: one random operation of random strength per image,
  geometry and colour).
- ``'randaugment'``: ``'flip'`` and RandAugment (Cubuk et al. 2020, two
  operations of strength 9).

The transforms run on each image in the loader's workers, after decoding, on
float images in ``[0, 1]`` of shape ``(C, H, W)``; the workers' random
numbers follow from the fit's seed and the epoch, so a fit with
``random_state`` draws the same augmentations each time (and a resumed fit
those of the uninterrupted one).
"""

from __future__ import annotations

#: The names ``augment`` takes, mildest first.
AUGMENTATIONS = ("shift", "flip", "trivial", "randaugment")

#: The largest shift of ``'shift'``, as a fraction of the image's larger side.
MAX_SHIFT = 0.125


def shift_padding(image_size: tuple[int, int]) -> int:
    """Pixels of the largest shift for images of ``(height, width)``: at least one."""
    return max(1, round(MAX_SHIFT * max(image_size)))


def build_augmentation(name: str, image_size: tuple[int, int]):
    """The torchvision v2 transform ``augment=name`` applies to images of ``image_size``.

    Raises
    ------
    ImportError
        Without torchvision, naming the extra to install.
    """
    try:
        from torchvision.transforms import v2
    except ImportError as error:  # an optional dependency
        raise ImportError(
            f"augment={name!r} uses torchvision's transforms v2; install them with "
            "pip install 'imbtorch[vision]' (torchvision matching your torch)."
        ) from error
    steps = [
        v2.RandomCrop(tuple(image_size), padding=shift_padding(image_size), padding_mode="edge")
    ]
    if name != "shift":
        steps.append(v2.RandomHorizontalFlip())
    if name == "trivial":
        steps.append(v2.TrivialAugmentWide())
    elif name == "randaugment":
        steps.append(v2.RandAugment())
    return v2.Compose(steps)


def describe_augmentation(name: str, image_size: tuple[int, int]) -> str:
    """``augment=name`` in words, for the plan of a fit."""
    pad = shift_padding(image_size)
    text = f"random shifts of up to {pad} pixel{'s' if pad > 1 else ''}"
    if name != "shift":
        text += ", horizontal flips"
    if name == "trivial":
        text += ", TrivialAugment"
    elif name == "randaugment":
        text += ", RandAugment"
    return text


def build_strong_augmentation(weak):
    """FixMatch's strong view (Sohn et al. 2020): ``weak``, then RandAugment (two operations of
    strength 9) and one erased patch of up to a quarter of the image (Cutout), grey.

    Parameters
    ----------
    weak : callable
        The weak view's transform (the training transform).
    """
    from torchvision.transforms import v2  # the weak view built with it: installed

    erase = v2.RandomErasing(p=1.0, scale=(0.02, 0.25), value=0.5)
    return v2.Compose([weak, v2.RandAugment(), erase])


#: :func:`build_strong_augmentation` in words, for the plan of a fit.
STRONG_TEXT = "the weak view, RandAugment (2 operations of strength 9) and one erased patch"
