"""The catalog of named imbalance strategies: parameter sets of BalancedImageClassifier.

Each strategy is a dict of :class:`~imbtorch.BalancedImageClassifier`
parameters, so ``clone(clf).set_params(**strategy_params("ldam_drw", 30))``
turns any configured classifier into that strategy. The catalog is what
:func:`imbtorch.compare_strategies` and the benchmarks compare. What the
default, ``'auto'``, trains is :mod:`imbtorch.strategies.policy`'s.
"""

from __future__ import annotations

from numbers import Integral

from sklearn.utils._param_validation import Interval, validate_params

from .constants import deferred_epoch

__all__ = [
    "DEFAULT_STRATEGIES",
    "MULTILABEL_DEFAULT_STRATEGIES",
    "MULTILABEL_STRATEGY_NAMES",
    "STRATEGY_NAMES",
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
#: :mod:`imbtorch.losses.multilabel`, positive weights per label
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
