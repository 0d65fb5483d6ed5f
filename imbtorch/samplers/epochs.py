"""The epoch machinery of the samplers: epoch ``e`` draws from ``(seed, e)`` alone."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import BatchSampler, Sampler

MAX_SEED = 2**31 - 1  # seeds drawn for torch, numpy and imblearn stay in int32


def _torch_generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator


def epoch_rng(seed: int, epoch: int, stream: int = 0) -> np.random.Generator:
    """The numpy generator of ``epoch``'s draws (``stream`` > 0: an independent one).

    Parameters
    ----------
    seed : int
        The fit's seed.
    epoch : int
        The epoch drawn.
    stream : int, default=0
        Another independent stream of the same epoch.

    Returns
    -------
    numpy.random.Generator
    """
    key = [int(seed), int(epoch)] + ([int(stream)] if stream else [])
    return np.random.default_rng(key)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The torch generator of ``epoch``'s draws.

    Parameters
    ----------
    seed : int
        The fit's seed.
    epoch : int
        The epoch drawn.

    Returns
    -------
    torch.Generator
    """
    return _torch_generator(epoch_rng(seed, epoch).integers(MAX_SEED))


def set_epoch(sampler: Sampler, epoch: int) -> None:
    """Make the next iteration of ``sampler`` (or of a BatchSampler's sampler) draw ``epoch``.

    Parameters
    ----------
    sampler : torch.utils.data.Sampler
        An :class:`EpochSampler`, or a batch sampler around one; others are left alone.
    epoch : int
        The epoch to draw next.
    """
    inner = sampler.sampler if isinstance(sampler, BatchSampler) else sampler
    if hasattr(inner, "set_epoch"):
        inner.set_epoch(epoch)


class EpochSampler(Sampler):
    """Base of samplers whose draws follow from ``(seed, epoch)``; iterating moves on an epoch.

    Parameters
    ----------
    seed : int
    first_epoch : int, default=0
        Epoch of the first iteration (to continue a schedule or a fit).
    """

    def __init__(self, seed: int, first_epoch: int = 0) -> None:
        self.seed = int(seed)
        self.epoch = int(first_epoch)

    def set_epoch(self, epoch: int) -> None:
        """Draw ``epoch`` at the next iteration.

        Parameters
        ----------
        epoch : int
            The epoch to draw next.
        """
        self.epoch = int(epoch)

    def _next_epoch(self) -> int:
        epoch, self.epoch = self.epoch, self.epoch + 1
        return epoch


class EpochSeededSampler(EpochSampler):
    """A torch sampler with a ``generator`` (RandomSampler, WeightedRandomSampler) seeded per epoch.

    Parameters
    ----------
    sampler : torch Sampler with a ``generator`` attribute
    seed, first_epoch
        As for :class:`EpochSampler`.
    """

    def __init__(self, sampler: Sampler, seed: int, first_epoch: int = 0) -> None:
        super().__init__(seed, first_epoch)
        self.sampler = sampler

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[int]:
        self.sampler.generator = epoch_generator(self.seed, self._next_epoch())
        return iter(self.sampler)
