"""Precise BatchNorm statistics: re-estimate them over the training set once training ends.

During training a BatchNorm layer keeps an exponential moving average of its
batch statistics, weighted toward the last few batches, which were taken
under weights that kept changing. Prediction normalises with that average,
so the classifier meets features a little unlike the ones it was trained
on. Re-estimating the statistics with the final weights, in one pass over
the training set, removes the mismatch (Wu & Johnson 2021, "Rethinking
'Batch' in BatchNorm", PreciseBN). The pass is torch's
:func:`torch.optim.swa_utils.update_bn`'s, written out here because layers
frozen for fine-tuning must stay in eval mode during it (``update_bn``
puts every layer in training mode): they keep their (pretrained)
statistics, and the layers after them see what they saw in training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ..data.dataset import batch_images
from .finetune import BATCH_NORM_TYPES, is_frozen_norm


def recompute_batchnorm(
    module: nn.Module,
    batches: Iterable,
    *,
    prepare: Callable,
    autocast: Callable,
) -> bool:
    """Re-estimate the running statistics of ``module``'s trainable BatchNorm layers.

    The pass of :func:`torch.optim.swa_utils.update_bn` (statistics reset,
    ``momentum=None`` for an equal-weight average over the batches, the
    network in training mode), except that layers whose parameters are all
    frozen stay in eval mode, normalising with their own statistics as they
    did in training, and keep them.

    Parameters
    ----------
    module : torch.nn.Module
        The trained network; its mode is kept.
    batches : iterable of (X, y) batches
        The training set, in order, without augmentation.
    prepare : callable
        Turns a batch's images (:func:`~imbtorch.data.dataset.batch_images`
        of its ``X``) into the network's input.
    autocast : callable
        Returns the context to run the network in (mixed precision).

    Returns
    -------
    updated : bool
        Whether the network has a trainable BatchNorm layer to update.
    """
    norms = [m for m in module.modules() if isinstance(m, BATCH_NORM_TYPES)]
    trainable = [m for m in norms if not is_frozen_norm(m)]
    if not trainable:
        return False
    momenta = [m.momentum for m in trainable]
    was_training = module.training
    module.train()
    for layer in norms:
        if is_frozen_norm(layer):
            layer.eval()
    for layer in trainable:
        layer.reset_running_stats()
        layer.momentum = None
    try:
        with torch.no_grad(), autocast():
            for X, _ in batches:
                module(prepare(batch_images(X)))
    finally:
        for layer, momentum in zip(trainable, momenta, strict=True):
            layer.momentum = momentum
        module.train(was_training)
    return True
