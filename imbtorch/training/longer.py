"""Training longer where training errs: the epochs ``strategy='auto'`` adds after its trunk.

Where the classifier trained with the network still errs on the training
images after ``max_epochs`` (balanced accuracy below
:data:`~imbtorch.strategies.AUTO_JOINT_MIN_SCORE`, where the classifier stage
runs), ``'auto'`` trains ``2 * max_epochs // 3`` more epochs before the
stage (``extra_epochs``: :func:`planned_epochs`), mixup in the first two
thirds of them and the images as they are in the rest: the trunk's own
schedule once more, shorter. On four sets of
image patches, where the network errs so, that raised the default's
balanced accuracy by 0.2 to 3.2 points, at about 1.5 times a plain fit
(``docs/benchmarks.md``, section 9, "Training longer where training errs");
where the network classifies its training images (one-shot digits,
MNIST-LT) nothing is added. A fit stopped before ``max_epochs`` (early
stopping, an interrupt) adds nothing either.

With a validation split the decision scores the training part, the added
epochs train and score on the parts the first run drew, and early stopping
(:class:`~imbtorch.training.monitors.EarlyStoppingAfter`) keeps its best
through them, waiting through the ones that mix; it may restore an epoch
from before the extension ("Training longer with a validation split" in the
same section: +0.8 to +2.2 points on the patch sets with a fifth held out).

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


def planned_epochs(net) -> int:
    """Epochs an extension of ``net``'s fit would add where its network errs (0: none).

    ``extra_epochs=None`` plans two thirds of ``max_epochs`` for
    ``strategy='auto'``'s own schedule: ``strategy_`` the mixed trunk with the
    stage it decides on (no ``head_resampler`` set; not in ``partial_fit``),
    with a constant learning rate (a cosine schedule has decayed to 0) and
    with ``max_epochs`` of at least :data:`MIN_EPOCHS`; elsewhere none.
    ``extra_epochs=0`` plans none, and a positive ``extra_epochs`` plans that
    many, from any ``max_epochs``.

    Raises
    ------
    ValueError
        Where ``extra_epochs`` is positive and the fit is not that schedule,
        naming what stands in the way, before any epoch trains.
    """
    checks = (
        (
            net.strategy_ != AUTO_MIXED_NAME,
            f"trains strategy_={net.strategy_!r}, not 'auto''s mixed trunk with its classifier "
            "stage (strategy=None, a re-balancing parameter, mixup or mixup_epochs=0 you set, "
            "equal classes, sample_weight or partial_fit leave it out)",
        ),
        (
            net.head_resampler is not None,
            "sets head_resampler, whose stage runs whatever the score",
        ),
        (
            net.lr_schedule is not None,
            "has lr_schedule='cosine', whose rate has decayed to 0 at max_epochs",
        ),
    )
    obstacles = [text for present, text in checks if present]
    if net.extra_epochs is None:
        return 0 if obstacles or net.max_epochs < MIN_EPOCHS else deferred_epoch(net.max_epochs)
    if net.extra_epochs and obstacles:
        raise ValueError(
            f"extra_epochs={net.extra_epochs} trains more epochs where strategy='auto''s "
            f"network still errs on its training images, but this fit {'; it '.join(obstacles)}."
            " Drop extra_epochs (or set it to 0), or drop what stands in its way."
        )
    return net.extra_epochs


def decided_extension(net, end_epoch: int, epochs: int) -> Extension | None:
    """The extension of ``epochs`` a resumed fit had decided (it trained past ``end_epoch``),
    else None."""
    if len(net.history) <= end_epoch:
        return None
    score = net.history[end_epoch - 1].get(SCORE_KEY)
    return Extension(end_epoch, epochs, score)


def decide_extension(net, end_epoch: int, epochs: int, train_score: float) -> Extension | None:
    """An :class:`Extension` of ``epochs`` where ``train_score`` is under the threshold
    (recorded in the history), else None."""
    net.history.record(SCORE_KEY, train_score)
    if train_score >= AUTO_JOINT_MIN_SCORE:
        return None
    return Extension(end_epoch, epochs, train_score)
