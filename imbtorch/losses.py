"""Classification losses for imbalanced data, each reducing like torch's weighted CE.

Every loss here computes one value per sample, multiplies it by the weight of
the sample's class (``weight``) and by an optional ``sample_weight``, and for
``reduction='mean'`` divides by the sum of those weights, as
:func:`torch.nn.functional.cross_entropy` does with ``weight``. A batch whose
weights are all zero gives a loss of zero, not NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REDUCTIONS = ("mean", "sum", "none")


def _as_weight_tensor(values: Sequence[float] | torch.Tensor | None) -> torch.Tensor | None:
    if values is None:
        return None
    return torch.as_tensor(values, dtype=torch.float32).detach().clone()


class WeightedLoss(nn.Module):
    """Base class: per-sample loss, class and sample weights, torch-style reduction.

    Parameters
    ----------
    weight : sequence of float of length n_classes, default=None
        Weight of each class.
    reduction : {'mean', 'sum', 'none'}, default='mean'
        ``'mean'`` divides the weighted sum by the sum of the weights.
    """

    def __init__(
        self,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}.")
        self.reduction = reduction
        self.register_buffer("weight", _as_weight_tensor(weight))

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unweighted loss of each sample, shape ``(N,)``."""
        raise NotImplementedError

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        sample_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        losses = self.per_sample(logits, target)
        weights = None if self.weight is None else self.weight[target]
        if sample_weight is not None:
            sample_weight = sample_weight.to(losses.dtype)
            weights = sample_weight if weights is None else weights * sample_weight
        if weights is None:
            weights = torch.ones_like(losses)
        weighted = losses * weights
        if self.reduction == "none":
            return weighted
        if self.reduction == "sum":
            return weighted.sum()
        return weighted.sum() / weights.sum().clamp_min(torch.finfo(weights.dtype).tiny)


class CrossEntropyLoss(WeightedLoss):
    """Cross-entropy on logits; with ``weight`` it equals torch's weighted CE."""

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
    reduction : {'mean', 'sum', 'none'}, default='mean'
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
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
        super().__init__(weight=weight_t, reduction=reduction)
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
