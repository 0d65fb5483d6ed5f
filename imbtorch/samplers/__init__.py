"""Training-set samplers that re-draw every epoch, each seeded for reproducibility.

:func:`make_batch_sampler` turns a ``sampler`` setting of
:class:`~imbtorch.BalancedImageClassifier` into a batch sampler for
:class:`torch.utils.data.DataLoader`. Iterating it again (the next epoch) draws
new indices. The draws of epoch ``e`` follow from ``(seed, e)`` alone, as with
:meth:`torch.utils.data.DistributedSampler.set_epoch`: a fit resumed at epoch
``e`` and every process of a distributed fit draw exactly what one
uninterrupted process draws.
"""

from .balanced import (
    ClassBalancedBatchSampler,
    ImblearnIndexSampler,
    ProgressiveSampler,
    frequency_sample_weights,
    label_pools,
)
from .epochs import (
    MAX_SEED,
    EpochSampler,
    EpochSeededSampler,
    epoch_generator,
    epoch_rng,
    set_epoch,
)
from .factory import (
    MULTILABEL_SAMPLERS,
    SAMPLER_NAMES,
    DeferredBatchSampler,
    make_batch_sampler,
)

__all__ = [
    "MAX_SEED",
    "MULTILABEL_SAMPLERS",
    "SAMPLER_NAMES",
    "ClassBalancedBatchSampler",
    "DeferredBatchSampler",
    "EpochSampler",
    "EpochSeededSampler",
    "ImblearnIndexSampler",
    "ProgressiveSampler",
    "epoch_generator",
    "epoch_rng",
    "frequency_sample_weights",
    "label_pools",
    "make_batch_sampler",
    "set_epoch",
]
