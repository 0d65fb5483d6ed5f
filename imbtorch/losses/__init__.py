"""Losses: single-label and multi-label losses, class weights, and the loss of a fit.

- :mod:`~imbtorch.losses.single_label`: softmax losses (cross-entropy, focal,
  LDAM, logit-adjusted, balanced softmax, vector scaling), all with class
  weights, sample weights, OHEM and mixed labels;
- :mod:`~imbtorch.losses.multilabel`: one sigmoid per label (binary
  cross-entropy, focal, asymmetric, distribution-balanced, label logit
  adjustment);
- :mod:`~imbtorch.losses.class_weights`: ``class_weight`` to weights per class
  or per label;
- :mod:`~imbtorch.losses.factory`: the loss a fit trains, from ``loss``, the
  class weights and ``criterion__*``.
"""

from .multilabel import (
    AsymmetricLoss,
    BinaryCrossEntropyLoss,
    DistributionBalancedLoss,
    LabelLogitAdjustedLoss,
    MultiLabelLoss,
    SigmoidFocalLoss,
    label_log_odds,
)
from .single_label import (
    BalancedSoftmaxLoss,
    CrossEntropyLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
    WeightedLoss,
    log_prior,
)

__all__ = [
    "AsymmetricLoss",
    "BalancedSoftmaxLoss",
    "BinaryCrossEntropyLoss",
    "CrossEntropyLoss",
    "DistributionBalancedLoss",
    "FocalLoss",
    "LDAMLoss",
    "LabelLogitAdjustedLoss",
    "LogitAdjustedLoss",
    "MultiLabelLoss",
    "SigmoidFocalLoss",
    "VSLoss",
    "WeightedLoss",
    "label_log_odds",
    "log_prior",
]
