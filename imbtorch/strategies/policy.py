"""The default's policy: from the parameters and what ``fit`` knows, the plan of the fit.

:func:`plan_training` is the one place that decides what ``strategy='auto'``
trains. It reads the parameters and the :class:`TrainingFacts` (class counts,
one label or several per image, sample weights, ``partial_fit``, a
validation split) before any epoch, and returns a
:class:`~imbtorch.strategies.plan.Plan`: the loss, the sampler, the mixing
epochs, the weight averaging, the extension rule, the classifier stage and
the decision prior's shift. The plan takes the two decisions left for
training. The constants it uses, and where each comes from:
:mod:`imbtorch.strategies.constants`.

The rule, in short. With no re-balancing parameter set (:data:`REBALANCING`),
``'auto'`` trains the logit-adjusted loss; on classes of unequal counts,
without sample weights and outside ``partial_fit``, it adds mixup in the first
two thirds of the epochs, weight averaging, the square-root classifier stage
and its half-prior decision where training errs, and two thirds more epochs
before that stage. A re-balancing parameter set is trained as set: the
logit-adjusted loss on top of it would correct the prior twice. On a
multi-label ``y`` it trains the distribution-balanced loss with label-aware
sampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.augmentation import build_augmentation, describe_augmentation
from .constants import (
    AUTO_EMA_EPOCHS,
    AUTO_HEAD,
    AUTO_HEAD_SHIFT,
    AUTO_LOSS,
    AUTO_MIXED_NAME,
    AUTO_MIXUP,
    AUTO_MULTILABEL,
    AUTO_MULTILABEL_NAME,
    AUTO_NAME,
    MIN_EXTENSION_EPOCHS,
    deferred_epoch,
)
from .plan import TRAINED, Plan
from .unlabeled import plan_unlabeled

#: Parameters that re-balance the classes, at their neutral values. With any of them set
#: (or ``criterion__weight``), ``strategy='auto'`` trains the parameters as they are set.
REBALANCING = {
    "loss": "ce",
    "class_weight": None,
    "sampler": None,
    "drw_epoch": None,
    "drs_epoch": None,
    "predict_logit_adjust": None,
    "tau_normalize": None,
    "remix": False,
}


@dataclass(frozen=True)
class TrainingFacts:
    """What ``fit`` knows of its data before training, for :func:`plan_training`.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training samples per class (per label, for a multi-label ``y``).
    multilabel : bool, default=False
        Whether ``y`` is a multi-label indicator matrix.
    sample_weighted : bool, default=False
        Whether the fit has ``sample_weight``.
    incremental : bool, default=False
        Whether the fit is ``partial_fit``'s.
    validation : bool, default=False
        Whether ``train_split`` holds a validation part out.
    image_size : (int, int), default=(0, 0)
        Height and width of the images as the network sees them.
    n_unlabeled : int, default=0
        Images marked unlabelled (``y == -1``).
    pseudo_labels : PseudoLabels, default=None
        A self-training teacher's pseudo-labels of some of them (the fit after the teacher).
    """

    class_counts: np.ndarray
    multilabel: bool = False
    sample_weighted: bool = False
    incremental: bool = False
    validation: bool = False
    image_size: tuple = (0, 0)
    n_unlabeled: int = 0
    pseudo_labels: object = None


def plan_training(params: dict, criterion_params: dict, facts: TrainingFacts) -> Plan:
    """The plan of a fit of ``params`` (``get_params(deep=False)``) on data with ``facts``.

    Parameters
    ----------
    params : dict
        The estimator's parameters, ``get_params(deep=False)``.
    criterion_params : dict
        Its ``criterion__*`` parameters, without the prefix.
    facts : TrainingFacts
        What the policy reads of the data: class counts, single- or
        multi-label, sample weights, ``partial_fit``, a validation split, the
        image size.

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        Where ``extra_epochs`` is positive but the plan has no extension,
        naming what stands in its way.
    """
    plan = _choose(params, criterion_params, facts)
    plan.extra_epochs = _extension_epochs(plan, params)
    plan.transform, plan.transform_text = _training_transform(params, facts)
    plan.unlabeled = plan_unlabeled(params, facts, plan.transform)
    if plan.mixing_end is not None and facts.validation:
        plan.notes.append(
            f"early stopping waits for the end of the mixing (epoch {plan.mixing_end})"
        )
    return plan


def _choose(params: dict, criterion_params: dict, facts: TrainingFacts) -> Plan:
    strategy, epochs = params["strategy"], params["max_epochs"]
    settings = {name: params[name] for name in TRAINED}

    def planned(name: str, reason: str, **kwargs) -> Plan:
        return Plan(strategy, name, reason, settings, epochs, **kwargs)

    if strategy is None:
        return planned("as_set", "the parameters as set")
    rebalancing = [
        f"{name}={params[name]!r}"
        for name, neutral in REBALANCING.items()
        if params[name] != neutral
    ]
    if "weight" in criterion_params:
        rebalancing.append("criterion__weight")
    if rebalancing:
        return planned(
            "as_set",
            f"{', '.join(rebalancing)} re-balances the classes, and the logit-adjusted loss on "
            "top would correct the prior twice",
        )
    counts = np.asarray(facts.class_counts)
    if not facts.multilabel and counts.min() == 0:
        return planned(
            "as_set",
            f"a class without training samples (counts {counts.tolist()}) has no prior to "
            "adjust by",
        )
    if facts.multilabel:
        settings.update(AUTO_MULTILABEL)
        return planned(AUTO_MULTILABEL_NAME, "a multi-label y, no re-balancing parameter set")
    settings["loss"] = AUTO_LOSS
    reason = f"no re-balancing parameter set; classes of {counts.max()} to {counts.min()} images"
    notes = []
    if settings["head_resampler"] is None:
        left_out = _why_no_stage(counts, facts)
        if left_out is None:
            settings["head_resampler"] = AUTO_HEAD
        else:
            notes.append(f"{left_out}: no classifier stage, no mixing, no weight averaging")
    if settings["head_resampler"] != AUTO_HEAD:
        return planned(AUTO_LOSS, reason, notes=notes)
    settings["predict_logit_adjust"] = AUTO_HEAD_SHIFT
    stage = {"stage_decided": params["head_resampler"] is None, "notes": notes}
    if settings["mixup"] is not None or params["difficulty_head"] is not None:
        what = "mixup set: it mixes as set" if settings["mixup"] else "difficulty_head: no mixing"
        notes.append(f"{what}; no weight averaging, no extension (measured with 'auto''s own)")
        return planned(AUTO_NAME, reason, **stage)
    if settings["mixup_epochs"] is None:
        settings["mixup_epochs"] = deferred_epoch(epochs)
    if settings["mixup_epochs"] == 0:
        notes.append("mixup_epochs=0: no mixing, no weight averaging, no extension")
        return planned(AUTO_NAME, reason, **stage)
    settings["mixup"] = AUTO_MIXUP
    if settings["ema_epochs"] is None:
        settings["ema_epochs"] = AUTO_EMA_EPOCHS
    return planned(AUTO_MIXED_NAME, reason, **stage)


def _training_transform(params: dict, facts: TrainingFacts) -> tuple:
    """The transform of every training image, and what it is: ``train_transform`` as given,
    or the augmentation ``augment`` names (:mod:`imbtorch.data.augmentation`)."""
    if params["train_transform"] is not None:
        return params["train_transform"], f"train_transform {params['train_transform']!r}"
    name = params["augment"]
    if name is None:
        return None, None
    size = tuple(facts.image_size)
    text = f"augment={name!r}: {describe_augmentation(name, size)} on every training image"
    return build_augmentation(name, size), text


def _why_no_stage(counts: np.ndarray, facts: TrainingFacts) -> str | None:
    """Why ``'auto'`` leaves its classifier stage (and with it the mixing) out, or None."""
    if len(set(counts.tolist())) == 1:
        return "equal class counts"
    if facts.sample_weighted:
        return "sample_weight (the stage draws by class, not by weight)"
    if facts.incremental:
        return "partial_fit (a classifier re-trained on one call's data forgets the others')"
    return None


def _extension_epochs(plan: Plan, params: dict) -> int:
    """Epochs an extension adds where the network errs (0: none), noting why there is none.

    ``extra_epochs=None`` plans two thirds of ``max_epochs`` for ``'auto'``'s
    own schedule: the mixed trunk with the stage it decides on, a constant
    learning rate (a cosine schedule has decayed to 0), ``max_epochs`` of at
    least :data:`~imbtorch.strategies.constants.MIN_EXTENSION_EPOCHS`.
    ``extra_epochs=0`` plans none, a positive ``extra_epochs`` that many.
    """
    extra, epochs = params["extra_epochs"], params["max_epochs"]
    checks = (
        (
            plan.name != AUTO_MIXED_NAME,
            f"trains strategy_={plan.name!r}, not 'auto''s mixed trunk with its classifier "
            "stage (strategy=None, a re-balancing parameter, mixup or mixup_epochs=0 you set, "
            "equal classes, sample_weight or partial_fit leave it out)",
        ),
        (
            params["head_resampler"] is not None,
            "sets head_resampler, whose stage runs whatever the score",
        ),
        (
            params["lr_schedule"] is not None,
            "has lr_schedule='cosine', whose rate has decayed to 0 at max_epochs",
        ),
    )
    obstacles = [text for present, text in checks if present]
    if extra is None:
        if plan.name != AUTO_MIXED_NAME:
            return 0
        if obstacles:
            plan.notes.append(f"no extension: the fit {'; it '.join(obstacles)}")
            return 0
        if epochs < MIN_EXTENSION_EPOCHS:
            plan.notes.append(f"{epochs} epochs, fewer than {MIN_EXTENSION_EPOCHS}: no extension")
            return 0
        return deferred_epoch(epochs)
    if extra and obstacles:
        raise ValueError(
            f"extra_epochs={extra} trains more epochs where strategy='auto''s network still "
            f"errs on its training images, but this fit {'; it '.join(obstacles)}. Drop "
            "extra_epochs (or set it to 0), or drop what stands in its way."
        )
    if not extra and plan.name == AUTO_MIXED_NAME:
        plan.notes.append("extra_epochs=0: no extension")
    return extra
