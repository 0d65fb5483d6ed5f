"""Training monitors: imbalance-aware scores on the validation split, early stopping on them.

With class imbalance, validation loss and accuracy follow the head classes;
balanced accuracy and macro-F1 follow all of them. These are the skorch
callbacks :class:`~imbtorch.BalancedImageClassifier` adds when it has a
validation split.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
from sklearn.metrics import make_scorer
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, EpochScoring, ProgressBar

from ..data.dataset import dataset_codes

#: History key of the macro-F1 that early stopping and checkpoints follow.
MONITOR = "valid_f1"
#: ... and the macro average precision they follow for a multi-label ``y``.
MULTILABEL_MONITOR = "valid_map"
DEFAULT_PATIENCE = 10


class EarlyStoppingAfter(EarlyStopping):
    """skorch's :class:`~skorch.callbacks.EarlyStopping` that cannot stop before ``start_epoch``.

    Deferred schedules (re-weighting or re-sampling from epoch ``E``) change
    the objective at ``E``; stopping earlier would skip the stage they exist
    for, and so would restoring the weights of an epoch before ``E``. Before
    ``start_epoch`` (0-based) epochs are neither counted as misses nor
    candidates for the best.

    Where ``strategy='auto'`` trains longer (:mod:`imbtorch.strategies.plan`),
    :meth:`extend` carries the best into those epochs and waits again through
    the ones that mix.

    Parameters
    ----------
    start_epoch : int, default=0
    track_from_start : bool, default=True
        Take the best score and weights from ``start_epoch`` on only, so that
        the network restored has been through the stage; ``False`` lets an
        earlier epoch's score stand as the best to beat.
    **kwargs
        :class:`~skorch.callbacks.EarlyStopping`'s parameters.

    Attributes
    ----------
    waits_ : tuple of int or None
        Epochs ``(after, until)`` of the history (1 for the first) in which it
        waits again as before ``start_epoch``: ``after < epoch <= until``;
        set by :meth:`extend`, else None.
    """

    def __init__(self, *, start_epoch: int = 0, track_from_start: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.start_epoch = start_epoch
        self.track_from_start = track_from_start

    def extend(self, after: int, until: int) -> None:
        """Keep the best and its weights for the fit's next run, which trains epochs
        ``after + 1`` on, and wait through those up to ``until`` as before ``start_epoch``:
        they neither count as misses (the count starts again after them) nor, with
        ``track_from_start``, stand as the best."""
        self.carry_over_ = True
        self.waits_ = (after, until)
        self.misses_ = 0

    def on_train_begin(self, net, **kwargs):
        if getattr(self, "carry_over_", False):  # the same fit trains on: keep the best
            self.carry_over_ = False
            return
        super().on_train_begin(net, **kwargs)
        self.carry_over_ = False
        self.waits_ = None

    def on_epoch_end(self, net, **kwargs):
        if not self._waiting(len(net.history)):
            return super().on_epoch_end(net, **kwargs)
        if self.track_from_start:
            return
        patience, self.patience = self.patience, None  # misses_ never equals None
        try:
            super().on_epoch_end(net, **kwargs)
        finally:
            self.patience = patience
        self.misses_ = 0

    def _waiting(self, epoch: int) -> bool:
        after, until = self.waits_ or (0, 0)
        return epoch <= self.start_epoch or after < epoch <= until


class HeldOutSet(Callback):
    """Remembers the split of the current fit, for what fit does after training.

    :meth:`~imbtorch.BalancedImageClassifier.fit` estimates the prior its
    scores assume on the validation part (:func:`imbtorch.priors.fit_bias_temperature`)
    when the settings do not tell, the part the monitors scored; its classifier
    stage trains on the training part only. At the first epoch of each call it
    warns if the validation part holds no sample of a class (no positive of a
    label), which the monitors then cannot score.

    Attributes
    ----------
    dataset_ : Dataset or None
        The validation split of the last epoch of this call, ``None`` before one.
    train_dataset_ : Dataset or None
        The training part of that epoch's split, ``None`` before one.
    """

    def on_train_begin(self, net, **kwargs):
        self.dataset_ = self.train_dataset_ = None

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if self.dataset_ is None and dataset_valid is not None:
            _warn_of_missing_classes(net, dataset_valid)
        self.dataset_, self.train_dataset_ = dataset_valid, dataset_train

    def parts(self, net, dataset, **fit_params) -> tuple:
        """The (training, validation) parts of this call's split of ``dataset``: as its
        epochs saw them, or, where no epoch ran (a resumed, finished fit), the seeded split
        drawn again."""
        if self.dataset_ is None:
            return net.get_split_datasets(dataset, dataset.codes, **fit_params)
        return self.train_dataset_, self.dataset_


def _warn_of_missing_classes(net, dataset_valid) -> None:
    """Once a call: which classes (labels) the validation split holds no sample of."""
    codes = dataset_codes(dataset_valid)
    multilabel = codes.ndim == 2
    n_classes = len(net.classes_)
    counts = codes.sum(axis=0) if multilabel else np.bincount(codes, minlength=n_classes)
    missing = np.asarray(net.classes_)[counts == 0]
    if not len(missing):
        return
    what = "positive of label(s)" if multilabel else "sample of class(es)"
    scores = "valid_map, valid_f1" if multilabel else "valid_bacc, valid_f1"
    warnings.warn(
        f"The validation split holds no {what} {missing.tolist()} ({len(missing)} of "
        f"{len(counts)}), so {scores} and early stopping score the others only. The rarest "
        "classes of long-tailed data are often too few to split: train on all the data "
        "(train_split=None) or pass a split that holds each of them.",
        UserWarning,
        stacklevel=2,
    )


def _is_best_epoch(net, *, key: str) -> bool:
    """Whether this epoch is the one early stopping would restore (from its start on),
    or, where early stopping was dropped, the best by the history's ``key``."""
    stopping = dict(net.callbacks_).get("early_stopping")
    if stopping is None:
        return bool(net.history[-1, key])
    return stopping.best_epoch_ == net.history[-1, "epoch"]


