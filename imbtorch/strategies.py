"""Named imbalance strategies: parameter sets of BalancedImageClassifier.

Each strategy is a dict of :class:`~imbtorch.BalancedImageClassifier`
parameters, so ``clone(clf).set_params(**strategy_params("ldam_drw", 30))``
turns any configured classifier into that strategy. The catalog is what
:func:`imbtorch.compare_strategies` and the benchmarks compare.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

__all__ = [
    "DEFAULT_STRATEGIES",
    "MULTILABEL_DEFAULT_STRATEGIES",
    "MULTILABEL_STRATEGY_NAMES",
    "STRATEGY_NAMES",
    "resolve_strategy",
    "strategy_params",
]

_FIXED = {
    "ce": {},
    "balanced_weights": {"class_weight": "balanced"},
    "effective_weights": {"class_weight": "effective", "beta": 0.999},
    "focal": {"loss": "focal", "focal_gamma": 2.0},
    "weighted_sampler": {"sampler": "weighted"},
    "sqrt_sampler": {"sampler": "sqrt"},
    "class_balanced_sampler": {"sampler": "class_balanced"},
    "logit_adjusted": {"loss": "logit_adjusted"},
    "balanced_softmax": {"loss": "balanced_softmax"},
    "vs": {"loss": "vs"},
    "mixup": {"mixup": "mixup"},
    "remix": {"mixup": "mixup", "remix": True},
    # UniMix with the Bayes-bias-compensated loss (Xu et al. 2021), which is the
    # logit-adjusted loss toward a balanced test set
    "unimix": {"mixup": "unimix", "loss": "logit_adjusted"},
    "sam": {"sam_rho": 0.05},
    "imbsam": {"sam_rho": 0.05, "sam_classes": "minority"},
    "posthoc_logit_adjust": {"predict_logit_adjust": 1.0},
    "tau_norm": {"tau_normalize": 2.0},
    "crt": {"head_resampler": "class_balanced"},
    "over_augment": {"sampler": "over", "minority_augment": 0.125},
    # MiSLAS (Zhong et al. 2021): mixup, then cRT with label-aware smoothing
    "mislas": {
        "mixup": "mixup",
        "head_resampler": "class_balanced",
        "head_smoothing": (0.3, 0.0),
    },
    # Weight Balancing (Alshammari et al. 2022): raised weight decay, then a
    # class-balanced classifier stage under MaxNorm
    "weight_balancing": {
        "weight_decay": 0.1,
        "head_resampler": "class_balanced",
        "max_norm": 1.0,
    },
}
_DEFERRED = ("ldam_drw", "drs")
_MULTILABEL_ONLY = {
    "asl": {"loss": "asl"},
    "distribution_balanced": {"loss": "distribution_balanced"},
}

#: Every single-label strategy :func:`strategy_params` knows; ``'auto'`` is
#: ``strategy='auto'``.
STRATEGY_NAMES: tuple[str, ...] = (*_FIXED, *_DEFERRED, "auto")

#: The strategies defined for a multi-label indicator ``y``: the losses of
#: :mod:`imbtorch.multilabel_losses`, positive weights per label
#: (``'balanced_weights'``: ``n_neg / n_pos``), samplers by each image's
#: rarest label, label-aware sampling (``'class_balanced_sampler'``).
MULTILABEL_STRATEGY_NAMES: tuple[str, ...] = (
    "ce",
    "balanced_weights",
    "effective_weights",
    "focal",
    *_MULTILABEL_ONLY,
    "logit_adjusted",
    "weighted_sampler",
    "sqrt_sampler",
    "class_balanced_sampler",
    "mixup",
    "sam",
    "drs",
    "auto",
)

#: Parameters that re-balance the classes, at their neutral values. With any
#: of them set (or a loss other than ``'ce'``, or ``criterion__weight``),
#: ``strategy='auto'`` trains the parameters as they are set.
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

#: What ``strategy='auto'`` trains when no re-balancing parameter is set:
#: the logit-adjusted loss, ...
AUTO_LOSS = "logit_adjusted"

#: ... then the classifier re-trained alone on square-root-sampled features,
#: deciding with the half of the prior that sampling left (``AUTO_HEAD_SHIFT``
#: of ``log(prior)`` subtracted). The measurement behind it:
#: ``docs/benchmarks.md``, section 9, "A classifier stage in the default".
AUTO_HEAD = "sqrt"
AUTO_HEAD_SHIFT = 0.5
AUTO_NAME = "logit_adjusted+sqrt_head"

#: ... and the trunk trained on mixed batches (mixup, ``mixup_alpha``) for
#: the first two thirds of its epochs, the last third on the images as they
#: are: ``docs/benchmarks.md``, section 9, "Mixup in the default".
AUTO_MIXUP = "mixup"
AUTO_MIXED_NAME = "logit_adjusted+mixup+sqrt_head"

#: ... with the weights averaged along training (an exponential moving
#: average with a time constant of ``AUTO_EMA_EPOCHS`` epochs, which the
#: network takes when its epochs end, and a validation split's monitors score):
#: ``docs/benchmarks.md``, section 9, "Averaging the weights" and "Averaging
#: with a validation split".
AUTO_EMA_EPOCHS = 3.0

#: ... unless the classifier trained with the network already classifies the
#: training images (as they are, features of the trained network) with a
#: balanced accuracy of at least ``AUTO_JOINT_MIN_SCORE``: with no training
#: error left, the stage learns only margins and over-corrects toward a tail
#: of one or two images (one-shot digits), so that classifier is kept, with
#: no shift, under the name :data:`AUTO_JOINT_NAMES` gives (the measurement:
#: ``docs/benchmarks.md``, section 9, "The stage only where training errs").
AUTO_JOINT_MIN_SCORE = 0.99
AUTO_JOINT_NAMES = {AUTO_NAME: AUTO_LOSS, AUTO_MIXED_NAME: "logit_adjusted+mixup"}

#: ... and on a multi-label ``y``: the distribution-balanced loss with
#: label-aware sampling, the pairing Wu et al. 2020 trained (the measurement
#: behind the choice: ``docs/benchmarks.md``, section 11).
AUTO_MULTILABEL = {"loss": "distribution_balanced", "sampler": "class_balanced"}
AUTO_MULTILABEL_NAME = "distribution_balanced+label_aware"

#: The parameters :func:`resolve_strategy` decides; the fit keeps what it
#: trains in ``<name>_`` (``loss_``, ``head_resampler_``, ...).
TRAINED = (
    "loss",
    "sampler",
    "head_resampler",
    "predict_logit_adjust",
    "mixup",
    "mixup_epochs",
    "ema_epochs",
)


def resolve_strategy(
    strategy: str | None,
    params: dict,
    criterion_params: dict,
    *,
    class_counts=None,
    multilabel: bool = False,
    sample_weighted: bool = False,
    incremental: bool = False,
) -> tuple[dict, str]:
    """What a fit trains (the parameters of :data:`TRAINED`), and its name (``strategy_``).

    ``strategy='auto'`` trains the logit-adjusted loss (Menon et al. 2021),
    then re-trains the classifier alone (Kang et al. 2020's decoupling) on
    the trunk's features drawn by square-root sampling, and predicts with
    the logits less half the log prior, the half the sampling left: a head
    re-trained class-balanced fits the tail's few images too closely, one
    left as trained over-predicts the tail where classes look alike (the
    measurement: ``docs/benchmarks.md``, section 9). The trunk trains on
    mixed batches (mixup) for the first two thirds of its epochs and on the
    images as they are for the last third: mixing helped where classes look
    alike (patches of photographs), and the plain epochs show the tail's one
    or two images whole again (one-shot digits; ``mixup_`` and
    ``mixup_epochs_``; a ``mixup`` you set stands as set, ``mixup_epochs``
    replaces the two thirds, 0 mixes none; no mixing with
    ``difficulty_head``), and its weights are averaged along training
    (``ema_epochs_``: :data:`AUTO_EMA_EPOCHS`, unless ``ema_epochs`` is
    set). After training, the stage gives way to the classifier trained
    with the network where that one classifies the training images with a
    balanced accuracy of at least
    :data:`AUTO_JOINT_MIN_SCORE` (decided in
    :func:`imbtorch.training.decoupled.classifier_stage`, which renames
    ``strategy_`` by :data:`AUTO_JOINT_NAMES`); where it scores less, the
    network first trains two thirds more epochs
    (:mod:`imbtorch.training.longer`). The classifier stage, and
    with it the mixing, is left out on equal class counts (where the loss
    is cross-entropy), with ``sample_weight`` (the stage draws by class, not by weight) and in
    ``partial_fit`` (a classifier re-trained on one call's data would forget
    the others'); a ``head_resampler`` that is set replaces it, and
    ``'sqrt'`` keeps its half-prior decision.

    A parameter of :data:`REBALANCING` away from its neutral value, or
    ``criterion__weight``, stands alone: the logit-adjusted loss on top of it
    would correct the prior twice, so the parameters are trained as set. A
    class without training samples (``partial_fit`` with ``classes=``) has
    no prior to adjust by: the parameters are trained as set. Everything else
    (``mixup``, ``sam_rho``, ``max_norm``, ``minority_augment``,
    ``ohem_ratio``, schedules...) combines with it. On a multi-label ``y``
    the same rule trains :data:`AUTO_MULTILABEL` (a label no sample carries
    is left out by both and does not stop it).

    Parameters
    ----------
    strategy : 'auto' or None
    params : dict
        The classifier's ``get_params(deep=False)``.
    criterion_params : dict
        Its ``criterion__*`` parameters.
    class_counts : array-like of shape (n_classes,), default=None
        Training samples per class.
    multilabel : bool, default=False
        Whether ``y`` is a multi-label indicator matrix.
    sample_weighted : bool, default=False
        Whether the fit has ``sample_weight``.
    incremental : bool, default=False
        Whether the fit is ``partial_fit``'s.

    Returns
    -------
    settings : dict
        The value of each parameter of :data:`TRAINED` to train.
    name : str
        :data:`AUTO_MIXED_NAME`, :data:`AUTO_NAME` (without the mixing) or
        ``'logit_adjusted'`` (``AUTO_MULTILABEL_NAME``
        on a multi-label ``y``) when ``'auto'`` chose, else ``'as_set'``.
    """
    settings = {name: params[name] for name in TRAINED}
    as_set = any(params[name] != neutral for name, neutral in REBALANCING.items())
    unseen = class_counts is not None and min(class_counts) == 0 and not multilabel
    if strategy is None or as_set or unseen or "weight" in criterion_params:
        return settings, "as_set"
    if multilabel:
        return {**settings, **AUTO_MULTILABEL}, AUTO_MULTILABEL_NAME
    settings["loss"] = AUTO_LOSS
    balanced = class_counts is None or len(set(np.asarray(class_counts).tolist())) == 1
    if settings["head_resampler"] is None and not (balanced or sample_weighted or incremental):
        settings["head_resampler"] = AUTO_HEAD
    if settings["head_resampler"] != AUTO_HEAD:
        return settings, AUTO_LOSS
    settings["predict_logit_adjust"] = AUTO_HEAD_SHIFT
    if settings["mixup"] is not None or params["difficulty_head"] is not None:
        return settings, AUTO_NAME  # your mixing stands; a difficulty head cannot mix
    if settings["mixup_epochs"] is None:
        settings["mixup_epochs"] = deferred_epoch(params["max_epochs"])
    if settings["mixup_epochs"] == 0:
        return settings, AUTO_NAME
    settings["mixup"] = AUTO_MIXUP
    if settings["ema_epochs"] is None:
        settings["ema_epochs"] = AUTO_EMA_EPOCHS
    return settings, AUTO_MIXED_NAME


#: What :func:`imbtorch.compare_strategies` runs when given no strategies:
#: the plain baseline and one of each family (re-weighting, re-sampling,
#: focusing, margin loss with deferred re-weighting, logit adjustment,
#: decoupling). ``'balanced_softmax'`` is left out: for single-label softmax
#: it is the same loss as ``'logit_adjusted'``.
DEFAULT_STRATEGIES: tuple[str, ...] = (
    "ce",
    "balanced_weights",
    "class_balanced_sampler",
    "focal",
    "ldam_drw",
    "logit_adjusted",
    "crt",
)


#: What :func:`imbtorch.compare_strategies` runs on a multi-label ``y`` when
#: given no strategies: binary cross-entropy, positive weights, the focal,
#: asymmetric, distribution-balanced and label-logit-adjusted losses, and
#: label-aware sampling.
MULTILABEL_DEFAULT_STRATEGIES: tuple[str, ...] = (
    "ce",
    "balanced_weights",
    "focal",
    "asl",
    "distribution_balanced",
    "logit_adjusted",
    "class_balanced_sampler",
)


def deferred_epoch(max_epochs: int) -> int:
    """Where a deferred stage begins: after two thirds of ``max_epochs`` (Cao et al. 2019's
    switch for DRW and DRS, and the end of ``'auto'``'s mixing)."""
    return 2 * max_epochs // 3


@validate_params(
    {"name": [str], "max_epochs": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def strategy_params(name: str, max_epochs: int) -> dict:
    """Parameters of a named strategy for a classifier trained ``max_epochs``.

    Deferred strategies switch at two thirds of training (Cao et al. 2019):
    ``'ldam_drw'`` (LDAM loss, effective-number re-weighting from then on)
    and ``'drs'`` (class-balanced re-sampling from then on).

    Every strategy but ``'auto'`` sets ``strategy=None``: its parameters
    are trained as they are, whatever the classifier's own ``strategy``.

    Parameters
    ----------
    name : str
        One of :data:`STRATEGY_NAMES` or :data:`MULTILABEL_STRATEGY_NAMES`.
    max_epochs : int
        The classifier's epochs; places the deferred switch.

    Returns
    -------
    params : dict
        Keyword arguments for ``BalancedImageClassifier.set_params``.
    """
    if name == "auto":
        return {"strategy": "auto"}
    if name in _FIXED or name in _MULTILABEL_ONLY:
        return {"strategy": None, **_FIXED.get(name, _MULTILABEL_ONLY.get(name))}
    switch = deferred_epoch(max_epochs)
    if name == "ldam_drw":
        return {
            "strategy": None,
            "loss": "ldam",
            "class_weight": "effective",
            "beta": 0.9999,
            "drw_epoch": switch,
        }
    if name == "drs":
        return {"strategy": None, "sampler": "class_balanced", "drs_epoch": switch}
    raise ValueError(
        f"Unknown strategy {name!r}. Use one of {list(STRATEGY_NAMES)} (multi-label: "
        f"{list(MULTILABEL_STRATEGY_NAMES)}), or pass a dict of "
        "BalancedImageClassifier parameters (or an estimator) under your own name."
    )
