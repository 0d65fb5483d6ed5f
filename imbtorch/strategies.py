"""Named imbalance strategies: parameter sets of BalancedImageClassifier.

Each strategy is a dict of :class:`~imbtorch.BalancedImageClassifier`
parameters, so ``clone(clf).set_params(**strategy_params("ldam_drw", 30))``
turns any configured classifier into that strategy. The catalog is what
:func:`imbtorch.compare_strategies` and the benchmarks compare.
"""

from __future__ import annotations

from numbers import Integral

from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["DEFAULT_STRATEGIES", "STRATEGY_NAMES", "strategy_params"]

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
    "sam": {"sam_rho": 0.05},
    "posthoc_logit_adjust": {"predict_logit_adjust": 1.0},
    "tau_norm": {"tau_normalize": 2.0},
    "crt": {"head_resampler": "class_balanced"},
    "over_augment": {"sampler": "over", "minority_augment": 0.125},
}
_DEFERRED = ("ldam_drw", "drs")

#: Every strategy :func:`strategy_params` knows.
STRATEGY_NAMES: tuple[str, ...] = (*_FIXED, *_DEFERRED)

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


@validate_params(
    {"name": [str], "max_epochs": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def strategy_params(name: str, max_epochs: int) -> dict:
    """Parameters of a named strategy for a classifier trained ``max_epochs``.

    Deferred strategies switch at two thirds of training (Cao et al. 2019):
    ``'ldam_drw'`` (LDAM loss, effective-number re-weighting from then on)
    and ``'drs'`` (class-balanced re-sampling from then on).

    Parameters
    ----------
    name : str
        One of :data:`STRATEGY_NAMES`.
    max_epochs : int
        The classifier's epochs; places the deferred switch.

    Returns
    -------
    params : dict
        Keyword arguments for ``BalancedImageClassifier.set_params``.
    """
    if name in _FIXED:
        return dict(_FIXED[name])
    switch = 2 * max_epochs // 3
    if name == "ldam_drw":
        return {"loss": "ldam", "class_weight": "effective", "beta": 0.9999, "drw_epoch": switch}
    if name == "drs":
        return {"sampler": "class_balanced", "drs_epoch": switch}
    raise ValueError(
        f"Unknown strategy {name!r}. Use one of {list(STRATEGY_NAMES)}, or pass a dict of "
        "BalancedImageClassifier parameters (or an estimator) under your own name."
    )
