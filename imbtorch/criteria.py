"""Build the training loss from the estimator's settings and the class counts."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from numbers import Real

import numpy as np
from torch import nn

from .class_weights import weights_from_mapping
from .losses import (
    BalancedSoftmaxLoss,
    CrossEntropyLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
)

LOSS_NAMES = ("ce", "focal", "ldam", "logit_adjusted", "balanced_softmax")


def focal_alpha_factors(alpha, classes: np.ndarray):
    """``focal_alpha`` as the focal loss takes it: None, a float (two classes) or one per class.

    Parameters
    ----------
    alpha : None, float, array-like or dict
        A float is the factor of ``classes[1]`` in a two-class problem; a
        sequence gives one factor per class in ``classes`` order; a dict maps
        labels to factors (others get 1).
    classes : ndarray of shape (n_classes,)
    """
    n_classes = len(classes)
    if alpha is None:
        return None
    if isinstance(alpha, Mapping):
        return weights_from_mapping(alpha, classes, name="focal_alpha")
    if isinstance(alpha, Real):
        if n_classes != 2:
            raise ValueError(
                f"A scalar focal_alpha is defined for two classes, but y has {n_classes}. "
                "Pass one factor per class (a list in classes_ order or a dict "
                "{label: factor})."
            )
        return float(alpha)
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha.shape != (n_classes,) or not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
        raise ValueError(
            f"focal_alpha as a sequence needs {n_classes} finite non-negative factors, one "
            f"per class in classes_ order {classes.tolist()!r}; got {alpha.tolist()!r}."
        )
    return alpha


def make_criterion(
    loss: str,
    *,
    class_counts: np.ndarray,
    weight: np.ndarray,
    focal_gamma: float,
    focal_alpha,
    ldam_max_margin: float,
    ldam_scale: float,
    logit_adjust_tau: float,
    **kwargs,
) -> nn.Module:
    """The loss module named ``loss`` (:data:`LOSS_NAMES`) with class ``weight``.

    ``class_counts`` set the priors of the long-tail losses (LDAM margins,
    logit adjustment, balanced softmax); ``kwargs`` (``ohem_ratio``,
    ``criterion__*``) go to the loss.
    """
    if loss == "focal":
        kwargs.update(gamma=focal_gamma, alpha=focal_alpha)
    losses = {
        "ce": CrossEntropyLoss,
        "focal": FocalLoss,
        "ldam": partial(LDAMLoss, class_counts, max_margin=ldam_max_margin, scale=ldam_scale),
        "logit_adjusted": partial(LogitAdjustedLoss, class_counts, tau=logit_adjust_tau),
        "balanced_softmax": partial(BalancedSoftmaxLoss, class_counts),
    }
    return losses[loss](weight=weight, **kwargs)
