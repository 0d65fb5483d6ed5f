"""Strategies: the catalog of named ones, and the default's policy and plan.

- :mod:`~imbtorch.strategies.catalog`: named strategies, each a set of
  :class:`~imbtorch.BalancedImageClassifier` parameters
  (:func:`strategy_params`), which :func:`imbtorch.compare_strategies` and
  the benchmarks compare;
- :mod:`~imbtorch.strategies.policy`: what ``strategy='auto'`` trains
  (:func:`plan_training`), from :mod:`~imbtorch.strategies.constants`;
- :mod:`~imbtorch.strategies.plan`: the :class:`Plan` of a fit, which takes
  the decisions left for training and reads as ``clf.plan_``;
- :mod:`~imbtorch.strategies.unlabeled`: the plan's part for unlabelled images
  (``y == -1``): trained on by self-training or FixMatch, or left out, and why.
"""

from .catalog import (
    DEFAULT_STRATEGIES,
    MULTILABEL_DEFAULT_STRATEGIES,
    MULTILABEL_STRATEGY_NAMES,
    STRATEGY_NAMES,
    strategy_params,
)
from .constants import (
    AUTO_EMA_EPOCHS,
    AUTO_JOINT_MIN_SCORE,
    AUTO_MIXED_NAME,
    AUTO_MULTILABEL_NAME,
    AUTO_NAME,
)
from .plan import Extension, Plan
from .policy import REBALANCING, TrainingFacts, plan_training

__all__ = [
    "AUTO_EMA_EPOCHS",
    "AUTO_JOINT_MIN_SCORE",
    "AUTO_MIXED_NAME",
    "AUTO_MULTILABEL_NAME",
    "AUTO_NAME",
    "DEFAULT_STRATEGIES",
    "Extension",
    "MULTILABEL_DEFAULT_STRATEGIES",
    "MULTILABEL_STRATEGY_NAMES",
    "Plan",
    "REBALANCING",
    "STRATEGY_NAMES",
    "TrainingFacts",
    "plan_training",
    "strategy_params",
]
