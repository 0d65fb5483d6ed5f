"""The epochs of a fit, around skorch's loop: callbacks, checkpoints, the plan's decisions.

:func:`default_callbacks` gives the estimator the callbacks that own the
schedules of the loss, the learning rate and freezing, MaxNorm, the weight
average and the validation monitors. :class:`TrainingRun` runs what ``fit`` and
``partial_fit`` train once the data and the network are ready. It keeps no
training state of its own beyond the call; it asks the owners:
:class:`~imbtorch.training.schedule.TrainingSchedule` (the seed of the draws,
the fit's span), :class:`~imbtorch.training.resume.TrainingCheckpoint` (save and
resume), the fit's :class:`~imbtorch.strategies.plan.Plan` (train longer?
re-train the classifier?), which it hands the evidence both decisions read,
the processes, and after the epochs precise BatchNorm statistics
(:mod:`imbtorch.training.precise_bn`) and the classifier stage
(:func:`~imbtorch.training.decoupled.retrain_head`).
"""

from __future__ import annotations

import torch
from skorch import NeuralNet
from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import LambdaLR

from ..data.dataset import ImageDataset, dataset_codes
from ..prediction import fit_held_out_prior, set_strategy_prior, training_prior
from ..samplers import MAX_SEED
from .averaging import WeightAveraging
from .constraints import MaxNorm
from .decoupled import joint_balanced_accuracy, retrain_head
from .finetune import fine_tuning_callbacks
from .loaders import whole_set_loader
from .monitors import EarlyStoppingAfter, progress_monitors, validation_monitors
from .precise_bn import recompute_batchnorm
from .resume import TrainingCheckpoint, data_fingerprint
from .schedule import DeferredReweighting, TrainingSchedule, WarmupCosine, default_warmup
from .semi_supervised import PseudoLabeling
from .steps import network_input


def default_callbacks(net, skorch_defaults: list) -> list:
    """skorch's defaults, the schedules' callbacks, validation monitors and a progress bar."""
    callbacks = list(skorch_defaults)
    callbacks += fine_tuning_callbacks(net.freeze, net.unfreeze_epoch)
    if net.drw_epoch is not None:
        callbacks.append(("deferred_reweighting", DeferredReweighting(net.drw_epoch)))
    if net.max_norm is not None:
        callbacks.append(("max_norm", MaxNorm(net.max_norm)))
    plan = getattr(net, "plan_", None)  # get_params(deep=True) builds these before fit
    ema_epochs = plan.trained("ema_epochs") if plan is not None else None
    if ema_epochs:  # after max_norm: it averages projected weights
        callbacks.append(("weight_averaging", WeightAveraging(ema_epochs)))
    warmup = net.warmup_epochs
    if warmup is None:
        warmup = default_warmup(net.max_epochs, pretrained=net.backbone_weights is not None)
    if net.lr_schedule is not None or warmup:
        factor = WarmupCosine(warmup, net.max_epochs, net.lr_schedule == "cosine")
        callbacks.append(("lr_schedule", LRScheduler(LambdaLR, lr_lambda=factor)))
    if net.train_split is not None:  # no early stop before a deferred stage (or mixing's end)
        plain = plan.mixing_end if plan is not None else None
        starts = [e for e in (net.drw_epoch, net.drs_epoch, plain) if e is not None]
        callbacks += validation_monitors(
            start_epoch=max(starts, default=0),
            checkpoint_dir=net.checkpoint_dir if net.processes.is_main else None,
            multilabel=getattr(net, "multilabel_", False),
        )
    unlabeled = plan.unlabeled if plan is not None else None
    if unlabeled is not None and unlabeled.method == "fixmatch":
        pseudo = PseudoLabeling(unlabeled.threshold, unlabeled.ratio, unlabeled.prior)
        callbacks.append(("pseudo_labeling", pseudo))
    if net.verbose and net.processes.is_main:
        callbacks += progress_monitors()
    return callbacks  # skorch runs PrintLog last


