"""Training-set samplers that re-draw every epoch, each seeded for reproducibility.

:func:`make_batch_sampler` turns a ``sampler`` setting of
:class:`~imbtorch.BalancedImageClassifier` into a batch sampler for
:class:`torch.utils.data.DataLoader`. Iterating it again (the next epoch) draws
new indices. The draws of epoch ``e`` follow from ``(seed, e)`` alone, as with
:meth:`torch.utils.data.DistributedSampler.set_epoch`: a fit resumed at epoch
``e`` and every process of a distributed fit draw exactly what one
uninterrupted process draws.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone
from torch.utils.data import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    WeightedRandomSampler,
)

SAMPLER_NAMES = ("weighted", "sqrt", "over", "under", "class_balanced", "progressive")
MAX_SEED = 2**31 - 1  # seeds drawn for torch, numpy and imblearn stay in int32


def _torch_generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator


def epoch_rng(seed: int, epoch: int, stream: int = 0) -> np.random.Generator:
    """The numpy generator of ``epoch``'s draws (``stream`` > 0: an independent one)."""
    key = [int(seed), int(epoch)] + ([int(stream)] if stream else [])
    return np.random.default_rng(key)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The torch generator of ``epoch``'s draws."""
    return _torch_generator(epoch_rng(seed, epoch).integers(MAX_SEED))


def set_epoch(sampler: Sampler, epoch: int) -> None:
    """Make the next iteration of ``sampler`` (or of a BatchSampler's sampler) draw ``epoch``."""
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
        """Draw ``epoch`` at the next iteration."""
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


def frequency_sample_weights(y: np.ndarray, power: float) -> np.ndarray:
    """Sampling weight ``n_c ** -power`` of each sample's class ``c``.

    ``power=1`` draws every class equally often (inverse frequency);
    ``power=0.5`` is square-root sampling (class probability ~ ``sqrt(n_c)``).
    """
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    return counts[codes].astype(np.float64) ** -power


class ImblearnIndexSampler(EpochSampler):
    """Apply an imbalanced-learn sampler to sample indices, anew every epoch.

    Each epoch clones ``sampler``, gives it a ``random_state`` drawn from
    ``(seed, epoch)``, and resamples ``(indices, y)``. Only samplers that *select*
    existing samples work (they expose ``sample_indices_``: RandomOverSampler,
    RandomUnderSampler, NearMiss, TomekLinks, ...); samplers that synthesise new
    samples (SMOTE, ADASYN) need features, not indices, and are refused.
    Distance-based selectors see only the index as a feature here.

    Parameters
    ----------
    sampler : imblearn sampler
        Any object with ``fit_resample``.
    y : ndarray of shape (n_samples,)
        Labels of the training samples, as the user gave them (so that a
        ``sampling_strategy`` dict uses the user's labels).
    seed : int
        Seed of the per-epoch draws.
    first_epoch : int, default=0
    """

    def __init__(self, sampler, y: np.ndarray, seed: int, first_epoch: int = 0) -> None:
        super().__init__(seed, first_epoch)
        self.sampler = sampler
        self.y = np.asarray(y)
        self._drawn: tuple[int, np.ndarray] | None = None  # (epoch, indices), as len() saw it

    def _draw(self, epoch: int) -> np.ndarray:
        rng = epoch_rng(self.seed, epoch)
        sampler = clone(self.sampler)
        if "random_state" in sampler.get_params():
            sampler.set_params(random_state=int(rng.integers(MAX_SEED)))
        indices = np.arange(len(self.y)).reshape(-1, 1)
        try:
            sampler.fit_resample(indices, self.y)
        except ValueError as exc:
            raise ValueError(
                f"sampler={self.sampler!r} cannot resample the training labels: {exc} "
                "Fix the sampler's settings (e.g. its sampling_strategy) for these classes, "
                "or choose another sampler."
            ) from exc
        selected = getattr(sampler, "sample_indices_", None)
        if selected is None:
            raise TypeError(
                f"sampler={self.sampler!r} synthesises new samples instead of selecting "
                "existing ones (it has no sample_indices_), so it cannot resample images by "
                "index. Use a selecting sampler such as RandomOverSampler or "
                "RandomUnderSampler, or the built-in 'over', 'under', 'weighted', 'sqrt', "
                "'class_balanced'."
            )
        return rng.permutation(np.asarray(selected))

    def _indices(self, epoch: int) -> np.ndarray:
        if self._drawn is None or self._drawn[0] != epoch:
            self._drawn = (epoch, self._draw(epoch))
        return self._drawn[1]

    def __len__(self) -> int:
        return len(self._indices(self.epoch))

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices(self._next_epoch()).tolist())


