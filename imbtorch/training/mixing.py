"""Mixed training batches: mixup, CutMix, UniMix, and Remix's labels re-balanced toward the tail.

- mixup (Zhang et al., ICLR 2018): ``x = lam * x_i + (1 - lam) * x_j`` with
  ``lam ~ Beta(alpha, alpha)``, one ``lam`` per batch and ``j`` a permutation
  of the batch; the loss counts the sample ``lam`` times as ``y_i`` and
  ``1 - lam`` times as ``y_j``.
- CutMix (Yun et al., ICCV 2019): a box of ``x_j`` is pasted into ``x_i``;
  ``lam`` becomes the share of ``x_i``'s pixels left.
- UniMix (Xu et al., NeurIPS 2021): each sample ``i`` is mixed with a partner
  ``j`` drawn from the batch, with replacement, with probability
  proportional to ``n(y_j) ** -0.5`` (so the tail's images are drawn more
  often), in a share of its own
  ``lam_i = (n(y_j) / (n(y_i) + n(y_j)) + s) mod 1``, ``s ~ Beta(alpha,
  alpha)``, one per sample, as the authors' code draws it. Beta(0.8, 0.8)
  (the paper's alpha) puts ``s`` most often near 0 or 1, which the modulo
  maps to the same point: the shares gather, mildly, around
  ``n(y_j) / (n(y_i) + n(y_j))`` on a circle. Two images of equally
  frequent classes mix near half and half; an image paired with a far
  rarer or far more frequent class is mostly left nearly whole or nearly
  replaced. With alpha 1 the share is uniform whatever the classes.
- Remix (Chou et al., ECCV 2020 workshops): the images mix as above, but the
  label share moves to the rarer class: with ``kappa=3`` and ``tau=0.5``, if
  ``n(y_i) / n(y_j) >= kappa`` and ``lam < tau`` the sample counts as ``y_j``
  alone; if ``n(y_i) / n(y_j) <= 1 / kappa`` and ``1 - lam < tau``, as ``y_i``
  alone; otherwise with ``lam``.

The draws come from torch's RNG (the CPU's for ``lam``, UniMix's ``s`` and
the box; the device's for the permutation and UniMix's partners), which a
seeded, resumed or distributed fit handles as it does dropout.
:class:`~imbtorch.losses.WeightedLoss` takes the result as ``mixed_with``, so
mixing works with every loss, class weights, sample weights and sampler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

MIXUP_MODES = ("mixup", "cutmix", "unimix")
UNIMIX_TAU = -0.5  # exponent of the class count in UniMix's draw of partners
#: The Beta parameter each mode's paper trains with (``mixup_alpha=None``).
PAPER_ALPHA = {"mixup": 1.0, "cutmix": 1.0, "unimix": 0.8}
REMIX_KAPPA = 3.0
REMIX_TAU = 0.5


@dataclass
class MixedBatch:
    """A mixed batch: the images, and which sample each was mixed with in what share."""

    images: torch.Tensor
    partner: torch.Tensor  # index in the batch of the sample mixed in, shape (N,)
    share: torch.Tensor  # share of each sample's own label, shape (N,)


def _box(height: int, width: int, lam: float) -> tuple[int, int, int, int]:
    """A random box covering about ``1 - lam`` of the image (clipped at its edges)."""
    cut = np.sqrt(1.0 - lam)
    box_h, box_w = int(height * cut), int(width * cut)
    cy = int(torch.randint(height, (1,)).item())
    cx = int(torch.randint(width, (1,)).item())
    top, bottom = np.clip([cy - box_h // 2, cy + box_h // 2], 0, height)
    left, right = np.clip([cx - box_w // 2, cx + box_w // 2], 0, width)
    return int(top), int(bottom), int(left), int(right)


def remix_share(
    lam: float | torch.Tensor, counts_own: torch.Tensor, counts_partner: torch.Tensor
) -> torch.Tensor:
    """Remix's share of each sample's own label (see the module docstring); ``lam`` is
    the batch's share or one per sample."""
    ratio = counts_own / counts_partner
    share = torch.as_tensor(lam, dtype=ratio.dtype, device=ratio.device).expand_as(ratio).clone()
    share[(ratio >= REMIX_KAPPA) & (lam < REMIX_TAU)] = 0.0
    share[(ratio <= 1.0 / REMIX_KAPPA) & (1.0 - lam < REMIX_TAU)] = 1.0
    return share


def unimix_pairs(counts_own: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """UniMix's partners and shares for a batch whose samples' classes have
    ``counts_own`` training samples each (see the module docstring)."""
    partner = torch.multinomial(counts_own**UNIMIX_TAU, len(counts_own), replacement=True)
    counts_partner = counts_own[partner]
    centre = counts_partner / (counts_own + counts_partner)
    spread = torch.distributions.Beta(alpha, alpha).sample((len(counts_own),))
    return partner, torch.remainder(centre + spread.to(centre.device), 1.0)


def mix_batch(
    images: torch.Tensor,
    codes: torch.Tensor,
    *,
    mode: str,
    alpha: float,
    class_counts: torch.Tensor | None = None,
    remix: bool = False,
) -> MixedBatch:
    """Mix a batch of images ``(N, C, H, W)`` with partners from the same batch.

    Parameters
    ----------
    images : Tensor of shape (N, C, H, W)
    codes : Tensor of shape (N,)
        Class codes of the images.
    mode : {'mixup', 'cutmix', 'unimix'}
        ``'mixup'`` and ``'cutmix'`` pair the batch with a permutation of
        itself; ``'unimix'`` draws the partners and the shares by class.
    alpha : float > 0
        Parameter of the Beta distribution of ``lam``.
    class_counts : Tensor of shape (n_classes,), default=None
        Training samples per class; needed by ``'unimix'`` and ``remix``, and
        moved to the images' device only for them.
    remix : bool, default=False
        Re-balance the label shares toward the rarer class (Remix).
    """
    counts = None
    if remix or mode == "unimix":
        if class_counts is None:
            raise ValueError(f"mode={mode!r} with remix={remix} needs the class counts.")
        counts = class_counts.to(images.device, torch.float32)
    codes = codes.to(images.device)
    if mode == "unimix":
        partner, lam = unimix_pairs(counts[codes], alpha)
        own = lam.view(-1, *([1] * (images.ndim - 1))).to(images.dtype)
        mixed = own * images + (1.0 - own) * images[partner]
    else:
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        partner = torch.randperm(len(images), device=images.device)
        if mode == "mixup":
            mixed = lam * images + (1.0 - lam) * images[partner]
        else:
            top, bottom, left, right = _box(images.shape[-2], images.shape[-1], lam)
            mixed = images.clone()
            mixed[..., top:bottom, left:right] = images[partner][..., top:bottom, left:right]
            lam = 1.0 - (bottom - top) * (right - left) / (images.shape[-2] * images.shape[-1])
    if remix:
        share = remix_share(lam, counts[codes], counts[codes[partner]])
    else:
        share = torch.as_tensor(lam, dtype=torch.float32, device=images.device)
        share = share.expand(len(images)).clone()
    return MixedBatch(mixed, partner, share)
