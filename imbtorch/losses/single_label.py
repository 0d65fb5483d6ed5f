"""Classification losses for imbalanced data, each reducing like torch's weighted CE.

Every loss here computes one value per sample, multiplies it by the weight of
the sample's class (``weight``) and by an optional ``sample_weight``, and for
``reduction='mean'`` divides by the sum of those weights, as
:func:`torch.nn.functional.cross_entropy` does with ``weight``. A batch whose
weights are all zero gives a loss of zero, not NaN. Any of them can keep only
the hardest samples of each batch (OHEM, ``ohem_ratio``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REDUCTIONS = ("mean", "sum", "none")


def _as_weight_tensor(values: Sequence[float] | torch.Tensor | None) -> torch.Tensor | None:
    if values is None:
        return None
    return torch.as_tensor(values, dtype=torch.float32).detach().clone()


def _class_counts_tensor(class_counts: Sequence[float] | torch.Tensor) -> torch.Tensor:
    counts = _as_weight_tensor(class_counts)
    if counts.ndim != 1 or torch.any(counts <= 0):
        raise ValueError(
            "class_counts must be a 1-D sequence of positive per-class sample counts; "
            f"got {class_counts!r}."
        )
    return counts


def log_prior(class_counts: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """``log(n_c / n)``: the log of the training class prior, float32.

    Parameters
    ----------
    class_counts : sequence of float of length n_classes
        Training samples of each class.
    """
    counts = _class_counts_tensor(class_counts)
    return torch.log(counts / counts.sum())


class WeightedLoss(nn.Module):
    """Base class: per-sample loss, class and sample weights, torch-style reduction.

    Parameters
    ----------
    weight : sequence of float of length n_classes, default=None
        Weight of each class.
    reduction : {'mean', 'sum', 'none'}, default='mean'
        ``'mean'`` divides the weighted sum by the sum of the weights.
    ohem_ratio : float in (0, 1], default=None
        Online hard example mining (Shrivastava et al., CVPR 2016): keep only
        the ``ceil(ohem_ratio * batch_size)`` samples with the largest weighted
        loss of each batch; the others get weight 0. ``None`` keeps all.
    """

    def __init__(
        self,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}.")
        if ohem_ratio is not None and not 0.0 < ohem_ratio <= 1.0:
            raise ValueError(f"ohem_ratio must be in (0, 1] or None; got {ohem_ratio!r}.")
        self.reduction = reduction
        self.ohem_ratio = ohem_ratio
        self.register_buffer("weight", _as_weight_tensor(weight))
        #: 0/1 per class: only the losses of these classes count (their share of the
        #: batch's loss, the weights of all classes in the denominator); see
        #: :func:`counting_classes`. ``None`` counts every class.
        self.class_mask: torch.Tensor | None = None

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unweighted loss of each sample, shape ``(N,)``.

        Parameters
        ----------
        logits : Tensor of shape (N, n_classes)
        target : Tensor of shape (N,) or (N, n_classes)
            Class indices, or soft targets (mixed batches).
        """
        raise NotImplementedError

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
        mixed_with: tuple | None = None,
    ) -> torch.Tensor:
        """The loss of a batch.

        Parameters
        ----------
        logits : Tensor of shape (N, n_classes)
        target : Tensor of shape (N,)
        sample_weight : Tensor of shape (N,), default=None
        mixed_with : (target_b, share, sample_weight_b), default=None
            Mixed samples (mixup, CutMix): sample ``i`` counts ``share[i]``
            times as ``target[i]`` and ``1 - share[i]`` times as
            ``target_b[i]``, each part with its class weight and sample
            weight (``sample_weight_b`` may be None). ``'mean'`` divides by
            the sum of all parts' weights.
        """
        parts = [(target, None, sample_weight)]
        if mixed_with is not None:
            target_b, share, sample_weight_b = mixed_with
            parts = [(target, share, sample_weight), (target_b, 1.0 - share, sample_weight_b)]
        weighted, counted, weights = 0.0, 0.0, 0.0
        for part_target, share, part_sample_weight in parts:
            losses = self.per_sample(logits, part_target)
            part = torch.ones_like(losses) if self.weight is None else self.weight[part_target]
            if part_sample_weight is not None:
                part = part * part_sample_weight.to(losses.dtype)
            if share is not None:
                part = part * share.to(losses.dtype)
            weighted = weighted + losses * part
            if self.class_mask is not None:
                counted = counted + losses * part * self.class_mask[part_target].to(losses.dtype)
            weights = weights + part
        if self.ohem_ratio is not None:  # the hardest of all samples, whichever classes count
            mask = self._hardest_mask(weighted)
            weighted, weights = weighted * mask, weights * mask
            counted = counted * mask
        if self.class_mask is not None:
            weighted = counted
        if self.reduction == "none":
            return weighted
        if self.reduction == "sum":
            return weighted.sum()
        return weighted.sum() / weights.sum().clamp_min(torch.finfo(weights.dtype).tiny)

    def _hardest_mask(self, weighted_losses: torch.Tensor) -> torch.Tensor:
        """1 for the ``ceil(ohem_ratio * N)`` largest losses of the batch, else 0."""
        n_keep = max(1, int(np.ceil(self.ohem_ratio * weighted_losses.numel())))
        mask = torch.zeros_like(weighted_losses)
        mask[weighted_losses.detach().topk(n_keep).indices] = 1.0
        return mask


