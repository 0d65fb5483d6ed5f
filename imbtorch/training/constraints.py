"""Constraints on the network's weights, applied after every optimizer step.

:class:`MaxNorm` is the per-class norm constraint of Weight Balancing
(Alshammari et al., "Long-tailed recognition via weight balancing", CVPR
2022): on long-tailed data the classifier's weight vectors of head classes
grow larger than those of tail classes, which biases decisions toward the
head; capping every class's norm (projected gradient descent, together with
weight decay) keeps them balanced.
"""

from __future__ import annotations

import torch
from skorch.callbacks import Callback
from torch import nn

from ..networks.heads import classifier_layer


def project_max_norm(classifier: nn.Module, max_norm: float) -> None:
    """Scale down, in place, every class's weight vector whose L2 norm exceeds ``max_norm``.

    Vectors within the ball are left as they are; the bias is not constrained.
    """
    with torch.no_grad():
        classifier.weight.renorm_(2, 0, max_norm)


class MaxNorm(Callback):
    """Project the classifier's class weights into the ball of radius ``max_norm`` after
    every training step (skorch runs ``on_batch_end`` after the optimizer step).

    Parameters
    ----------
    max_norm : float
        Largest L2 norm of a class's weight vector.
    """

    def __init__(self, max_norm: float) -> None:
        self.max_norm = max_norm

    def on_batch_end(self, net, batch=None, training=False, **kwargs) -> None:
        if training:
            project_max_norm(classifier_layer(net.module_, len(net.classes_)), self.max_norm)