class ClassBalancedBatchSampler(EpochSampler):
    """Batches that hold every class (nearly) equally often.

    Each batch takes ``batch_size // n_classes`` samples of every class and
    spreads the remainder over randomly chosen classes. Within a class, samples
    are drawn without replacement from a shuffled pool that is refilled when it
    runs out, so tail samples repeat only as often as needed (the pools are
    shuffled afresh every epoch). An epoch has as
    many batches as plain shuffling would (``ceil(n_samples / batch_size)``).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Labels of the training samples.
    batch_size : int
        Samples per batch.
    seed : int
        Seed of the draws.
    drop_last : bool, default=False
        Use ``floor`` instead of ``ceil`` for the number of batches.
    first_epoch : int, default=0
    """

    def __init__(
        self,
        y: np.ndarray,
        batch_size: int,
        seed: int,
        drop_last: bool = False,
        first_epoch: int = 0,
    ) -> None:
        super().__init__(seed, first_epoch)
        _, codes = np.unique(np.asarray(y), return_inverse=True)
        self.pools = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
        self.batch_size = int(batch_size)
        n_samples = len(codes)
        self.n_batches = (
            n_samples // self.batch_size if drop_last else -(-n_samples // self.batch_size)
        )

    def _take(self, rng: np.random.Generator, queues: list, c: int, k: int) -> np.ndarray:
        taken = []
        while k > 0:
            if len(queues[c]) == 0:
                queues[c] = rng.permutation(self.pools[c])
            part, queues[c] = queues[c][:k], queues[c][k:]
            taken.append(part)
            k -= len(part)
        return np.concatenate(taken) if taken else np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[list[int]]:
        # a generator: the epoch moves on at the first batch, not at iter(). A DataLoader
        # with workers calls iter() twice an epoch and discards the first iterator unstarted.
        yield from self._batches(epoch_rng(self.seed, self._next_epoch()))

    def _batches(self, rng: np.random.Generator) -> Iterator[list[int]]:
        n_classes = len(self.pools)
        base, remainder = divmod(self.batch_size, n_classes)
        queues = [rng.permutation(pool) for pool in self.pools]
        for _ in range(self.n_batches):
            counts = np.full(n_classes, base)
            counts[rng.choice(n_classes, size=remainder, replace=False)] += 1
            batch = np.concatenate([self._take(rng, queues, c, k) for c, k in enumerate(counts)])
            yield rng.permutation(batch).tolist()


class ProgressiveSampler(EpochSampler):
    """Progressively-balanced sampling (Kang et al., "Decoupling Representation and
    Classifier for Long-Tailed Recognition", ICLR 2020).

    Epoch ``t`` of ``T`` draws ``n_samples`` indices with replacement, class
    ``c`` with probability ``(1 - t / (T - 1)) * n_c / n + t / (T - 1) / C``:
    instance-balanced at the first epoch, class-balanced at the last.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    n_epochs : int
        ``T``, the number of epochs of the schedule.
    seed : int
    first_epoch : int, default=0
        Epoch index of the first iteration (to continue a schedule).
    """

    def __init__(self, y: np.ndarray, n_epochs: int, seed: int, first_epoch: int = 0) -> None:
        super().__init__(seed, first_epoch)
        self.instance = frequency_sample_weights(y, power=0.0)
        self.instance /= self.instance.sum()
        self.balanced = frequency_sample_weights(y, power=1.0)
        self.balanced /= self.balanced.sum()
        self.n_epochs = int(n_epochs)

    def weights(self, epoch: int) -> np.ndarray:
        """Sampling probability of every sample at ``epoch``."""
        t = min(1.0, epoch / max(1, self.n_epochs - 1))
        return (1.0 - t) * self.instance + t * self.balanced

    def __len__(self) -> int:
        return len(self.instance)

    def __iter__(self) -> Iterator[int]:
        epoch = self._next_epoch()
        probs = torch.as_tensor(self.weights(epoch))
        generator = epoch_generator(self.seed, epoch)
        drawn = torch.multinomial(probs, len(probs), replacement=True, generator=generator)
        return iter(drawn.tolist())


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
    y : ndarray of shape (n_samples,)
        Labels of the training samples.
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