def validation_monitors(
    *, start_epoch: int = 0, checkpoint_dir=None, multilabel: bool = False
) -> list[tuple]:
    """Named callbacks for a fit with a validation split.

    ``valid_bacc`` (balanced accuracy) and ``valid_f1`` (macro-F1) on the
    validation split, over the classes it holds
    (:func:`imbtorch.evaluation.metrics.f1_macro`: scikit-learn's macro-F1
    would count one prediction of a class the split lacks as a class scored
    0, so early stopping would favour epochs that never predict the rarest
    classes; a warning names the classes the split lacks); ``held_out``
    (:class:`HeldOutSet`); ``early_stopping`` on macro-F1 (patience 10,
    restores the best weights at the end, never stops before
    ``start_epoch`` nor takes an epoch before it as the best); and,
    when ``checkpoint_dir`` is given, a ``checkpoint`` saving there the state
    of the epoch early stopping restores (the best macro-F1 from its start
    on; skorch's files, for ``net.load_params(checkpoint=...)``). It loads
    nothing back: early stopping already restores those weights, and the fit
    keeps its whole history, so the fitted model does not depend on whether
    states were saved.

    With ``multilabel``, ``valid_map`` (macro average precision over the
    labels the split holds, which needs no threshold) replaces balanced
    accuracy and is what early stopping and the checkpoint follow;
    ``valid_f1`` is the labels' macro-F1 at 0.5, over the same labels.

    Parameters
    ----------
    start_epoch : int, default=0
        First epoch at which early stopping may stop.
    checkpoint_dir : str or path, default=None
    multilabel : bool, default=False

    Returns
    -------
    callbacks : list of (name, callback)
    """
    # imported here: imbtorch.evaluation imports the estimator, which imports this module
    from ..evaluation.metrics import balanced_accuracy, f1_macro
    from ..evaluation.multilabel import LabelProbaScorer, labels_f1_macro, map_macro

    monitor = MULTILABEL_MONITOR if multilabel else MONITOR
    if multilabel:
        average_precision = LabelProbaScorer(map_macro)  # any number of labels, two too
        scores = [
            ("valid_map", EpochScoring(average_precision, name=monitor, lower_is_better=False)),
            ("valid_f1", _scoring(labels_f1_macro, "valid_f1")),
        ]
    else:
        scores = [
            ("valid_bacc", _scoring(balanced_accuracy, "valid_bacc")),
            ("valid_f1", _scoring(f1_macro, monitor)),
        ]
    callbacks = [
        *scores,
        ("held_out", HeldOutSet()),
        (
            "early_stopping",
            EarlyStoppingAfter(
                monitor=monitor,
                lower_is_better=False,
                patience=DEFAULT_PATIENCE,
                load_best=True,
                start_epoch=start_epoch,
            ),
        ),
    ]
    if checkpoint_dir is not None:
        # load_best=True would also load the best epoch's history, optimizer and criterion
        best = partial(_is_best_epoch, key=f"{monitor}_best")
        checkpoint = Checkpoint(monitor=best, dirname=str(checkpoint_dir))
        callbacks.append(("checkpoint", checkpoint))
    return callbacks


def _scoring(score, name: str) -> EpochScoring:
    return EpochScoring(make_scorer(score), name=name, lower_is_better=False)


def progress_monitors() -> list[tuple]:
    """A progress bar over each epoch's batches: skorch's :class:`~skorch.callbacks.ProgressBar`."""
    # batch counts follow the sampler (under-sampling shortens epochs): count, don't guess
    return [("progress_bar", ProgressBar(batches_per_epoch="count"))]
