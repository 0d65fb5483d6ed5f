"""Losses for multi-label imbalance: one sigmoid per label, each with its own frequency.

Every loss here is a sum, per label, of a positive term (the label is
present) and a negative term (it is absent), averaged over the labels of a
sample. Targets are 0/1, or soft (mixup), since a loss linear in the target
mixes as the labels do. ``pos_weight`` (``class_weight`` of the estimator)
multiplies the positive terms, as in :class:`torch.nn.BCEWithLogitsLoss`, so
that plain :class:`BinaryCrossEntropyLoss` with ``reduction='mean'`` equals
``BCEWithLogitsLoss(pos_weight=...)``. Sample weights, OHEM and mixed batches
work as for the single-label losses (:class:`~imbtorch.losses.WeightedLoss`):
a sample's loss is the mean of its labels' losses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .single_label import WeightedLoss

__all__ = [
    "AsymmetricLoss",
    "BinaryCrossEntropyLoss",
    "DistributionBalancedLoss",
    "LabelLogitAdjustedLoss",
    "MultiLabelLoss",
    "SigmoidFocalLoss",
    "label_log_odds",
]


def label_log_odds(label_counts: Sequence[float], n_samples: int) -> torch.Tensor:
    """``log(p / (1 - p))`` of each label's training frequency ``p = n_l / n``, float32.

    Frequencies are kept within ``[0.5 / n, 1 - 0.5 / n]``, so that a label that
    no sample (or every sample) carries gets a finite value.

    Parameters
    ----------
    label_counts : sequence of float of length n_labels
        Training samples that carry each label.
    n_samples : int
        Training samples.

    Returns
    -------
    Tensor of shape (n_labels,)
    """
    counts = np.asarray(label_counts, dtype=np.float64)
    p = np.clip(counts / n_samples, 0.5 / n_samples, 1.0 - 0.5 / n_samples)
    return torch.as_tensor(np.log(p / (1.0 - p)), dtype=torch.float32)


class MultiLabelLoss(WeightedLoss):
    """Base class: positive and negative terms per label, ``pos_weight``, a mean over labels.

    Parameters
    ----------
    pos_weight : sequence of float of length n_labels, default=None
        Factor of each label's positive term (``n_neg / n_pos`` balances a label).
    reduction, ohem_ratio
        As in :class:`~imbtorch.losses.WeightedLoss`, with a sample's loss the
        mean of its labels' losses.
    """

    def __init__(
        self,
        pos_weight: Sequence[float] | torch.Tensor | None = None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(weight=None, reduction=reduction, ohem_ratio=ohem_ratio)
        pos_weight = None if pos_weight is None else torch.as_tensor(pos_weight).float()
        self.register_buffer("pos_weight", pos_weight)

    def terms(self, logits: torch.Tensor, target: torch.Tensor) -> tuple:
        """The positive and negative losses of every label, each of shape ``(N, n_labels)``.

        Parameters
        ----------
        logits : Tensor of shape (N, n_labels)
        target : Tensor of shape (N, n_labels)
            0/1 (or mixed, in between) targets.

        Returns
        -------
        positive, negative : Tensor of shape (N, n_labels)
        """
        raise NotImplementedError

    def label_weight(self, target: torch.Tensor) -> torch.Tensor | None:
        """A weight per sample and label on both terms, or None (all ones).

        Parameters
        ----------
        target : Tensor of shape (N, n_labels)

        Returns
        -------
        Tensor of shape (N, n_labels) or None
        """
        return None

    def per_sample(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.shape != logits.shape:
            raise ValueError(
                f"A multi-label loss needs a 0/1 target per label, of the logits' shape "
                f"{tuple(logits.shape)}; got targets of shape {tuple(target.shape)}."
            )
        target = target.to(logits.dtype)
        positive, negative = self.terms(logits, target)
        if self.pos_weight is not None:
            positive = positive * self.pos_weight.to(logits.dtype)
        losses = target * positive + (1.0 - target) * negative
        weight = self.label_weight(target)
        if weight is not None:
            losses = losses * weight
        return losses.mean(dim=1)


class BinaryCrossEntropyLoss(MultiLabelLoss):
    """Binary cross-entropy of each label's sigmoid (``BCEWithLogitsLoss``).

    Parameters
    ----------
    pos_weight, reduction, ohem_ratio
        As in :class:`~imbtorch.losses.MultiLabelLoss`.
    """

    def terms(self, logits, target):
        return F.softplus(-logits), F.softplus(logits)


class SigmoidFocalLoss(MultiLabelLoss):
    """Sigmoid focal loss (Lin et al., ICCV 2017), per label.

    ``-alpha (1 - p) ** gamma log(p)`` for a present label and
    ``-(1 - alpha) p ** gamma log(1 - p)`` for an absent one; ``gamma=0`` and
    ``alpha=None`` give binary cross-entropy.

    Parameters
    ----------
    gamma : float, default=2.0
    alpha : float in [0, 1] or sequence of them (one per label), default=None
        Factor of the positive term (``1 - alpha`` of the negative); the
        paper's detector uses 0.25. ``None`` weighs both terms 1.
    pos_weight, reduction, ohem_ratio
        As in :class:`MultiLabelLoss`.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        pos_weight=None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(pos_weight=pos_weight, reduction=reduction, ohem_ratio=ohem_ratio)
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0; got {gamma!r}.")
        if alpha is not None and not np.all((np.asarray(alpha) >= 0) & (np.asarray(alpha) <= 1)):
            raise ValueError(f"alpha must be in [0, 1] (per label); got {alpha!r}.")
        self.gamma = float(gamma)
        alpha = None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32)
        self.register_buffer("alpha", alpha)

    def terms(self, logits, target):
        p = torch.sigmoid(logits)
        positive = (1.0 - p) ** self.gamma * F.softplus(-logits)
        negative = p**self.gamma * F.softplus(logits)
        if self.alpha is not None:
            alpha = self.alpha.to(logits.dtype)
            positive, negative = alpha * positive, (1.0 - alpha) * negative
        return positive, negative


