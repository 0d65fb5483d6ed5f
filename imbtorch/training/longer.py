"""Training longer where training errs: the epochs ``strategy='auto'`` adds after its trunk.

Where the classifier trained with the network still errs on the training
images after ``max_epochs`` (balanced accuracy below
:data:`~imbtorch.strategies.AUTO_JOINT_MIN_SCORE`, where the classifier stage
runs), ``'auto'`` trains ``2 * max_epochs // 3`` more epochs before the
stage, mixup in the first two thirds of them and the images as they are in
the rest: the trunk's own schedule once more, shorter. On four sets of
image patches, where the network errs so, that raised the default's
balanced accuracy by 0.2 to 3.2 points, at about 1.5 times a plain fit
(``docs/benchmarks.md``, section 9, "Training longer where training errs");
where the network classifies its training images (one-shot digits,
MNIST-LT) nothing is added.

:class:`Extension` is the decision and its span (``extension_``). A resumed
fit finds it again from the history: only an extension trains a ``fit`` past
``max_epochs``, and the score that decided it is recorded in the history
row of its last trunk epoch (``joint_train_score``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..strategies import AUTO_JOINT_MIN_SCORE, AUTO_MIXED_NAME, deferred_epoch

#: History key of the joint classifier's training score that decided an extension.
SCORE_KEY = "joint_train_score"

#: Fits of fewer epochs are a quick look and train none more: the rule was
#: measured at 30 (as the default warm-up, none under 10).
MIN_EPOCHS = 10


@dataclass(frozen=True)
class Extension:
    """Epochs added to a fit whose network still errs on its training images.

    Parameters
    ----------
    start : int
        Epochs in the history when the extension began (the fit's ``max_epochs``).
    epochs : int
        Epochs added.
    train_score : float
        Balanced accuracy of the classifier trained with the network on its
        training images at ``start``, below the threshold.
    """

    start: int
    epochs: int
    train_score: float

    @property
    def end(self) -> int:
        """Epochs in the history when the extension ends."""
        return self.start + self.epochs

    @property
    def mixup_epochs(self) -> int:
        """Epochs of the extension that mix, its first two thirds."""
        return deferred_epoch(self.epochs)

    def mixes(self, epoch: int) -> bool:
        """Whether ``epoch`` (1 for the first of the fit) mixes its batches."""
        return self.start < epoch <= self.start + self.mixup_epochs


def may_train_longer(net, end_epoch: int) -> bool:
    """Whether ``net``'s fit trains longer where it errs.

    Only ``strategy='auto'``'s own schedule does (``strategy_`` the mixed
    trunk with the stage it decides on, no ``head_resampler`` set), in
    ``fit`` (``end_epoch == max_epochs``), without a validation split (early
    stopping decides the length there), with a constant learning rate (a
    cosine schedule has decayed to 0) and with ``max_epochs`` of at least
    :data:`MIN_EPOCHS`.
    """
    return (
        net.strategy_ == AUTO_MIXED_NAME
        and net.head_resampler is None
        and end_epoch == net.max_epochs
        and net.train_split is None
        and net.lr_schedule is None
        and net.max_epochs >= MIN_EPOCHS
    )


def decided_extension(net, end_epoch: int) -> Extension | None:
    """The extension a resumed fit had decided (it trained past ``end_epoch``), else None."""
    if len(net.history) <= end_epoch:
        return None
    score = net.history[end_epoch - 1].get(SCORE_KEY)
    return Extension(end_epoch, deferred_epoch(end_epoch), score)


def decide_extension(net, end_epoch: int, train_score: float) -> Extension | None:
    """An :class:`Extension` where ``train_score`` is under the threshold (recorded in the
    history), else None."""
    net.history.record(SCORE_KEY, train_score)
    if train_score >= AUTO_JOINT_MIN_SCORE:
        return None
    return Extension(end_epoch, deferred_epoch(end_epoch), train_score)
