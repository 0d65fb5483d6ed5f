"""Samplers that re-balance the classes: by index (imblearn), per batch, progressively."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from sklearn.base import clone

from .epochs import MAX_SEED, EpochSampler, epoch_generator, epoch_rng


def frequency_sample_weights(y: np.ndarray, power: float) -> np.ndarray:
    """Sampling weight ``n_c ** -power`` of each sample's class ``c``.

    ``power=1`` draws every class equally often (inverse frequency);
    ``power=0.5`` is square-root sampling (class probability ~ ``sqrt(n_c)``).
    For a multi-label indicator ``y``, a sample weighs as its rarest label
    (the largest ``n_l ** -power`` of its labels); samples without labels
    form a group of their own.

    Parameters
    ----------
    y : ndarray of shape (N,) or (N, n_labels)
        Class codes, or a 0/1 label indicator.
    power : float
        The exponent on the class (or label) counts.

    Returns
    -------
    ndarray of shape (N,)
    """
    if y.ndim == 2:
        carried = y.astype(bool)
        label_weight = np.maximum(carried.sum(axis=0), 1).astype(np.float64) ** -power
        weights = np.where(carried, label_weight, 0.0).max(axis=1)  # the rarest label's
        empty = ~carried.any(axis=1)  # samples without labels: a group of their own
        if empty.any():
            weights[empty] = float(empty.sum()) ** -power
        return weights
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    return counts[codes].astype(np.float64) ** -power


def label_pools(y: np.ndarray) -> list[np.ndarray]:
    """The samples of each class; for a multi-label indicator ``y``, of each label.

    Multi-label: one pool per label that some sample carries, in column order,
    and a last pool of the samples without labels, if any. A sample is in the
    pool of each of its labels.

    Parameters
    ----------
    y : ndarray of shape (N,) or (N, n_labels)
        Class codes, or a 0/1 label indicator.

    Returns
    -------
    list of ndarray of int
    """
    if y.ndim == 1:
        _, codes = np.unique(y, return_inverse=True)
        return [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
    carried = y.astype(bool)
    pools = [np.flatnonzero(column) for column in carried.T if column.any()]
    empty = np.flatnonzero(~carried.any(axis=1))
    return pools + [empty] if len(empty) else pools


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
    spreads the remainder over randomly chosen classes. For a multi-label
    indicator ``y`` this is class-aware sampling (Shen et al. 2016), as the
    distribution-balanced loss was evaluated with: every label (and the
    group of samples without labels) is drawn equally often, then a sample
    that carries it (see :func:`label_pools`). Within a class, samples
    are drawn without replacement from a shuffled pool that is refilled when it
    runs out, so tail samples repeat only as often as needed (the pools are
    shuffled afresh every epoch). An epoch has as
    many batches as plain shuffling would (``ceil(n_samples / batch_size)``).

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        Labels of the training samples, or their 0/1 indicator matrix.
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
        self.pools = label_pools(np.asarray(y))
        self.batch_size = int(batch_size)
        n_samples = len(y)
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
        """Sampling probability of every sample at ``epoch``.

        Parameters
        ----------
        epoch : int
            The epoch, from 0.

        Returns
        -------
        ndarray of shape (N,)
        """
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
