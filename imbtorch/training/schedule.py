"""What a fit's epochs follow from: the seed of its draws, its span, its loss and lr phases.

:class:`TrainingSchedule` is the one owner of the training draws. Epoch ``e``
of the training loader (its batches and its workers' seeds, see
:mod:`imbtorch.training.loaders`) follows from ``(seed, e)`` alone, and a
schedule that spans the fit (progressive sampling) from ``end_epoch``, the
epoch the fit ends at. A fit resumed from a checkpoint restores the seed and
ends at the same epoch as the uninterrupted one, so it draws exactly what the
uninterrupted fit draws. cRT's re-sampling of features draws from the same
seed, so every process of a distributed fit re-trains the same head.

:class:`DeferredReweighting` owns the loss's phases (Cao et al. 2019, DRW):
classes weigh equally before ``drw_epoch``, by ``class_weight_`` from it on.
:class:`WarmupCosine` is the learning-rate factor of linear warm-up and
cosine decay, for skorch's :class:`~skorch.callbacks.LRScheduler`.
"""

from __future__ import annotations

import math
from numbers import Integral

from skorch.callbacks import Callback

from ..samplers import MAX_SEED, epoch_rng

_HEAD_STREAM = 2  # stream 0: the sampler's draws, 1: the loader workers' seeds


class TrainingSchedule:
    """The seed of a fit's random draws and the epoch the fit ends at.

    Parameters
    ----------
    seed : int
        Seed of every epoch's draws; the same on every process of a
        distributed fit.
    end_epoch : int
        Number of epochs in the history when the fit ends: ``max_epochs`` for
        ``fit`` (resumed or not), the epochs done plus ``max_epochs`` for
        ``partial_fit``. Progressive sampling spans these epochs.
    """

    def __init__(self, seed: int, end_epoch: int) -> None:
        self.seed = int(seed)
        self.end_epoch = int(end_epoch)

    def head_seed(self) -> int:
        """Seed of the classifier re-training after the epochs (cRT)."""
        return int(epoch_rng(self.seed, self.end_epoch, stream=_HEAD_STREAM).integers(MAX_SEED))

    def state_dict(self) -> dict:
        """What a checkpoint keeps: the seed (the end epoch belongs to each call to fit)."""
        return {"seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        """Continue the draws of the fit that saved ``state``.

        Parameters
        ----------
        state : dict
            What :meth:`state_dict` returned.
        """
        self.seed = int(state["seed"])

    def __repr__(self) -> str:
        return f"TrainingSchedule(seed={self.seed}, end_epoch={self.end_epoch})"


class DeferredReweighting(Callback):
    """Deferred re-weighting: class weights in the loss from ``start_epoch`` (0-based) on.

    At the beginning of every epoch the net's loss is rebuilt when its phase
    changes (and at the first epoch of every call to ``fit``, which may
    resume past ``start_epoch``), through the net's public
    ``build_criterion(class_weighted=...)``.

    Parameters
    ----------
    start_epoch : int
    """

    def __init__(self, start_epoch: int) -> None:
        self.start_epoch = start_epoch

    def on_train_begin(self, net, **kwargs) -> None:
        self._weighted = None  # not a fitted attribute: a resumed fit decides afresh

    def on_epoch_begin(self, net, **kwargs) -> None:
        weighted = len(net.history) - 1 >= self.start_epoch
        if weighted != getattr(self, "_weighted", None):
            net.criterion_ = net.build_criterion(class_weighted=weighted)
            self._weighted = weighted


def default_warmup(max_epochs, *, pretrained: bool) -> int:
    """Epochs of warm-up ``warmup_epochs=None`` takes.

    A tenth of ``max_epochs`` (3 of the default 30, none under 10) from
    scratch, where ``lr=None`` trains AdamW at 4e-3, a rate high for a
    network's first steps. None when fine-tuning pretrained weights (at
    1e-3), where it was not measured.

    Parameters
    ----------
    max_epochs : int
        Epochs of the fit; any other value (not yet validated) gives 0.
    pretrained : bool
        Whether the network starts from ``backbone_weights``.
    """
    if pretrained or not isinstance(max_epochs, Integral):
        return 0  # get_params(deep=True) builds the callbacks before fit validates
    return int(max_epochs) // 10


class WarmupCosine:
    """Learning-rate factor of each epoch: linear warm-up, then cosine decay (or constant).

    Epoch ``e < warmup`` trains with ``(e + 1) / (warmup + 1)`` of the
    learning rate; from ``warmup`` on the factor falls from 1 along half a
    cosine that would reach 0 at epoch ``total`` (``cosine=False``: stays 1).
    Epochs past ``total`` (a ``partial_fit`` that trains on) keep the last
    factor's floor of 0. For ``torch.optim.lr_scheduler.LambdaLR``.

    Parameters
    ----------
    warmup : int
        Epochs of warm-up.
    total : int
        Epochs of the schedule (``max_epochs``).
    cosine : bool, default=True
    """

    def __init__(self, warmup: int, total: int, cosine: bool = True) -> None:
        # stored as given: get_params(deep=True) builds it from any settings, checked in fit
        self.warmup = warmup
        self.total = total
        self.cosine = cosine

    def __call__(self, epoch: int) -> float:
        if epoch < self.warmup:
            return (epoch + 1) / (self.warmup + 1)
        if not self.cosine:
            return 1.0
        progress = min(1.0, (epoch - self.warmup) / max(1, self.total - self.warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))
