"""Precise BatchNorm statistics: re-estimate them over the training set once training ends.

During training a BatchNorm layer keeps an exponential moving average of its
batch statistics, weighted toward the last few batches, which were taken
under weights that kept changing. Prediction normalises with that average,
so the classifier meets features a little unlike the ones it was trained
on. Re-estimating the statistics with the final weights, in one pass over
the training set, removes the mismatch (Wu & Johnson 2021, "Rethinking
'Batch' in BatchNorm", PreciseBN). torch's
:func:`torch.optim.swa_utils.update_bn` does the pass; layers frozen for
fine-tuning keep their (pretrained) statistics.

On long-tailed MNIST it moved a logit-adjusted network's balanced accuracy
by up to 16 points (``docs/benchmarks.md``, section 9).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from .finetune import BATCH_NORM_TYPES


def _frozen_norms(module: nn.Module) -> list[nn.Module]:
    """BatchNorm layers whose parameters are all frozen (they keep their statistics)."""
    frozen = []
    for layer in module.modules():
        params = list(layer.parameters(recurse=False))
        if (
            isinstance(layer, BATCH_NORM_TYPES)
            and params
            and not any(p.requires_grad for p in params)
        ):
            frozen.append(layer)
    return frozen


def recompute_batchnorm(
    module: nn.Module,
    batches: Iterable,
    *,
    prepare: Callable,
    autocast: Callable,
) -> bool:
    """Re-estimate the running statistics of ``module``'s trainable BatchNorm layers.

    Parameters
    ----------
    module : torch.nn.Module
        The trained network; its mode is kept.
    batches : iterable of (X, y) batches
        The training set, in order, without augmentation.
    prepare : callable
        Turns a batch's ``X`` into the network's input.
    autocast : callable
        Returns the context to run the network in (mixed precision).

    Returns
    -------
    updated : bool
        Whether the network has a BatchNorm layer to update.
    """
    norms = [layer for layer in module.modules() if isinstance(layer, BATCH_NORM_TYPES)]
    frozen = _frozen_norms(module)
    if len(frozen) == len(norms):
        return False
    kept = [
        {name: buffer.clone() for name, buffer in layer.named_buffers(recurse=False)}
        for layer in frozen
    ]
    with autocast():
        update_bn((prepare(X) for X, _ in batches), module)
    with torch.no_grad():
        for layer, buffers in zip(frozen, kept, strict=True):
            for name, buffer in buffers.items():
                getattr(layer, name).copy_(buffer)
    return True
