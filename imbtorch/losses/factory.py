"""Build the training loss from the estimator's settings and the class counts."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from numbers import Real

import numpy as np
from torch import nn

from .class_weights import compute_imbalance_weights, label_pos_weights, weights_from_mapping
from .multilabel import (
    AsymmetricLoss,
    BinaryCrossEntropyLoss,
    DistributionBalancedLoss,
    LabelLogitAdjustedLoss,
    SigmoidFocalLoss,
)
from .single_label import (
    BalancedSoftmaxLoss,
    CrossEntropyLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
)

#: Losses for one label per image.
SINGLE_LABEL_LOSSES = ("ce", "focal", "ldam", "logit_adjusted", "balanced_softmax", "vs")
#: Losses for a multi-label indicator ``y`` (``'ce'``: binary cross-entropy per label).
MULTILABEL_LOSSES = ("ce", "focal", "logit_adjusted", "asl", "distribution_balanced")
LOSS_NAMES = tuple(dict.fromkeys(SINGLE_LABEL_LOSSES + MULTILABEL_LOSSES))


def focal_alpha_factors(alpha, classes: np.ndarray, *, multilabel: bool = False):
    """``focal_alpha`` as the focal loss takes it: None, a float (two classes) or one per class.

    With ``multilabel``, a float is every label's positive factor (Lin et al.'s
    sigmoid form), and a sequence or dict gives one per label.

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
        if n_classes != 2 and not multilabel:
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


def loss_class_weight(
    class_weight, criterion_weight, *, classes: np.ndarray, y: np.ndarray, beta: float
) -> np.ndarray:
    """One weight per class for the loss: from ``class_weight``, or ``criterion__weight``.

    ``criterion__weight`` is the class weight vector in ``classes`` order
    (deferred re-weighting defers it as it defers ``class_weight``), so the
    two cannot be given together. For a multi-label indicator ``y`` these are
    the labels' positive weights (:func:`~imbtorch.losses.class_weights.label_pos_weights`).
    """
    if criterion_weight is None and y.ndim == 2:
        return label_pos_weights(class_weight, y=y, beta=beta)
    if criterion_weight is None:
        weight = compute_imbalance_weights(class_weight, classes=classes, y=y, beta=beta)
        return _check_two_classes_weigh(weight, classes, y, f"class_weight={class_weight!r}")
    if class_weight is not None:
        raise ValueError(
            f"criterion__weight and class_weight={class_weight!r} both set the loss's class "
            "weights; keep one of them (class_weight takes 'balanced', 'effective' or a dict "
            "{label: weight}; criterion__weight one weight per class in classes_ order)."
        )
    weight = np.asarray(criterion_weight, dtype=np.float64)
    if weight.shape != (len(classes),) or not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise ValueError(
            f"criterion__weight needs {len(classes)} finite non-negative weights, one per class "
            f"in classes_ order {classes.tolist()!r}; got {np.ravel(weight).tolist()!r}."
        )
    return _check_two_classes_weigh(weight, classes, y, "criterion__weight")


def _check_two_classes_weigh(weight: np.ndarray, classes: np.ndarray, y, setting: str):
    """Refuse class weights under which a single class of the training set counts."""
    present = np.isin(classes, y)
    weighing = classes[present & (weight > 0)]
    if present.sum() > 1 and len(weighing) < 2:
        raise ValueError(
            f"{setting} gives every class with training images but {weighing.tolist()!r} a "
            "weight of 0, so the loss would train one class at most; give at least two "
            "classes a positive weight (or drop the images of the classes weighed 0)."
        )
    return weight


def make_criterion(
    loss: str,
    *,
    settings: Mapping,
    classes: np.ndarray,
    class_counts: np.ndarray,
    weight: np.ndarray,
    overrides: dict,
    n_samples: int | None = None,
) -> nn.Module:
    """The loss module named ``loss`` (:data:`LOSS_NAMES`) with class ``weight``.

    ``class_counts`` set the priors of the long-tail losses (LDAM margins,
    logit adjustment, balanced softmax). ``settings`` are the estimator's
    parameters, of which the loss's own (``focal_gamma``, ``focal_alpha``,
    ``ldam_max_margin``, ``ldam_scale``, ``logit_adjust_tau``, ``vs_gamma``) and
    ``ohem_ratio`` are used. ``overrides``, its ``criterion__*`` parameters
    (``weight`` aside), win over them, for every loss.

    ``n_samples``, the number of training samples, is given for a multi-label
    ``y`` only: ``class_counts`` are then the samples that carry each label and
    ``weight`` the labels' positive weights (:data:`MULTILABEL_LOSSES`).
    """
    if n_samples is not None:
        return _multilabel_criterion(
            loss,
            settings=settings,
            classes=classes,
            label_counts=class_counts,
            n_samples=n_samples,
            pos_weight=weight,
            overrides=overrides,
        )
    named = {
        "ce": {},
        "focal": {
            "gamma": settings["focal_gamma"],
            "alpha": focal_alpha_factors(settings["focal_alpha"], classes),
        },
        "ldam": {"max_margin": settings["ldam_max_margin"], "scale": settings["ldam_scale"]},
        "logit_adjusted": {"tau": settings["logit_adjust_tau"]},
        "balanced_softmax": {},
        "vs": {"gamma": settings["vs_gamma"], "tau": settings["logit_adjust_tau"]},
    }[loss]
    kwargs = {"ohem_ratio": settings["ohem_ratio"], **named}
    kwargs.update((key, value) for key, value in overrides.items() if key != "weight")
    losses = {
        "ce": CrossEntropyLoss,
        "focal": FocalLoss,
        "ldam": partial(LDAMLoss, class_counts),
        "logit_adjusted": partial(LogitAdjustedLoss, class_counts),
        "balanced_softmax": partial(BalancedSoftmaxLoss, class_counts),
        "vs": partial(VSLoss, class_counts),
    }
    return losses[loss](weight=weight, **kwargs)


def _multilabel_criterion(
    loss: str,
    *,
    settings: Mapping,
    classes: np.ndarray,
    label_counts: np.ndarray,
    n_samples: int,
    pos_weight: np.ndarray,
    overrides: dict,
) -> nn.Module:
    alpha = focal_alpha_factors(settings["focal_alpha"], classes, multilabel=True)
    prior = {"label_counts": label_counts, "n_samples": n_samples}
    losses = {
        "ce": (BinaryCrossEntropyLoss, {}),
        "focal": (SigmoidFocalLoss, {"gamma": settings["focal_gamma"], "alpha": alpha}),
        "logit_adjusted": (
            partial(LabelLogitAdjustedLoss, **prior),
            {"tau": settings["logit_adjust_tau"]},
        ),
        "asl": (AsymmetricLoss, {}),
        "distribution_balanced": (partial(DistributionBalancedLoss, **prior), {}),
    }
    loss_class, named = losses[loss]
    kwargs = {"ohem_ratio": settings["ohem_ratio"], **named}
    kwargs.update((key, value) for key, value in overrides.items() if key != "weight")
    return loss_class(pos_weight=pos_weight, **kwargs)