@contextmanager
def counting_classes(criterion: WeightedLoss, class_mask: torch.Tensor):
    """Within the block, ``criterion`` counts only the losses of the classes in ``class_mask``.

    The parts of the classes add up to the whole: for any split of the
    classes, the losses with each part's mask sum to the unmasked loss
    (ImbSAM takes the tail's part at perturbed weights, the head's at the
    weights themselves).
    """
    criterion.class_mask = class_mask
    try:
        yield criterion
    finally:
        criterion.class_mask = None


class CrossEntropyLoss(WeightedLoss):
    """Cross-entropy on logits; with ``weight`` it equals torch's weighted CE.

    Parameters
    ----------
    weight, reduction, ohem_ratio
        As in :class:`~imbtorch.losses.WeightedLoss`.
    """

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target, reduction="none")


class FocalLoss(WeightedLoss):
    """Softmax focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017).

    ``FL(p_t) = -alpha_t (1 - p_t) ** gamma * log(p_t)``, where ``p_t`` is the
    predicted probability of the true class. ``gamma=0`` and ``alpha=None`` give
    (weighted) cross-entropy exactly.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter (>= 0): larger values down-weight easy samples.
    alpha : float or sequence of float, default=None
        Class balancing factor. A float ``a`` is defined for two classes, as in
        the paper: ``a`` for class 1 and ``1 - a`` for class 0. A sequence gives
        one factor per class. It multiplies ``weight``.
    weight : sequence of float, default=None
        Per-class weights (e.g. from ``class_weight``), combined with ``alpha``.
    reduction, ohem_ratio
        As in :class:`WeightedLoss`.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0; got {gamma!r}.")
        if alpha is not None and np.ndim(alpha) == 0:
            if not 0.0 <= float(alpha) <= 1.0:
                raise ValueError(f"A scalar alpha must be in [0, 1]; got {alpha!r}.")
            alpha = [1.0 - float(alpha), float(alpha)]
        alpha_t = _as_weight_tensor(alpha)
        weight_t = _as_weight_tensor(weight)
        if alpha_t is not None and weight_t is not None:
            if alpha_t.shape != weight_t.shape:
                raise ValueError(
                    f"alpha has {alpha_t.numel()} entries but weight has {weight_t.numel()}; "
                    "both need one entry per class."
                )
            weight_t = weight_t * alpha_t
        elif alpha_t is not None:
            weight_t = alpha_t
        super().__init__(weight=weight_t, reduction=reduction, ohem_ratio=ohem_ratio)
        self.gamma = float(gamma)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.weight is not None and self.weight.numel() != logits.shape[1]:
            raise ValueError(
                f"FocalLoss has {self.weight.numel()} class weights (alpha/weight) but the "
                f"logits have {logits.shape[1]} classes; a scalar alpha needs exactly 2 classes."
            )
        log_p = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        if self.gamma == 0.0:
            return -log_p
        p = log_p.exp()
        return -((1.0 - p).clamp_min(0.0) ** self.gamma) * log_p


class LogitAdjustedLoss(WeightedLoss):
    """Logit-adjusted cross-entropy (Menon et al., "Long-tail learning via logit
    adjustment", ICLR 2021).

    Trains on ``logits + tau * log(prior)`` with the class prior
    ``prior_c = n_c / n``, which pushes the raw logits to favour tail classes
    by their Fisher-consistent margin; predictions use the raw logits.
    ``tau=0`` is plain cross-entropy.

    Parameters
    ----------
    class_counts : sequence of float of length n_classes
        Training samples per class.
    tau : float, default=1.0
        Scale of the adjustment.
    weight, reduction, ohem_ratio
        As in :class:`WeightedLoss`.
    """

    def __init__(
        self,
        class_counts: Sequence[float] | torch.Tensor,
        tau: float = 1.0,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(weight=weight, reduction=reduction, ohem_ratio=ohem_ratio)
        self.tau = float(tau)
        self.register_buffer("log_prior", log_prior(class_counts))

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        adjusted = logits + self.tau * self.log_prior.to(logits.dtype)
        return F.cross_entropy(adjusted, target, reduction="none")


class VSLoss(LogitAdjustedLoss):
    """Vector-scaling loss (Kini et al., "Label-Imbalanced and Group-Sensitive
    Classification under Overparameterization", NeurIPS 2021).

    Trains on ``(n_c / n_max) ** gamma * logits_c + tau * log(prior_c)``: a
    multiplicative scale that shrinks the logits of rare classes, so that
    training pushes their margins wider (as class-dependent temperatures
    do), plus the additive logit adjustment of :class:`LogitAdjustedLoss`.
    Predictions use the raw logits. ``gamma=0`` is :class:`LogitAdjustedLoss`;
    ``tau=0`` keeps only the multiplicative part. The paper's code uses
    ``gamma`` in 0.05-0.3 with ``tau`` about 1.

    Parameters
    ----------
    class_counts : sequence of float of length n_classes
        Training samples per class.
    gamma : float >= 0, default=0.2
        Power of the multiplicative scale.
    tau : float, default=1.0
        Scale of the additive adjustment.
    weight, reduction, ohem_ratio
        As in :class:`WeightedLoss`.
    """

    def __init__(
        self,
        class_counts: Sequence[float] | torch.Tensor,
        gamma: float = 0.2,
        tau: float = 1.0,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(
            class_counts, tau=tau, weight=weight, reduction=reduction, ohem_ratio=ohem_ratio
        )
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0; got {gamma!r}.")
        self.gamma = float(gamma)
        counts = _class_counts_tensor(class_counts)
        self.register_buffer("logit_scale", (counts / counts.max()) ** self.gamma)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return super().per_sample(logits * self.logit_scale.to(logits.dtype), target)


class BalancedSoftmaxLoss(LogitAdjustedLoss):
    """Balanced softmax (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual
    Recognition", NeurIPS 2020).

    Cross-entropy of ``softmax(logits + log n_c)``: the softmax of the training
    (long-tailed) label distribution, so that the raw logits model the balanced
    one. For single-label softmax this is :class:`LogitAdjustedLoss` with
    ``tau=1`` (``log n_c`` and ``log prior_c`` differ by a constant).

    Parameters
    ----------
    class_counts : sequence of float of length n_classes
        Training samples of each class.
    weight, reduction, ohem_ratio
        As in :class:`~imbtorch.losses.WeightedLoss`.
    """

    def __init__(
        self,
        class_counts: Sequence[float] | torch.Tensor,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(
            class_counts, tau=1.0, weight=weight, reduction=reduction, ohem_ratio=ohem_ratio
        )


class LDAMLoss(WeightedLoss):
    """Label-distribution-aware margin loss (Cao et al., "Learning Imbalanced Datasets
    with Label-Distribution-Aware Margin Loss", NeurIPS 2019).

    Subtracts a margin ``m_c = C / n_c ** (1/4)`` from the true-class logit,
    with ``C`` set so the largest margin (the rarest class) is ``max_margin``,
    and applies cross-entropy to ``scale`` times the result. The paper pairs it
    with a cosine (normalised) classifier, whose logits lie in [-1, 1], and
    ``scale=30``; with unnormalised logits use a scale near 1.

    Parameters
    ----------
    class_counts : sequence of float of length n_classes
        Training samples per class.
    max_margin : float, default=0.5
        Margin of the rarest class.
    scale : float, default=30.0
        Logit scale ``s``.
    weight, reduction, ohem_ratio
        As in :class:`WeightedLoss` (LDAM-DRW sets ``weight`` late in training).
    """

    def __init__(
        self,
        class_counts: Sequence[float] | torch.Tensor,
        max_margin: float = 0.5,
        scale: float = 30.0,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(weight=weight, reduction=reduction, ohem_ratio=ohem_ratio)
        if max_margin < 0 or scale <= 0:
            raise ValueError(
                f"max_margin must be >= 0 and scale > 0; got {max_margin!r} and {scale!r}."
            )
        margins = _class_counts_tensor(class_counts) ** -0.25
        self.register_buffer("margins", margins * (max_margin / margins.max()))
        self.scale = float(scale)

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        margin = self.margins.to(logits.dtype)[target]
        shifted = logits.scatter_add(1, target.unsqueeze(1), -margin.unsqueeze(1))
        return F.cross_entropy(self.scale * shifted, target, reduction="none")
