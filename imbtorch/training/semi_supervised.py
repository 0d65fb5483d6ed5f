"""Semi-supervised training on unlabelled images: FixMatch, pseudo-labels under the pool's prior.

Every training step of a fit with unlabelled images (``y == -1``) takes, beside
its labelled batch, ``ratio`` times as many unlabelled images, each as a weak
and a strong augmentation of itself (:class:`~imbtorch.data.unlabeled.TwoViews`,
in the loader's workers). The network sees the three in one batch. Where its
prediction on the weak view is confident (at least ``threshold``), the class it
predicts is the image's pseudo-label, which the strong view is trained to
predict (FixMatch, Sohn et al. 2020).

Long-tailed training biases pseudo-labels. A re-balanced network (the
default's logit-adjusted loss) predicts as if the classes were equal, and
so over-labels the rare classes of a long-tailed pool. A network trained on the
raw frequencies under-labels them in a balanced pool. So the pseudo-labels
follow a stated class prior ``q`` of the unlabelled pool. With ``rho`` the
prior of the network's training scores
(:func:`~imbtorch.prediction.training_prior`), the posterior under ``q`` is
``softmax(logits + log q - log rho)`` (Saerens et al. 2002). The strong view is
trained with the same shift, so that the network's scores keep their meaning
(the logit-adjusted loss of Menon et al. 2021, under the pool's prior).
``q`` is:

- ``'estimate'``: estimated along training. It starts from ``rho``; after
  every epoch it is the share of the epoch's unlabelled images that the
  network's scores (under ``rho``) put in each class, as ACR (Wei & Gan 2023)
  estimates the unlabelled distribution from the counts of its predictions.
  Saerens et al.'s EM, which re-weighs those scores by the estimate itself,
  collapsed onto one class in trials: the scores of a network trained with
  mixup are under-confident, and EM sharpens the prior until it is one-hot.
- ``'labeled'``: the labelled images' frequencies (DARP's assumption).
- ``'uniform'``: equal classes.
- an array: the prior you know.
- ``None``: ``rho`` itself (no correction; plain FixMatch).

:class:`PseudoLabeling` is the skorch callback that owns this: the epoch's
unlabelled batches (drawn from the fit's seed and the epoch, so that a resumed
fit draws those of the uninterrupted one), the estimate (``prior_``, saved
with the checkpoint) and the share of confident pseudo-labels, which it
records in the history (``pseudo_labeled``) and, when training ends, in the
fit's plan.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback
from torch.utils.data import DataLoader

from ..data.loader import loader_kwargs
from ..data.unlabeled import TwoViews
from ..samplers import MAX_SEED, epoch_rng
from .distributed import RankBatchSampler

_INDEX_STREAM, _WORKER_STREAM = 2, 3  # streams 0 and 1 of (seed, epoch): the labelled loader's
#: History key of the share of the epoch's unlabelled images that got a pseudo-label.
CONFIDENT_KEY = "pseudo_labeled"
_FLOOR = 1e-6  # least share of a class in a prior (its log stays finite)


class _Cycling:
    """Batches of ``size`` of ``n`` indices, shuffled anew from ``rng`` at every pass, forever."""

    def __init__(self, n: int, size: int, rng: np.random.Generator) -> None:
        self.n, self.size, self.rng = n, min(size, n), rng

    def __iter__(self):
        while True:
            order = self.rng.permutation(self.n)
            for start in range(0, self.n - self.size + 1, self.size):
                yield order[start : start + self.size].tolist()


def normalized_prior(prior) -> np.ndarray:
    """``prior`` as float64 that sums to one, every class at least a millionth."""
    prior = np.maximum(np.asarray(prior, dtype=np.float64), _FLOOR)
    return prior / prior.sum()


def pool_posterior(logits: torch.Tensor, prior, training_prior) -> torch.Tensor:
    """The class posterior under the pool's ``prior`` of images whose network scores
    ``logits`` are the posterior under ``training_prior`` (Saerens et al. 2002).

    Parameters
    ----------
    logits : tensor of shape (N, n_classes)
    prior, training_prior : array-like of shape (n_classes,)

    Returns
    -------
    tensor of shape (N, n_classes), float32
    """
    shift = np.log(normalized_prior(prior)) - np.log(normalized_prior(training_prior))
    shift = torch.as_tensor(shift, dtype=torch.float32, device=logits.device)
    return torch.softmax(logits.detach().float() + shift, dim=1)


def predicted_counts(logits: torch.Tensor) -> torch.Tensor:
    """Images the network's ``logits`` put in each class (their argmax), the evidence of
    the ``'estimate'`` prior.

    Parameters
    ----------
    logits : tensor of shape (N, n_classes)

    Returns
    -------
    tensor of shape (n_classes,), int64
    """
    return torch.bincount(logits.detach().argmax(dim=1), minlength=logits.shape[1])


class PseudoLabeling(Callback):
    """FixMatch's unlabelled half of every training step (see the module's docstring).

    Parameters
    ----------
    threshold : float
        Least confidence of a pseudo-label.
    ratio : int
        Unlabelled images per labelled image in a step.
    prior : {'estimate', 'labeled', 'uniform'}, array-like or None
        The class prior the pseudo-labels follow.

    Attributes
    ----------
    prior_ : ndarray of shape (n_classes,) or None
        The prior the pseudo-labels follow now; set when training begins.
    confident_share_ : float or None
        Share of the last epoch's unlabelled images that got a pseudo-label.
    """

    def __init__(self, threshold: float, ratio: int, prior="estimate") -> None:
        self.threshold = threshold
        self.ratio = ratio
        self.prior = prior

    def initialize(self):
        self.prior_ = None
        self.confident_share_ = None
        self._data = None
        self._batches = None
        self._views = None
        self._sums = None
        return self

    def use(self, dataset: TwoViews, *, training_prior, labeled_prior) -> None:
        """The unlabelled images of this run, and the priors :attr:`prior` may name.

        Parameters
        ----------
        dataset : TwoViews
        training_prior : array-like of shape (n_classes,)
            The prior of the network's training scores.
        labeled_prior : array-like of shape (n_classes,)
            The labelled images' class frequencies.
        """
        self._data = dataset
        self._training_prior = normalized_prior(training_prior)
        if self.prior_ is not None:  # a later run (partial_fit, resume) goes on from it
            return
        n_classes = len(training_prior)
        named = {
            "estimate": training_prior,
            "labeled": labeled_prior,
            "uniform": np.ones(n_classes),
            None: training_prior,
        }
        prior = (
            named[self.prior] if self.prior is None or isinstance(self.prior, str) else self.prior
        )
        self.prior_ = normalized_prior(prior)

    # -- skorch's notifications ----------------------------------------------------------
    def on_epoch_begin(self, net, **kwargs) -> None:
        epoch = len(net.history) - 1  # the history holds the epoch running
        seed = net.schedule_.seed
        batch_size = self.ratio * (len(self._data) if net.batch_size == -1 else net.batch_size)
        batches = _Cycling(len(self._data), batch_size, epoch_rng(seed, epoch, _INDEX_STREAM))
        shard = net.processes.shard
        overrides = {
            key: value
            for key, value in net.get_params_for("iterator_train").items()
            if key not in ("sampler", "batch_sampler", "shuffle", "drop_last", "batch_size")
        }
        kwargs = loader_kwargs(self._data, net.device, overrides)
        kwargs["persistent_workers"] = False  # the epoch's loader ends with the epoch
        generator = torch.Generator()
        generator.manual_seed(int(epoch_rng(seed, epoch, _WORKER_STREAM).integers(MAX_SEED)))
        loader = DataLoader(
            self._data,
            batch_sampler=batches if shard is None else RankBatchSampler(batches, *shard),
            generator=generator,
            **kwargs,
        )
        self._batches = iter(loader)
        self._sums = torch.zeros(2 + len(self.prior_), dtype=torch.float64)

    def on_batch_begin(self, net, training=False, **kwargs) -> None:
        if training:
            views, weight = next(self._batches)
            self._views = (views[:, 0], views[:, 1], weight)
            self._counted = False

    def on_epoch_end(self, net, **kwargs) -> None:
        self._batches = None  # its workers end
        sums = net.processes.sum(self._sums)
        self._sums = None
        seen, confident = float(sums[0]), float(sums[1])
        if seen:
            self.confident_share_ = confident / seen
            net.history.record(CONFIDENT_KEY, self.confident_share_)
            if self.prior == "estimate":
                self.prior_ = normalized_prior(sums[2:].numpy() / seen)

    def on_train_end(self, net, **kwargs) -> None:
        self._views = None
        if self.confident_share_ is not None:
            net.plan_.unlabeled.record(self.prior_, self.confident_share_, net.classes_)

    def release(self) -> None:
        """Forget the unlabelled images once the fit is done (the fitted net keeps none)."""
        self._data = self._views = self._batches = None

    # -- the training step's part --------------------------------------------------------
    def views(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step's unlabelled images: weak views, strong views, sample weights."""
        return self._views

    def loss(self, weak_logits: torch.Tensor, strong_logits: torch.Tensor) -> torch.Tensor:
        """FixMatch's loss of the step: the strong views' cross-entropy against the weak
        views' confident pseudo-labels, under the pool's prior, averaged over all the
        unlabelled images (weighted by their sample weights).

        The first call of a step (SAM's passes call it twice) counts the
        step's images, confident pseudo-labels and posteriors for the epoch.
        """
        device = weak_logits.device
        posterior = pool_posterior(weak_logits, self.prior_, self._training_prior)
        confidence, pseudo = posterior.max(dim=1)
        confident = (confidence >= self.threshold).float()
        weight = self._views[2].to(device)
        shift = np.log(self.prior_) - np.log(self._training_prior)
        shift = torch.as_tensor(shift, dtype=torch.float32, device=device)
        per_image = F.cross_entropy(strong_logits.float() + shift, pseudo, reduction="none")
        if not self._counted:
            self._counted = True
            counts = torch.stack([confident.new_tensor(len(confident)), confident.sum()])
            predicted = predicted_counts(weak_logits).to(counts.dtype)
            step = torch.cat([counts, predicted])
            self._sums += step.detach().cpu().double()
        return (per_image * confident * weight).mean()
