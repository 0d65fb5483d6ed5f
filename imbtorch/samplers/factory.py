"""A ``sampler`` setting to the batch sampler of the training loader; deferred re-sampling."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from torch.utils.data import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    WeightedRandomSampler,
)

from .balanced import (
    ClassBalancedBatchSampler,
    ImblearnIndexSampler,
    ProgressiveSampler,
    frequency_sample_weights,
)
from .epochs import EpochSampler, EpochSeededSampler, set_epoch

SAMPLER_NAMES = ("weighted", "sqrt", "over", "under", "class_balanced", "progressive")
#: The ``sampler`` settings defined for a multi-label indicator ``y``.
MULTILABEL_SAMPLERS = (None, "weighted", "sqrt", "class_balanced")


class DeferredBatchSampler(EpochSampler):
    """Use ``before`` until epoch ``start_epoch``, then ``after`` (deferred re-sampling).

    Cao et al. 2019 (DRS): train with plain sampling first, re-balance late.

    Parameters
    ----------
    before, after : batch samplers
    start_epoch : int
        First epoch (0-based) that uses ``after``.
    first_epoch : int, default=0
        Epoch index of the first iteration (to continue a schedule).
    """

    def __init__(self, before: Sampler, after: Sampler, start_epoch: int, first_epoch: int = 0):
        super().__init__(seed=0, first_epoch=first_epoch)  # the draws are the samplers' own
        self.before, self.after = before, after
        self.start_epoch = int(start_epoch)

    def _current(self) -> Sampler:
        return self.after if self.epoch >= self.start_epoch else self.before

    def __len__(self) -> int:
        current = self._current()
        set_epoch(current, self.epoch)
        return len(current)

    def __iter__(self) -> Iterator[list[int]]:
        # a generator: the epoch moves on at the first batch, so that len() in between
        # (list() asks for it after iter()) still sees this epoch
        current = self._current()
        set_epoch(current, self._next_epoch())
        yield from current


def make_batch_sampler(
    sampler,
    y: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    shuffle: bool = True,
    drop_last: bool = False,
    n_epochs: int = 1,
    first_epoch: int = 0,
    start_epoch: int | None = None,
) -> Sampler:
    """Build the per-epoch batch sampler for a ``sampler`` setting.

    Parameters
    ----------
    sampler : None, str or imblearn sampler
        ``None``: plain shuffling (or sequential order with ``shuffle=False``).
        ``'weighted'``: :class:`~torch.utils.data.WeightedRandomSampler` with
        inverse class frequency (every class equally likely), ``n_samples`` draws
        with replacement. ``'sqrt'``: the same with square-root frequency.
        ``'over'`` / ``'under'``: imblearn's RandomOverSampler /
        RandomUnderSampler on indices (an epoch then holds ``n_classes * n_max``
        or ``n_classes * n_min`` samples). ``'class_balanced'``:
        :class:`ClassBalancedBatchSampler`. ``'progressive'``:
        :class:`ProgressiveSampler` over ``n_epochs``. An imblearn sampler
        object: :class:`ImblearnIndexSampler`.
    y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        Labels of the training samples, or their multi-label indicator
        matrix (:data:`MULTILABEL_SAMPLERS`: ``'weighted'`` and ``'sqrt'``
        weigh each sample by its rarest label, ``'class_balanced'`` is
        label-aware).
    batch_size, seed, shuffle, drop_last
        As for a DataLoader; ``seed`` fixes every draw.
    n_epochs : int, default=1
        Length of the training run (the progressive schedule spans it).
    first_epoch : int, default=0
        Index of the coming epoch, to continue schedules across calls.
    start_epoch : int, default=None
        Deferred re-sampling: shuffle plainly before this epoch, then use
        ``sampler`` (:class:`DeferredBatchSampler`).

    Returns
    -------
    batch_sampler : torch Sampler yielding lists of indices
    """
    y = np.asarray(y)
    if y.ndim == 2 and sampler not in MULTILABEL_SAMPLERS:
        raise ValueError(
            f"sampler={sampler!r} draws by one label per sample, but y is a multi-label "
            f"indicator matrix; use one of {MULTILABEL_SAMPLERS[1:]} (by each sample's rarest "
            "label, or label-aware) or None."
        )
    if not shuffle and sampler is not None:
        raise ValueError(
            f"iterator_train__shuffle=False conflicts with sampler={sampler!r}, which sets the "
            "order of the training samples; drop one of the two."
        )
    if start_epoch is not None and sampler is not None:
        plain_seed, balanced_seed = np.random.SeedSequence(seed).generate_state(2)
        plain = make_batch_sampler(
            None,
            y,
            batch_size=batch_size,
            seed=int(plain_seed),
            shuffle=shuffle,
            drop_last=drop_last,
        )
        balanced = make_batch_sampler(
            sampler,
            y,
            batch_size=batch_size,
            seed=int(balanced_seed),
            drop_last=drop_last,
            n_epochs=n_epochs,
        )
        return DeferredBatchSampler(plain, balanced, start_epoch, first_epoch=first_epoch)
    if sampler == "class_balanced":
        return ClassBalancedBatchSampler(
            y, batch_size, seed, drop_last=drop_last, first_epoch=first_epoch
        )
    if sampler is None and not shuffle:
        index_sampler = SequentialSampler(range(len(y)))
    elif sampler is None:
        index_sampler = EpochSeededSampler(RandomSampler(range(len(y))), seed, first_epoch)
    elif sampler in ("weighted", "sqrt"):
        weights = frequency_sample_weights(y, power=1.0 if sampler == "weighted" else 0.5)
        weighted = WeightedRandomSampler(
            torch.as_tensor(weights), num_samples=len(y), replacement=True
        )
        index_sampler = EpochSeededSampler(weighted, seed, first_epoch)
    elif sampler == "progressive":
        index_sampler = ProgressiveSampler(y, n_epochs, seed, first_epoch=first_epoch)
    elif sampler == "over":
        index_sampler = ImblearnIndexSampler(RandomOverSampler(), y, seed, first_epoch)
    elif sampler == "under":
        index_sampler = ImblearnIndexSampler(RandomUnderSampler(), y, seed, first_epoch)
    elif hasattr(sampler, "fit_resample"):
        index_sampler = ImblearnIndexSampler(sampler, y, seed, first_epoch)
    else:
        raise ValueError(
            f"sampler must be None, one of {SAMPLER_NAMES} or an imbalanced-learn sampler "
            f"(an object with fit_resample); got {sampler!r}."
        )
    return BatchSampler(index_sampler, batch_size=batch_size, drop_last=drop_last)
