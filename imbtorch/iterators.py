"""How :class:`~imbtorch.BalancedImageClassifier` builds its DataLoaders.

Training batches come from the ``sampler`` setting (:mod:`imbtorch.samplers`),
drawn from ``sampler_seed_`` and the epoch, carry ``train_transform``, and are
shared out over processes under an ``accelerator`` (:mod:`imbtorch.distributed`).
Validation and prediction read the data in order. Loader defaults suit the
source and device (:mod:`imbtorch.data.loader`); ``iterator_train__*`` and
``iterator_valid__*`` override them.
"""

from __future__ import annotations

import torch
from torch.utils.data import BatchSampler, SequentialSampler

from .data.dataset import dataset_codes, with_transform
from .data.loader import loader_kwargs
from .samplers import MAX_SEED, epoch_rng, make_batch_sampler


class LoadersMixin:
    """``get_iterator`` of a skorch net with the estimator's loader settings."""

    def get_iterator(self, dataset, training=False):
        """A DataLoader set for the source and device; training batches from the ``sampler``.

        Training batches carry ``train_transform``. ``iterator_train__*`` /
        ``iterator_valid__*`` parameters override the loader defaults. With
        an ``accelerator`` over several processes, each process loads its
        slice of every batch (:mod:`imbtorch.distributed`).
        """
        if not training:
            return self._evaluation_loader(dataset, shard=True)
        kwargs, batch_size = self._loader_settings(dataset, training=True)
        if self.train_transform is not None:
            dataset = with_transform(dataset, self.train_transform)
        if "sampler" in kwargs or "batch_sampler" in kwargs:
            if self.sampler is not None:
                raise ValueError(
                    f"sampler={self.sampler!r} and an iterator_train__sampler / batch_sampler "
                    "were both given; keep one of them."
                )
            if self._world_size > 1:
                raise ValueError(
                    "An iterator_train__sampler / batch_sampler cannot be shared out over "
                    "processes; use the sampler parameter, whose batches are."
                )
            return self.iterator_train(dataset, batch_size=batch_size, **kwargs)
        epochs_done = len(self.history)
        batch_sampler = make_batch_sampler(
            self.sampler,
            self.classes_[dataset_codes(dataset)],  # imblearn strategies name user labels
            batch_size=batch_size,
            seed=self.sampler_seed_,
            shuffle=kwargs.pop("shuffle", True),
            drop_last=kwargs.pop("drop_last", False),
            n_epochs=epochs_done + self.max_epochs,
            first_epoch=epochs_done,
            start_epoch=self.drs_epoch,
        )
        if "generator" not in kwargs:
            kwargs["generator"] = self._loader_generator_ = torch.Generator()
        return self.iterator_train(dataset, batch_sampler=self._shard(batch_sampler), **kwargs)

    def on_epoch_begin(self, net, *args, **kwargs):
        """Seed the training loader's generator from ``(sampler_seed_, epoch)``.

        The loader draws its workers' base seed from it, not from torch's
        global RNG, so that how many workers load (none in a Dask worker,
        persistent or not) does not change the random numbers training draws
        (dropout, minority augmentation).
        """
        super().on_epoch_begin(net, *args, **kwargs)
        generator = self.__dict__.get("_loader_generator_")
        if generator is not None:
            epoch = len(self.history) - 1
            worker_seeds = epoch_rng(self.sampler_seed_, epoch, stream=1)  # not the sampler's
            generator.manual_seed(int(worker_seeds.integers(MAX_SEED)))

    def _loader_settings(self, dataset, *, training: bool) -> tuple[dict, int]:
        """DataLoader keyword arguments (defaults, then ``iterator_*__``) and the batch size."""
        overrides = self.get_params_for("iterator_train" if training else "iterator_valid")
        if training and self.checkpoint_dir is not None:
            # fresh workers every epoch, seeded from (sampler_seed_, epoch): a resumed epoch
            # augments in its workers as the uninterrupted one did
            overrides.setdefault("persistent_workers", False)
        kwargs = loader_kwargs(dataset, self.device, overrides)
        batch_size = kwargs.pop("batch_size", self.batch_size)
        return kwargs, len(dataset) if batch_size == -1 else batch_size

    def _evaluation_loader(self, dataset, *, shard: bool):
        """The loader of validation and prediction, in order; shared out over processes."""
        kwargs, batch_size = self._loader_settings(dataset, training=False)
        # the workers' seeds come from a generator of its own: prediction does not draw
        # from torch's global RNG, which training (and a resumed fit) follows
        kwargs.setdefault("generator", torch.Generator())
        if not (shard and self._world_size > 1):
            return self.iterator_valid(dataset, batch_size=batch_size, **kwargs)
        for key in ("shuffle", "drop_last", "sampler", "batch_sampler"):
            kwargs.pop(key, None)
        batches = BatchSampler(SequentialSampler(range(len(dataset))), batch_size, False)
        return self.iterator_valid(dataset, batch_sampler=self._shard(batches), **kwargs)
