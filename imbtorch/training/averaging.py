"""Weight averaging: an exponential moving average of the network's weights along training.

Trained at a constant learning rate, a network's last weights are one noisy
point of its trajectory. An exponential moving average of the weights
(Polyak averaging; timm's ``ModelEma``) smooths that noise away at the cost of
a copy of the weights and one in-place update a step. :class:`WeightAveraging`
is a skorch callback that owns the average (torch's
:class:`~torch.optim.swa_utils.AveragedModel`, buffers included): it creates
it when training begins, updates it after every optimizer step (after any
``max_norm`` projection), and hands its weights to the network when the
estimator finishes the network (:meth:`WeightAveraging.hand_over`: after
``max_epochs``, and again after the epochs ``'auto'`` adds), so that what
follows (precise BatchNorm statistics, the training score, the classifier
stage, prediction, saving) sees the averaged network; added epochs train on
from it. Checkpoints save it with the other callbacks' state
(:mod:`imbtorch.training.resume`).

With a validation split, the average is what the monitors score (timm
validates its EMA model the same way): it takes the network's place when an
epoch's validation begins, so that the scores, early stopping's best weights
and skorch's ``Checkpoint`` all see it, and gives the place back to the
trained weights when the next epoch begins, so that the optimizer steps on
from them as if nothing was scored. Until then it keeps them in
``trained_``, which a checkpoint saves with the average. The network ends
with the average early stopping chose, or the last one.

``ema_epochs`` sets the average's time constant in epochs: a step's weights
count ``exp(-1)`` as much ``ema_epochs`` epochs later. Where
``strategy='auto'`` trains its own schedule it averages with a time
constant of :data:`~imbtorch.strategies.AUTO_EMA_EPOCHS` epochs
(``ema_epochs_``; why: the documentation's design note on the default).
"""

from __future__ import annotations

import math
from functools import partial

from skorch.callbacks import Callback
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def ema_decay(time_constant_epochs: float, steps_per_epoch: int) -> float:
    """The per-step decay of an average whose time constant is ``time_constant_epochs``
    (0 where that is under one step: the average is then the last weights)."""
    return max(0.0, 1.0 - 1.0 / (time_constant_epochs * steps_per_epoch))


def _ema_update(averages, currents, n_averaged, *, decay: float) -> None:
    """torch's EMA step, from a module-level function: the average pickles with the net."""
    get_ema_multi_avg_fn(decay)(averages, currents, n_averaged)


class WeightAveraging(Callback):
    """Keep an exponential moving average of ``module_``'s weights and buffers, updated after
    every training step, for the estimator to hand to ``module_`` (:meth:`hand_over`).

    Parameters
    ----------
    epochs : float > 0
        Time constant of the average in epochs of the training set's size
        (``ceil(n / batch_size)`` steps each for ``n`` images trained on, less
        any validation split's, whatever the sampler draws).

    Attributes
    ----------
    average_ : torch.optim.swa_utils.AveragedModel or None
        The average, created when training begins; None before.
    trained_ : dict or None
        The trained weights and buffers (``state_dict``) while the average
        stands in for them, from an epoch's validation to the next epoch;
        None otherwise.
    """

    def __init__(self, epochs: float) -> None:
        self.epochs = epochs

    def initialize(self):
        self.average_ = None
        self.trained_ = None
        return self

    def on_train_begin(self, net, **kwargs) -> None:
        if self.average_ is None:  # a later run of the same fit goes on averaging
            self.average_ = AveragedModel(net.module_, use_buffers=True)

    def on_epoch_begin(self, net, dataset_train=None, **kwargs) -> None:
        if self.trained_ is not None:  # the last validation scored the average
            net.module_.load_state_dict(self.trained_)
            self.trained_ = None
        # epochs of the images trained on (without the validation split's)
        size = len(dataset_train)
        steps = 1 if net.batch_size == -1 else math.ceil(size / net.batch_size)
        decay = ema_decay(self.epochs, max(steps, 1))
        self.average_.multi_avg_fn = partial(_ema_update, decay=decay)

    def on_batch_begin(self, net, training=False, **kwargs) -> None:
        if training or self.trained_ is not None or not self._averaged():
            return
        # an epoch's validation begins: the monitors score the average
        self.trained_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        net.module_.load_state_dict(self.average_.module.state_dict())

    def on_batch_end(self, net, training=False, **kwargs) -> None:
        if training:
            self.average_.update_parameters(net.module_)

    def hand_over(self, module) -> bool:
        """Load the averaged weights and buffers into ``module``; False where no step was
        averaged (nothing trained), which leaves it as it is.

        Where the validation split scored the average, ``module`` already holds
        one (the last, or the one early stopping restored) and keeps it.
        """
        if self.trained_ is not None:
            self.trained_ = None
            return True
        if not self._averaged():
            return False
        module.load_state_dict(self.average_.module.state_dict())
        return True

    def _averaged(self) -> bool:
        return self.average_ is not None and bool(int(self.average_.n_averaged))
