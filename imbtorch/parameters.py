"""The parameters of :class:`~imbtorch.BalancedImageClassifier`: constraints and checks.

Each parameter is checked on its own with scikit-learn's parameter
constraints, then the settings that depend on each other (and on the
machine: the device, the processes) by :func:`check_settings`. Errors name
the parameter and the fix.
"""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import (  # private; pinned in pyproject.toml
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

from .data.augmentation import AUGMENTATIONS
from .data.inputs import INPUT_CONSTRAINTS
from .device import check_device
from .losses.factory import LOSS_NAMES, MULTILABEL_LOSSES, SINGLE_LABEL_LOSSES
from .priors import target_prior, unknown_prior_reason
from .samplers import MULTILABEL_SAMPLERS, SAMPLER_NAMES
from .strategies.unlabeled import PSEUDO_LABEL_PRIORS, UNLABELED_MODES
from .training.distributed import check_accelerator
from .training.mixing import MIXUP_MODES
from .training.optimizers import OPTIMIZERS
from .training.precision import PRECISION_CONSTRAINTS, check_precision
from .training.resume import check_resumable

CONSTRAINTS: dict = {
    "backbone": [str, callable],
    "backbone_weights": [str, os.PathLike, HasMethods(["backbone_state_dict"]), None],
    "freeze": [StrOptions({"backbone"}), Interval(Integral, 1, None, closed="left"), None],
    "unfreeze_epoch": [Interval(Integral, 1, None, closed="left"), None],
    "backbone_lr": [Interval(Real, 0, None, closed="left"), None],
    "strategy": [StrOptions({"auto"}), None],
    "class_weight": [StrOptions({"balanced", "effective"}), dict, None],
    "beta": [Interval(Real, 0, 1, closed="left")],
    "loss": [StrOptions(set(LOSS_NAMES))],
    "focal_gamma": [Interval(Real, 0, None, closed="left")],
    "focal_alpha": [Interval(Real, 0, 1, closed="both"), "array-like", dict, None],
    "ldam_max_margin": [Interval(Real, 0, None, closed="left")],
    "ldam_scale": [Interval(Real, 0, None, closed="neither")],
    "logit_adjust_tau": [Interval(Real, None, None, closed="neither")],
    "vs_gamma": [Interval(Real, 0, None, closed="left")],
    "ohem_ratio": [Interval(Real, 0, 1, closed="right"), None],
    "drw_epoch": [Interval(Integral, 0, None, closed="left"), None],
    "drs_epoch": [Interval(Integral, 0, None, closed="left"), None],
    "predict_logit_adjust": [Interval(Real, None, None, closed="neither"), None],
    "proba_prior": [StrOptions({"train", "balanced"}), "array-like", dict, None],
    "tau_normalize": [Interval(Real, 0, None, closed="left"), None],
    "max_norm": [Interval(Real, 0, None, closed="neither"), None],
    "logit_scale": ["boolean"],
    "difficulty_head": [Interval(Real, 0, None, closed="neither"), None],
    "head_resampler": [StrOptions({"class_balanced", "sqrt"}), HasMethods(["fit_resample"]), None],
    "head_epochs": [Interval(Integral, 1, None, closed="left")],
    "head_smoothing": [tuple, list, None],  # check_head_smoothing
    "minority_augment": [Interval(Real, 0, 1, closed="neither"), callable, None],
    "minority_classes": [StrOptions({"auto"}), "array-like"],
    "mixup": [StrOptions(set(MIXUP_MODES)), None],
    "mixup_alpha": [Interval(Real, 0, None, closed="neither"), None],
    "mixup_epochs": [Interval(Integral, 0, None, closed="left"), None],
    "remix": ["boolean"],
    "sampler": [StrOptions(set(SAMPLER_NAMES)), HasMethods(["fit_resample"]), None],
    "train_transform": [callable, None],
    "augment": [StrOptions(set(AUGMENTATIONS)), None],
    "unlabeled": [StrOptions(set(UNLABELED_MODES)), None],
    "pseudo_label_threshold": [Interval(Real, 0, 1, closed="right"), None],
    "unlabeled_ratio": [Interval(Integral, 1, None, closed="left")],
    "pseudo_label_prior": [StrOptions(set(PSEUDO_LABEL_PRIORS)), "array-like", None],
    "pseudo_label_rebalance": [Interval(Real, 0, None, closed="left"), None],
    **INPUT_CONSTRAINTS,
    **PRECISION_CONSTRAINTS,
    "optimizer": [StrOptions(set(OPTIMIZERS)), type],
    "lr": [Interval(Real, 0, None, closed="neither"), None],
    "weight_decay": [Interval(Real, 0, None, closed="left"), None],
    "lr_schedule": [StrOptions({"cosine"}), None],
    "precise_bn": [StrOptions({"auto"}), "boolean"],
    "ema_epochs": [Interval(Real, 0, None, closed="left"), None],
    "sam_rho": [Interval(Real, 0, None, closed="neither"), None],
    "sam_classes": [StrOptions({"all", "minority"})],
    "warmup_epochs": [Interval(Integral, 0, None, closed="left"), None],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "extra_epochs": [Interval(Integral, 0, None, closed="left"), None],
    "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
    "train_split": [callable, None],
    "checkpoint_dir": [str, os.PathLike, None],
    "resume": ["boolean"],
    "device": [str, torch.device, None],
    "accelerator": "no_validation",  # check_accelerator
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def check_settings(net) -> None:
    """Validate ``net``'s parameters, alone and together; raise a ValueError naming the fix."""
    params = net.get_params(deep=False)
    validate_parameter_constraints(CONSTRAINTS, params, caller_name=type(net).__name__)
    device = params["device"]
    check_device(device)
    if net.accelerator is not None:
        check_processes(net.accelerator, device)
    if net.sam_rho is not None and net.precision == "16-mixed":
        raise ValueError(
            "sam_rho takes two gradients a step, which a float16 gradient scaler cannot unscale "
            "twice; use precision='bf16-mixed' or '32' with SAM, or drop sam_rho."
        )
    check_precision(net.precision, net.device)
    if net.sam_classes == "minority" and (net.sam_rho is None or net.difficulty_head is not None):
        raise ValueError(
            "sam_classes='minority' (ImbSAM) perturbs the tail classes' loss in SAM's step: "
            "it needs sam_rho, and not difficulty_head, whose loss belongs to no class; "
            f"got sam_rho={net.sam_rho!r}, difficulty_head={net.difficulty_head!r}."
        )
    if net.unfreeze_epoch is not None and net.freeze is None:
        raise ValueError(
            f"unfreeze_epoch={net.unfreeze_epoch} unfreezes what freeze froze, but "
            "freeze=None; set freeze='backbone' (or a number of stages) or drop unfreeze_epoch."
        )
    if net.remix and net.mixup is None:
        raise ValueError(
            "remix=True re-balances the labels of mixed images, but mixup=None mixes none; "
            "set mixup='mixup' (or 'cutmix', 'unimix') or drop remix."
        )
    if net.mixup_epochs is not None and net.mixup is None and net.strategy is None:
        raise ValueError(
            f"mixup_epochs={net.mixup_epochs} says how many epochs mix, but mixup=None mixes "
            "none; set mixup='mixup' (or 'cutmix', 'unimix'), or strategy='auto' (which mixes), "
            "or drop mixup_epochs."
        )
    if net.mixup is not None and net.difficulty_head is not None:
        raise ValueError(
            f"difficulty_head learns each image's loss under its one label, but mixup="
            f"{net.mixup!r} gives every training image two; drop one of them."
        )
    if net.weight_decay is not None and "weight_decay" in net.get_params_for("optimizer"):
        raise ValueError(
            f"weight_decay={net.weight_decay} and optimizer__weight_decay="
            f"{net.get_params_for('optimizer')['weight_decay']} were both given; set one of them."
        )
    if net.augment is not None and net.train_transform is not None:
        raise ValueError(
            f"augment={net.augment!r} and train_transform={net.train_transform!r} both "
            "transform every training image; set one of them (put the named augmentation's "
            "steps in your train_transform to have both)."
        )
    check_proba_prior(net)
    if net.head_smoothing is not None:
        _check_head_smoothing(net.head_smoothing, net.head_resampler)
    if net.resume:
        check_resumable(net.checkpoint_dir, net.train_split)


#: Settings defined for one label per image, at their neutral values, with what they need.
_SINGLE_LABEL_ONLY = {
    "head_resampler": (None, "re-trains the classifier on class-balanced features"),
    "minority_augment": (None, "augments the images of the minority classes"),
    "remix": (False, "re-balances the labels of mixed images by class"),
    "difficulty_head": (None, "learns each image's cross-entropy under its one label"),
    "predict_logit_adjust": (None, "shifts the softmax logits by the class prior"),
    "proba_prior": (None, "converts softmax probabilities to another class prior"),
    "sam_classes": ("all", "perturbs the loss of the minority classes"),
}


def check_label_settings(net, *, multilabel: bool) -> None:
    """Refuse settings that the kind of ``y`` (one label per image, or multi-label) lacks."""
    if not multilabel:
        if net.loss not in SINGLE_LABEL_LOSSES:
            raise ValueError(
                f"loss={net.loss!r} is a multi-label loss, but y holds one label per image; "
                f"use one of {list(SINGLE_LABEL_LOSSES)}, or pass y as a 0/1 indicator matrix "
                "of shape (n_samples, n_labels)."
            )
        return
    where = "y is a multi-label indicator matrix"
    if net.loss not in MULTILABEL_LOSSES:
        raise ValueError(
            f"loss={net.loss!r} is defined for one label per image, but {where}; use one of "
            f"{list(MULTILABEL_LOSSES)} ('ce' is binary cross-entropy per label)."
        )
    if net.sampler not in MULTILABEL_SAMPLERS:
        raise ValueError(
            f"sampler={net.sampler!r} draws by one label per image, but {where}; use one of "
            f"{list(MULTILABEL_SAMPLERS)} ('class_balanced' is label-aware sampling)."
        )
    if net.mixup == "unimix":
        raise ValueError(
            f"mixup='unimix' draws partners and shares by each image's one class, but {where}; "
            "use mixup='mixup' or 'cutmix'."
        )
    for name, (neutral, what) in _SINGLE_LABEL_ONLY.items():
        value = getattr(net, name)
        if (value is not None) if neutral is None else (value != neutral):
            raise ValueError(
                f"{name}={value!r} {what}, which is defined for one label per image, but "
                f"{where}; drop {name}."
            )


def check_prior_source(net) -> None:
    """Refuse a ``proba_prior`` that does not fit ``classes_``, or where the settings leave
    the scores' prior unknown and no validation split can estimate it (checked once ``y`` is
    known to be single-label)."""
    prior = net.pseudo_label_prior
    if prior is not None and not isinstance(prior, str):
        values = np.asarray(prior, dtype=float)
        if values.shape != (len(net.classes_),) or np.any(values < 0) or not values.sum() > 0:
            raise ValueError(
                f"pseudo_label_prior={prior!r} must hold one non-negative share per class of "
                f"classes_={net.classes_.tolist()!r} (in that order), not all zero; or be "
                "'estimate', 'labeled', 'uniform' or None."
            )
    if net.proba_prior is not None:  # raises naming the fix ('train' fits any counts)
        target_prior(net.proba_prior, net.classes_, np.ones(len(net.classes_)))
    if net.proba_prior is not None and net.train_split is None:
        reason = unknown_prior_reason(net.get_params(deep=False), net.get_params_for("criterion"))
        if reason is not None:
            raise ValueError(
                f"proba_prior={net.proba_prior!r} needs the class prior the scores assume, "
                f"which {reason} leaves unknown; give fit held-out data to estimate it on with "
                "train_split=ValidSplit(0.2, stratified=True), or leave proba_prior=None and "
                "calibrate with sklearn's CalibratedClassifierCV."
            )


def check_proba_prior(net) -> None:
    """Refuse ``proba_prior`` with a ``predict_nonlinearity`` that replaces the softmax."""
    nonlinearity = net.predict_nonlinearity
    custom = not (isinstance(nonlinearity, str) and nonlinearity == "auto")
    if net.proba_prior is not None and custom:
        raise ValueError(
            f"proba_prior={net.proba_prior!r} converts the softmax of the scores to another "
            f"prior, but predict_nonlinearity={nonlinearity!r} replaces that softmax; drop one "
            "of them."
        )


def _check_head_smoothing(smoothing, head_resampler) -> None:
    if head_resampler is None:
        raise ValueError(
            f"head_smoothing={smoothing!r} smooths the labels of the classifier re-training "
            "that head_resampler sets, but head_resampler=None (strategy='auto' re-trains "
            "with square-root sampling and no smoothing); set head_resampler='class_balanced' "
            "(MiSLAS) or drop head_smoothing."
        )
    valid = len(smoothing) == 2 and all(
        isinstance(eps, Real) and not isinstance(eps, bool) and 0 <= eps < 1 for eps in smoothing
    )
    if not valid:
        raise ValueError(
            f"head_smoothing must be a pair (head, tail) of label smoothings in [0, 1), e.g. "
            f"(0.3, 0.0); got {smoothing!r}."
        )


def check_self_supervised_settings(embedder, *, classifier_model: bool) -> None:
    """Refuse, with the fix, an ImageEmbedder's resume, accelerator or checkpoint_dir that
    cannot apply (they are settings of its self-supervised training), and a ``prefit`` or
    ``weights`` beside ``self_supervised`` (``classifier_model``: whether the model is a
    BalancedImageClassifier, whose ``backbone_weights`` it trains from)."""
    if embedder.self_supervised is not None and embedder.prefit:
        raise ValueError(
            "prefit=True uses a fitted classifier as it is, and self_supervised trains a "
            "backbone; drop one of them."
        )
    if embedder.self_supervised is not None and classifier_model and embedder.weights is not None:
        raise ValueError(
            "weights loads a backbone's state_dict, but model is a "
            "BalancedImageClassifier; set its backbone_weights, or drop weights."
        )
    if embedder.resume:
        check_resumable(embedder.checkpoint_dir, None)
    for name in ("accelerator", "checkpoint_dir"):
        if getattr(embedder, name) is not None and embedder.self_supervised is None:
            raise ValueError(
                f"{name} is a setting of the self-supervised training, but "
                f"self_supervised=None; set self_supervised, or give a "
                f"BalancedImageClassifier model its own {name}."
            )
    if embedder.accelerator is not None:
        check_processes(embedder.accelerator, embedder.device)


def check_processes(accelerator, device) -> None:
    """Refuse, with the fix, an accelerator that is not one, and a device beside it."""
    check_accelerator(accelerator)
    if device != "auto":
        raise ValueError(
            f"device={device!r} and an accelerator were both given; the accelerator places "
            "each process on its device, so leave device='auto'."
        )