class TrainingRun:
    """One call to ``fit`` or ``partial_fit`` of an initialised net, up to ``end_epoch``.

    The net asks it, while it runs, for the parts of its validation split
    (:meth:`split`, the same through the epochs the plan adds) and passes on
    every notification (:meth:`after`) for the checkpoint.

    Parameters
    ----------
    net : BalancedImageClassifier
        Initialised, with its plan (``plan_``).
    dataset : ImageDataset
        The training data, validation part included.
    fit_params : dict
        skorch's fit parameters.
    end_epoch : int
        Epochs in the history when the fit ends (before any extension).
    unlabeled : TwoViews, default=None
        The unlabelled images, for semi-supervised training.
    """

    def __init__(
        self, net, dataset: ImageDataset, fit_params: dict, end_epoch: int, unlabeled=None
    ) -> None:
        self.net = net
        self.dataset = dataset
        self.unlabeled = unlabeled
        self.fit_params = fit_params
        self.end_epoch = end_epoch
        self.checkpoint = None
        self.held_split = None

    def run(self, *, resume: bool = False) -> None:
        """Train, decide, finish: the epochs, any extension, the classifier stage, the prior."""
        net, dataset = self.net, self.dataset
        seed = net.processes.shared_seed(int(torch.randint(MAX_SEED, (1,)).item()))
        net.schedule_ = TrainingSchedule(seed, self.end_epoch)
        set_strategy_prior(net, dataset)
        pseudo = dict(net.callbacks_).get("pseudo_labeling")
        if pseudo is not None:
            labeled = net.class_counts_ / net.class_counts_.sum()
            pseudo.use(
                self.unlabeled, training_prior=training_prior(net, dataset), labeled_prior=labeled
            )
        if net.checkpoint_dir is not None:
            owners = {"schedule": net.schedule_, "grad_scaler": net.precision_}
            data = data_fingerprint(net.class_counts_, net.classes_)
            self.checkpoint = TrainingCheckpoint(net.checkpoint_dir, owners=owners, data=data)
            if resume:
                self.checkpoint.restore(net)
        try:
            scored = self._train_network()
        finally:
            self.checkpoint = None
            if pseudo is not None:
                pseudo.release()
        vars(net).pop("head_history_", None)  # from an earlier fit
        if net.plan_.trained("head_resampler") is not None:  # decoupled stage two (cRT)
            self._classifier_stage(self._training_part(), scored)
        fit_held_out_prior(net, dataset, self.fit_params)

    def split(self):
        """The parts of the validation split drawn before an extension, else None."""
        return self.held_split

    def after(self, method_name: str) -> None:
        """Called by the net after all callbacks ran ``method_name``: the checkpoint's turn."""
        if self.checkpoint is not None:
            self.checkpoint.after(self.net, method_name)

    def _classifier_stage(self, part, scored) -> None:
        """Re-train the classifier on ``part``'s features (the training set less its
        validation split), unless the plan keeps the one trained with the network
        (``'auto'``'s stage, where training makes no error).

        ``scored``: the training features of the final network and its classifier's
        training score, where the extension's decision computed them (else None).
        """
        net = self.net
        features, score = scored if scored is not None else (net.embed(part), None)
        if net.plan_.stage_decided:
            if score is None:
                score = joint_balanced_accuracy(net, features, dataset_codes(part))
            if not net.plan_.decide_stage(score):  # kept: the prior is the joint fit's
                set_strategy_prior(net, self.dataset)
                return
        net.head_history_ = retrain_head(net, part, features)

    def _train_network(self):
        """The network's epochs up to ``end_epoch``, and those the plan adds where its network
        still errs on its training images (``extension_``).

        A fit that stopped before ``end_epoch`` (early stopping, an interrupt)
        trains none more. With a validation split the decision scores the
        training part, and early stopping keeps its best through the added
        epochs, waiting through those that mix. Returns the training features
        of the final network and its classifier's training score where the
        decision computed them (None otherwise), for the classifier stage.
        """
        net, plan, end_epoch = self.net, self.net.plan_, self.end_epoch
        plan.begin()
        # a resumed fit that had decided it goes on with it (its state restored in the run)
        extension = plan.resume_extension(net.history, end_epoch)
        if extension is None:
            self._run_epochs(end_epoch)
            self._finish_network()
            if not plan.extra_epochs:
                return None
            if len(net.history) < end_epoch:
                plan.skip_extension(len(net.history), end_epoch)
                return None
            part = self._training_part()
            features = net.embed(part)
            score = joint_balanced_accuracy(net, features, dataset_codes(part))
            extension = plan.decide_extension(net.history, end_epoch, score)
            if extension is None:
                return features, score
            stopping = dict(net.callbacks_).get("early_stopping")
            if isinstance(stopping, EarlyStoppingAfter):  # its best goes on; it waits as mixing
                stopping.extend(extension.start, extension.start + extension.mixup_epochs)
            if net.train_split is not None:  # trained and scored on the same parts as before
                held_out = dict(net.callbacks_)["held_out"]
                self.held_split = held_out.parts(net, self.dataset, **self.fit_params)
        net.schedule_.end_epoch = extension.end
        try:
            self._run_epochs(extension.end)
        finally:
            self.held_split = None
        self._finish_network()
        return None

    def _run_epochs(self, end_epoch: int) -> None:
        """skorch's loop up to ``end_epoch`` epochs in the history, without re-entering the
        estimator's fit and partial_fit."""
        net, dataset = self.net, self.dataset
        epochs = max(0, end_epoch - len(net.history))
        NeuralNet.partial_fit(net, dataset, dataset.codes, epochs=epochs, **self.fit_params)

    def _finish_network(self) -> None:
        """The averaged weights (``ema_epochs``), then precise BatchNorm statistics where
        ``precise_bn`` asks for them."""
        net = self.net
        averaging = dict(net.callbacks_).get("weight_averaging")
        if averaging is not None and averaging.hand_over(net.module_):
            net.processes.share_buffers(net.module_)  # each averaged its own statistics
        precise = net.train_split is None if net.precise_bn == "auto" else net.precise_bn
        if precise and len(net.history):  # trained (now, or before a resumed finished fit)
            recompute_batchnorm(  # every process reads all of it: equal statistics
                net.module_,
                whole_set_loader(net, self.dataset),
                prepare=lambda images: network_input(net, images),
                autocast=net.precision_.autocast,
            )

    def _training_part(self):
        """The dataset less its validation split: the images the epochs trained on."""
        net = self.net
        if net.train_split is None:
            return self.dataset
        return dict(net.callbacks_)["held_out"].parts(net, self.dataset, **self.fit_params)[0]
