"""Training monitors: imbalance-aware scores on the validation split, early stopping on them.

With class imbalance, validation loss and accuracy follow the head classes;
balanced accuracy and macro-F1 follow all of them. These are the skorch
callbacks :class:`~imbtorch.BalancedImageClassifier` adds when it has a
validation split.
"""

from __future__ import annotations

from sklearn.metrics import f1_score, make_scorer
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, EpochScoring, ProgressBar

#: History key of the macro-F1 that early stopping and checkpoints follow.
MONITOR = "valid_f1"
#: ... and the macro average precision they follow for a multi-label ``y``.
MULTILABEL_MONITOR = "valid_map"
DEFAULT_PATIENCE = 10


class EarlyStoppingAfter(EarlyStopping):
    """skorch's :class:`~skorch.callbacks.EarlyStopping` that cannot stop before ``start_epoch``.

    Deferred schedules (re-weighting or re-sampling from epoch ``E``) change
    the objective at ``E``; stopping earlier would skip the stage they exist
    for. Before ``start_epoch`` (0-based) the best score and weights are
    still tracked, but epochs without improvement are not counted.

    Parameters
    ----------
    start_epoch : int, default=0
    **kwargs
        :class:`~skorch.callbacks.EarlyStopping`'s parameters.
    """

    def __init__(self, *, start_epoch: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.start_epoch = start_epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) > self.start_epoch:
            return super().on_epoch_end(net, **kwargs)
        patience, self.patience = self.patience, None  # misses_ never equals None
        try:
            super().on_epoch_end(net, **kwargs)
        finally:
            self.patience = patience
        self.misses_ = 0


class HeldOutSet(Callback):
    """Remembers the split of the current fit, for what fit does after training.

    :meth:`~imbtorch.BalancedImageClassifier.fit` estimates the prior its
    scores assume on the validation part (:func:`imbtorch.priors.fit_bias_temperature`)
    when the settings do not tell, the part the monitors scored; its classifier
    stage trains on the training part only.

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
        self.dataset_, self.train_dataset_ = dataset_valid, dataset_train

    def parts(self, net, dataset, **fit_params) -> tuple:
        """The (training, validation) parts of this call's split of ``dataset``: as its
        epochs saw them, or, where no epoch ran (a resumed, finished fit), the seeded split
        drawn again."""
        if self.dataset_ is None:
            return net.get_split_datasets(dataset, dataset.codes, **fit_params)
        return self.train_dataset_, self.dataset_


def validation_monitors(
    *, start_epoch: int = 0, checkpoint_dir=None, multilabel: bool = False
) -> list[tuple]:
    """Named callbacks for a fit with a validation split.

    ``valid_bacc`` (balanced accuracy) and ``valid_f1`` (macro-F1) on the
    validation split; ``held_out`` (:class:`HeldOutSet`); ``early_stopping``
    on macro-F1 (patience 10, restores the best weights at the end, never
    stops before ``start_epoch``); and,
    when ``checkpoint_dir`` is given, a ``checkpoint`` saving the best
    macro-F1 state there (skorch's files, for ``net.load_params(checkpoint=...)``).
    It loads nothing back: early stopping already restores the best weights,
    and the fit keeps its whole history, so the fitted model does not depend on
    whether states were saved.

    With ``multilabel``, ``valid_map`` (macro average precision, which needs
    no threshold) replaces balanced accuracy and is what early stopping and
    the checkpoint follow; ``valid_f1`` is the labels' macro-F1 at 0.5.

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
    monitor = MULTILABEL_MONITOR if multilabel else MONITOR
    if multilabel:
        f1 = make_scorer(f1_score, average="macro", zero_division=0.0)
        scores = [
            ("valid_map", EpochScoring("average_precision", name=monitor, lower_is_better=False)),
            ("valid_f1", EpochScoring(f1, name="valid_f1", lower_is_better=False)),
        ]
    else:
        bacc = EpochScoring("balanced_accuracy", name="valid_bacc", lower_is_better=False)
        scores = [
            ("valid_bacc", bacc),
            ("valid_f1", EpochScoring("f1_macro", name=monitor, lower_is_better=False)),
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
        checkpoint = Checkpoint(monitor=f"{monitor}_best", dirname=str(checkpoint_dir))
        callbacks.append(("checkpoint", checkpoint))
    return callbacks


def progress_monitors() -> list[tuple]:
    """A progress bar over each epoch's batches: skorch's :class:`~skorch.callbacks.ProgressBar`."""
    # batch counts follow the sampler (under-sampling shortens epochs): count, don't guess
    return [("progress_bar", ProgressBar(batches_per_epoch="count"))]
