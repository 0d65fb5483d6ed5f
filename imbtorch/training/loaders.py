"""The DataLoaders of training, validation and prediction: plain functions of their inputs.

As timm's ``create_loader``, each loader follows from what it is given and
nothing else: the dataset, the ``sampler`` setting, the seed and epoch of the
draws, the batch size, the training transform, the process's shard and the
device. Training batches come from the sampler (:mod:`imbtorch.samplers`),
drawn epoch by epoch from ``(seed, epoch)``; the workers of epoch ``e`` are
seeded from ``(seed, e)`` too (:class:`EpochLoader`), so that how many workers
load does not change the random numbers training draws. Validation and
prediction read the data in order. Under several processes every process takes
its slice of every batch (:class:`~imbtorch.training.distributed.RankBatchSampler`).
Loader defaults suit the source and device (:mod:`imbtorch.data.loader`);
``overrides`` (the estimator's ``iterator_train__*`` / ``iterator_valid__*``)
win over them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

from ..data.dataset import dataset_codes, with_transform
from ..data.loader import loader_kwargs
from ..samplers import MAX_SEED, epoch_rng, make_batch_sampler, set_epoch
from .distributed import RankBatchSampler

_WORKER_STREAM = 1  # the sampler draws from stream 0 of (seed, epoch)


def worker_base_seed(seed: int, epoch: int) -> int:
    """Base seed of the loader workers of ``epoch``."""
    return int(epoch_rng(seed, epoch, stream=_WORKER_STREAM).integers(MAX_SEED))


class EpochLoader(DataLoader):
    """A DataLoader whose epoch ``e`` draws its batches and its workers' seeds from ``(seed, e)``.

    Each iteration is an epoch; the first is ``first_epoch``. The batch
    sampler is set to the epoch before each iteration. The loader's
    generator, from which torch draws the workers' base seed, is re-seeded
    at every iteration, so that a resumed epoch augments in its workers as the
    uninterrupted one did, whether or not there are workers.
    """

    def __init__(self, *args, seed: int, first_epoch: int = 0, **kwargs) -> None:
        super().__init__(*args, generator=torch.Generator(), **kwargs)
        self.seed = int(seed)
        self.epoch = int(first_epoch)

    def __iter__(self):
        set_epoch(self.batch_sampler, self.epoch)  # the loader's epoch is the sampler's
        self.generator.manual_seed(worker_base_seed(self.seed, self.epoch))
        self.epoch += 1
        return super().__iter__()


def _settings(dataset: Dataset, device, overrides: dict, batch_size: int) -> tuple[dict, int]:
    kwargs = loader_kwargs(dataset, device, overrides)
    batch_size = kwargs.pop("batch_size", batch_size)
    return kwargs, len(dataset) if batch_size == -1 else batch_size


def _sharded(batch_sampler, shard: tuple[int, int] | None):
    return batch_sampler if shard is None else RankBatchSampler(batch_sampler, *shard)


def training_loader(
    dataset: Dataset,
    *,
    sampler,
    classes: np.ndarray,
    seed: int,
    first_epoch: int,
    end_epoch: int,
    drs_epoch: int | None = None,
    batch_size: int,
    transform=None,
    shard: tuple[int, int] | None = None,
    device=None,
    overrides: dict | None = None,
    fresh_workers: bool = False,
    loader_class=DataLoader,
) -> DataLoader:
    """The loader of the training epochs ``first_epoch``, ``first_epoch + 1``, ...

    Parameters
    ----------
    dataset : ImageDataset, or (nested) Subsets of one
    sampler : None, str or imblearn sampler
        The estimator's ``sampler`` (see :func:`~imbtorch.samplers.make_batch_sampler`).
    classes : ndarray
        Labels of the class codes (imblearn strategies name the user's labels).
    seed, first_epoch, end_epoch : int
        Seed of the draws, epoch of the first iteration, and the epoch the
        fit ends at (progressive sampling spans ``end_epoch`` epochs).
    drs_epoch : int, default=None
        Deferred re-sampling: plain shuffling before this epoch.
    batch_size : int
        ``-1`` takes the whole set.
    transform : callable, default=None
        ``train_transform``, applied to every image in the workers.
    shard : (rank, world_size), default=None
        This process's slice of every batch.
    device : torch device, default=None
    overrides : dict, default=None
        ``iterator_train__*`` settings.
    fresh_workers : bool, default=False
        Start new workers every epoch unless ``overrides`` say otherwise
        (needed for a resumed epoch to seed its workers as the first run did).
    loader_class : DataLoader subclass, default=DataLoader
        skorch's ``iterator_train``; a class other than ``DataLoader`` is
        given the batch sampler and the generator as they are.
    """
    overrides = dict(overrides or {})
    if fresh_workers:
        overrides.setdefault("persistent_workers", False)
    kwargs, batch_size = _settings(dataset, device, overrides, batch_size)
    if transform is not None:
        dataset = with_transform(dataset, transform)
    if "sampler" in kwargs or "batch_sampler" in kwargs:
        if sampler is not None:
            raise ValueError(
                f"sampler={sampler!r} and an iterator_train__sampler / batch_sampler were both "
                "given; keep one of them."
            )
        if shard is not None:
            raise ValueError(
                "An iterator_train__sampler / batch_sampler cannot be shared out over "
                "processes; use the sampler parameter, whose batches are."
            )
        return loader_class(dataset, batch_size=batch_size, **kwargs)
    codes = dataset_codes(dataset)
    batch_sampler = make_batch_sampler(
        sampler,
        codes if codes.ndim == 2 else classes[codes],  # a multi-label indicator as it is
        batch_size=batch_size,
        seed=seed,
        shuffle=kwargs.pop("shuffle", True),
        drop_last=kwargs.pop("drop_last", False),
        n_epochs=end_epoch,
        first_epoch=first_epoch,
        start_epoch=drs_epoch,
    )
    batch_sampler = _sharded(batch_sampler, shard)
    if loader_class is DataLoader and "generator" not in kwargs:
        return EpochLoader(
            dataset, batch_sampler=batch_sampler, seed=seed, first_epoch=first_epoch, **kwargs
        )
    return loader_class(dataset, batch_sampler=batch_sampler, **kwargs)


def evaluation_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    shard: tuple[int, int] | None = None,
    device=None,
    overrides: dict | None = None,
    loader_class=DataLoader,
) -> DataLoader:
    """The loader of validation and prediction: the data in order, sliced over processes.

    Its workers are seeded from a generator of its own, so prediction draws
    nothing from torch's global RNG, which training (and a resumed fit)
    follows. Parameters as for :func:`training_loader` (``overrides``: the
    ``iterator_valid__*`` settings).
    """
    kwargs, batch_size = _settings(dataset, device, dict(overrides or {}), batch_size)
    kwargs.setdefault("generator", torch.Generator())
    if shard is None:
        return loader_class(dataset, batch_size=batch_size, **kwargs)
    for key in ("shuffle", "drop_last", "sampler", "batch_sampler"):
        kwargs.pop(key, None)
    batches = BatchSampler(SequentialSampler(range(len(dataset))), batch_size, False)
    return loader_class(dataset, batch_sampler=_sharded(batches, shard), **kwargs)


def net_loader(net, dataset, *, training: bool) -> DataLoader:
    """The loader skorch asks ``net`` for (``get_iterator``): a training epoch's, drawn from
    the seed and span of ``net.schedule_``, or the evaluation loader of this process."""
    common = {"shard": net.processes.shard, "device": net.device, "batch_size": net.batch_size}
    if not training:
        return evaluation_loader(
            dataset,
            overrides=net.get_params_for("iterator_valid"),
            loader_class=net.iterator_valid,
            **common,
        )
    return training_loader(
        dataset,
        sampler=net.plan_.trained("sampler"),
        classes=net.classes_,
        seed=net.schedule_.seed,
        first_epoch=len(net.history),
        end_epoch=net.schedule_.end_epoch,
        drs_epoch=net.drs_epoch,
        transform=net.plan_.transform,
        overrides=net.get_params_for("iterator_train"),
        fresh_workers=net.checkpoint_dir is not None,
        loader_class=net.iterator_train,
        **common,
    )


def whole_set_loader(net, dataset) -> DataLoader:
    """Every batch of ``dataset`` in order, on every process of ``net``'s fit (embeddings,
    precise BatchNorm statistics, scores on a validation part)."""
    return evaluation_loader(
        dataset,
        batch_size=net.batch_size,
        device=net.device,
        overrides=net.get_params_for("iterator_valid"),
        loader_class=net.iterator_valid,
    )