class AsymmetricLoss(MultiLabelLoss):
    """Asymmetric loss (Ridnik et al., "Asymmetric Loss For Multi-Label
    Classification", ICCV 2021).

    ``L+ = (1 - p) ** gamma_pos * -log(p)`` and
    ``L- = p_m ** gamma_neg * -log(1 - p_m)`` with the shifted probability
    ``p_m = max(p - clip, 0)``: easy negatives, the bulk of a long-tailed
    multi-label set, are down-weighted harder than positives, and the very
    easy ones (``p < clip``) discarded. ``gamma_neg=gamma_pos=clip=0`` is
    binary cross-entropy.

    Parameters
    ----------
    gamma_neg : float, default=4.0
    gamma_pos : float, default=0.0
        The paper's defaults (its ablations also use ``gamma_pos=1``).
    clip : float in [0, 1), default=0.05
        Probability margin ``m``.
    pos_weight, reduction, ohem_ratio
        As in :class:`MultiLabelLoss`.
    """

    def __init__(
        self,
        gamma_neg: float = 4.0,
        gamma_pos: float = 0.0,
        clip: float = 0.05,
        pos_weight=None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(pos_weight=pos_weight, reduction=reduction, ohem_ratio=ohem_ratio)
        if gamma_neg < 0 or gamma_pos < 0 or not 0.0 <= clip < 1.0:
            raise ValueError(
                "gamma_neg and gamma_pos must be >= 0 and clip in [0, 1); got "
                f"{gamma_neg!r}, {gamma_pos!r}, {clip!r}."
            )
        self.gamma_neg, self.gamma_pos, self.clip = float(gamma_neg), float(gamma_pos), float(clip)

    def terms(self, logits, target):
        p = torch.sigmoid(logits)
        positive = (1.0 - p) ** self.gamma_pos * F.softplus(-logits)
        if self.clip == 0.0:
            return positive, p**self.gamma_neg * F.softplus(logits)
        shifted = (p - self.clip).clamp_min(0.0)
        tiny = torch.finfo(logits.dtype).tiny
        negative = shifted**self.gamma_neg * -torch.log((1.0 - shifted).clamp_min(tiny))
        return positive, negative


class LabelLogitAdjustedLoss(MultiLabelLoss):
    """Binary cross-entropy of ``logits + tau * log(p / (1 - p))``, per label.

    Logit adjustment (Menon et al., ICLR 2021) for each label's two classes,
    present and absent, with the label's training frequency ``p``: the raw
    logits, which predictions use, are pushed up for rare labels by their
    log-odds. ``tau=0`` is binary cross-entropy.

    Parameters
    ----------
    label_counts : sequence of float of length n_labels
        Training samples that carry each label.
    n_samples : int
        Training samples.
    tau : float, default=1.0
    pos_weight, reduction, ohem_ratio
        As in :class:`MultiLabelLoss`.
    """

    def __init__(
        self,
        label_counts,
        n_samples: int,
        tau: float = 1.0,
        pos_weight=None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(pos_weight=pos_weight, reduction=reduction, ohem_ratio=ohem_ratio)
        self.tau = float(tau)
        self.register_buffer("log_odds", label_log_odds(label_counts, n_samples))

    def terms(self, logits, target):
        adjusted = logits + self.tau * self.log_odds.to(logits.dtype)
        return F.softplus(-adjusted), F.softplus(adjusted)


class DistributionBalancedLoss(MultiLabelLoss):
    """Distribution-balanced loss (Wu et al., "Distribution-Balanced Loss for
    Multi-Label Classification in Long-Tailed Datasets", ECCV 2020).

    **Re-balanced weighting.** Label ``l`` of a sample whose labels are ``L``
    gets ``r = (1 / n_l) / sum_{k in L} 1 / n_k`` (how much more often
    class-aware sampling would draw the sample for ``l`` than its labels draw
    it), smoothed to ``alpha + sigmoid(beta * (r - mu))`` on both terms. A
    sample without labels, which class-aware sampling never draws, gets
    ``r = 1``.

    **Negative-tolerant regularisation.** With the label's bias
    ``nu = kappa * log(p / (1 - p)) / lambda``, the positive term is
    ``-log(sigmoid(z + nu))`` and the negative term
    ``log(1 + exp(lambda * (z + nu))) / lambda``: a steeper, smaller loss on
    negatives, so that the many negatives of a rare label do not suppress it.
    The constants are the authors' code's (``alpha=0.1, beta=10, mu=0.2,
    lambda=2, kappa=0.05``; the bias is divided by ``lambda`` as there).

    Parameters
    ----------
    label_counts : sequence of float of length n_labels
    n_samples : int
    alpha, beta, mu : float
        Smoothing of the re-balancing weight.
    neg_scale : float, default=2.0
        ``lambda``.
    init_bias : float, default=0.05
        ``kappa``.
    pos_weight, reduction, ohem_ratio
        As in :class:`MultiLabelLoss`.
    """

    def __init__(
        self,
        label_counts,
        n_samples: int,
        alpha: float = 0.1,
        beta: float = 10.0,
        mu: float = 0.2,
        neg_scale: float = 2.0,
        init_bias: float = 0.05,
        pos_weight=None,
        reduction: str = "mean",
        ohem_ratio: float | None = None,
    ) -> None:
        super().__init__(pos_weight=pos_weight, reduction=reduction, ohem_ratio=ohem_ratio)
        if neg_scale <= 0:
            raise ValueError(f"neg_scale must be > 0; got {neg_scale!r}.")
        self.alpha, self.beta, self.mu = float(alpha), float(beta), float(mu)
        self.neg_scale = float(neg_scale)
        counts = torch.as_tensor(np.maximum(np.asarray(label_counts, dtype=np.float64), 1.0))
        self.register_buffer("inverse_frequency", (1.0 / counts).float())
        bias = init_bias * label_log_odds(label_counts, n_samples) / self.neg_scale
        self.register_buffer("bias", bias)

    def label_weight(self, target):
        inverse = self.inverse_frequency.to(target.dtype)
        repeat = (target * inverse).sum(dim=1, keepdim=True)
        ratio = torch.where(repeat > 0, inverse / repeat.clamp_min(1e-12), torch.ones_like(target))
        return self.alpha + torch.sigmoid(self.beta * (ratio - self.mu))

    def terms(self, logits, target):
        shifted = logits + self.bias.to(logits.dtype)
        return F.softplus(-shifted), F.softplus(self.neg_scale * shifted) / self.neg_scale
