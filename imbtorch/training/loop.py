"""The epochs of a fit, around skorch's loop: callbacks, loaders, checkpoints, stage two.

:class:`TrainingLoopMixin` is the part of
:class:`~imbtorch.BalancedImageClassifier` that runs what ``fit`` and
``partial_fit`` train once the data and the network are ready. It asks the
owners of the training state and keeps none itself:
:class:`~imbtorch.training.schedule.TrainingSchedule` (the seed of the draws,
the fit's span), the loaders that follow from it
(:mod:`imbtorch.training.loaders`), the callbacks of the loss's, the learning
rate's and freezing's phases, of the weight average and of the validation
monitors,
:class:`~imbtorch.training.resume.TrainingCheckpoint` (save and resume), and
after the epochs precise BatchNorm statistics
(:mod:`imbtorch.training.precise_bn`) and the classifier stage
(:func:`~imbtorch.training.decoupled.classifier_stage`).
"""

from __future__ import annotations

from functools import partial

import torch
from skorch import NeuralNet
from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import LambdaLR

from ..data.dataset import ImageDataset, dataset_codes
from ..samplers import MAX_SEED
from .averaging import WeightAveraging
from .constraints import MaxNorm
from .decoupled import joint_balanced_accuracy, retrain_head
from .finetune import fine_tuning_callbacks
from .loaders import evaluation_loader, training_loader
from .monitors import EarlyStoppingAfter, progress_monitors, validation_monitors
from .precise_bn import recompute_batchnorm
from .resume import TrainingCheckpoint, data_fingerprint
from .schedule import DeferredReweighting, TrainingSchedule, WarmupCosine, default_warmup


class TrainingLoopMixin:
    """The estimator's default callbacks, loaders and training run (``_train``).

    It reads the estimator's parameters and fitted attributes (``sampler_``,
    ``head_resampler_``, ``classes_``, ...) and asks the other mixins for the
    shared seed and shard of this process (``_shared_seed``, ``_shard``), the
    strategy's prior (``_set_strategy_prior``, ``_fit_held_out_prior``) and
    the network's input (``_network_input``, ``_autocast``).
    """

    @property
    def _default_callbacks(self):
        """skorch's defaults, the schedules' callbacks, validation monitors and a progress bar."""
        callbacks = list(super()._default_callbacks)
        callbacks += fine_tuning_callbacks(self.freeze, self.unfreeze_epoch)
        if self.drw_epoch is not None:
            callbacks.append(("deferred_reweighting", DeferredReweighting(self.drw_epoch)))
        if self.max_norm is not None:
            callbacks.append(("max_norm", MaxNorm(self.max_norm)))
        plan = getattr(self, "plan_", None)  # get_params(deep=True) builds these before fit
        ema_epochs = plan.trained("ema_epochs") if plan is not None else None
        if ema_epochs:  # after max_norm: it averages projected weights
            callbacks.append(("weight_averaging", WeightAveraging(ema_epochs)))
        warmup = self.warmup_epochs
        if warmup is None:
            warmup = default_warmup(self.max_epochs, pretrained=self._pretrained)
        if self.lr_schedule is not None or warmup:
            factor = WarmupCosine(warmup, self.max_epochs, self.lr_schedule == "cosine")
            callbacks.append(("lr_schedule", LRScheduler(LambdaLR, lr_lambda=factor)))
        if self.train_split is not None:  # no early stop before a deferred stage (or mixing's end)
            plain = plan.mixing_end if plan is not None else None
            starts = [e for e in (self.drw_epoch, self.drs_epoch, plain) if e is not None]
            callbacks += validation_monitors(
                start_epoch=max(starts, default=0),
                checkpoint_dir=self.checkpoint_dir,
                multilabel=getattr(self, "multilabel_", False),
            )
        if self.verbose and self._is_main_process:
            callbacks += progress_monitors()
        return callbacks  # skorch runs PrintLog last

    def get_iterator(self, dataset, training=False):
        """The loader of training epochs (from ``schedule_``) or of evaluation, in order."""
        common = {"shard": self._shard, "device": self.device, "batch_size": self.batch_size}
        if not training:
            return evaluation_loader(
                dataset,
                overrides=self.get_params_for("iterator_valid"),
                loader_class=self.iterator_valid,
                **common,
            )
        return training_loader(
            dataset,
            sampler=self.sampler_,
            classes=self.classes_,
            seed=self.schedule_.seed,
            first_epoch=len(self.history),
            end_epoch=self.schedule_.end_epoch,
            drs_epoch=self.drs_epoch,
            transform=self.train_transform,
            overrides=self.get_params_for("iterator_train"),
            fresh_workers=self.checkpoint_dir is not None,
            loader_class=self.iterator_train,
            **common,
        )

    def _train(self, dataset: ImageDataset, fit_params: dict, *, end_epoch: int, resume=False):
        if self.head_resampler is not None and dataset.sample_weight is not None:
            raise ValueError(
                "head_resampler re-trains the classifier on re-balanced features, which carry "
                "no sample weights; drop sample_weight or head_resampler."
            )
        seed = self._shared_seed(int(torch.randint(MAX_SEED, (1,)).item()))
        self.schedule_ = TrainingSchedule(seed, end_epoch)
        self._set_strategy_prior(dataset)
        checkpoint = None
        if self.checkpoint_dir is not None:
            owners = {"schedule": self.schedule_, "grad_scaler": self.grad_scaler_}
            data = data_fingerprint(self.class_counts_, self.classes_)
            checkpoint = TrainingCheckpoint(self.checkpoint_dir, owners=owners, data=data)
            if resume:
                checkpoint.restore(self)
        self._checkpoint_ = checkpoint
        try:
            scored = self._train_network(dataset, fit_params, end_epoch)
        finally:
            self._checkpoint_ = None
        vars(self).pop("head_history_", None)  # from an earlier fit
        if self.plan_.trained("head_resampler") is not None:  # decoupled stage two (cRT)
            self._classifier_stage(dataset, self._training_part(dataset, fit_params), scored)
        self._fit_held_out_prior(dataset, fit_params)

    def _classifier_stage(self, dataset: ImageDataset, part, scored) -> None:
        """Re-train the classifier on ``part``'s features (``dataset`` less its validation
        split), unless the plan keeps the one trained with the network (``'auto'``'s stage,
        where training makes no error).

        ``scored``: the training features of the final network and its classifier's
        training score, where the extension's decision computed them (else None).
        """
        features, score = scored if scored is not None else (self.embed(part), None)
        if self.plan_.stage_decided:
            if score is None:
                score = joint_balanced_accuracy(self, features, dataset_codes(part))
            if not self.plan_.decide_stage(score):  # kept: the prior is the joint fit's
                self._set_strategy_prior(dataset)
                return
        self.head_history_ = retrain_head(self, part, features)

    def _train_network(self, dataset: ImageDataset, fit_params: dict, end_epoch: int):
        """The network's epochs up to ``end_epoch``, and those the plan adds where its network
        still errs on its training images (``extension_``).

        A fit that stopped before ``end_epoch`` (early stopping, an interrupt)
        trains none more. With a validation split the decision scores the
        training part, and early stopping keeps its best through the added
        epochs, waiting through those that mix. Returns the training features
        of the final network and its classifier's training score where the
        decision computed them (None otherwise), for the classifier stage.
        """
        plan = self.plan_
        plan.begin()
        # a resumed fit that had decided it goes on with it (its state restored in the run)
        extension = plan.resume_extension(self.history, end_epoch)
        if extension is None:
            self._run_epochs(dataset, fit_params, end_epoch)
            self._finish_network(dataset)
            if not plan.extra_epochs:
                return None
            if len(self.history) < end_epoch:
                plan.skip_extension(len(self.history), end_epoch)
                return None
            part = self._training_part(dataset, fit_params)
            features = self.embed(part)
            score = joint_balanced_accuracy(self, features, dataset_codes(part))
            extension = plan.decide_extension(self.history, end_epoch, score)
            if extension is None:
                return features, score
            stopping = dict(self.callbacks_).get("early_stopping")
            if isinstance(stopping, EarlyStoppingAfter):  # its best goes on; it waits as mixing
                stopping.extend(extension.start, extension.start + extension.mixup_epochs)
            if self.train_split is not None:  # trained and scored on the same parts as before
                # (a name ending in "_": skorch would take any other for a parameter)
                held_out = dict(self.callbacks_)["held_out"]
                self._held_split_ = held_out.parts(self, dataset, **fit_params)
        self.schedule_.end_epoch = extension.end
        try:
            self._run_epochs(dataset, fit_params, extension.end)
        finally:
            self._held_split_ = None
        self._finish_network(dataset)
        return None

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's ``train_split`` of ``X``; in the epochs ``'auto'`` adds, the parts its
        first run drew (a split with no seed would draw other ones)."""
        held = getattr(self, "_held_split_", None)
        return held if held is not None else super().get_split_datasets(X, y, **fit_params)

    def _run_epochs(self, dataset: ImageDataset, fit_params: dict, end_epoch: int) -> None:
        """skorch's loop up to ``end_epoch`` epochs in the history, without re-entering this
        class's fit and partial_fit."""
        epochs = max(0, end_epoch - len(self.history))
        NeuralNet.partial_fit(self, dataset, dataset.codes, epochs=epochs, **fit_params)

    def _finish_network(self, dataset: ImageDataset) -> None:
        """The averaged weights (``ema_epochs``), then precise BatchNorm statistics where
        ``precise_bn`` asks for them."""
        averaging = dict(self.callbacks_).get("weight_averaging")
        if averaging is not None and averaging.hand_over(self.module_):
            self._share_buffers()  # each process averaged its own running statistics
        precise = self.train_split is None if self.precise_bn == "auto" else self.precise_bn
        if precise and len(self.history):  # trained (now, or before a resumed finished fit)
            self._recompute_batchnorm(dataset)

    def _training_part(self, dataset: ImageDataset, fit_params: dict):
        """``dataset`` less its validation split: the images the epochs trained on."""
        if self.train_split is None:
            return dataset
        return dict(self.callbacks_)["held_out"].parts(self, dataset, **fit_params)[0]

    def _whole_set_loader(self, dataset) -> torch.utils.data.DataLoader:
        """Every batch of ``dataset`` in order, on every process (embeddings, precise BN)."""
        return evaluation_loader(
            dataset,
            batch_size=self.batch_size,
            device=self.device,
            overrides=self.get_params_for("iterator_valid"),
            loader_class=self.iterator_valid,
        )

    def _recompute_batchnorm(self, dataset: ImageDataset) -> None:
        recompute_batchnorm(  # every process reads all of it: equal statistics
            self.module_,
            self._whole_set_loader(dataset),
            prepare=partial(self._network_input, device=self.device),
            autocast=self._autocast,
        )

    def notify(self, method_name, **cb_kwargs):
        super().notify(method_name, **cb_kwargs)
        if getattr(self, "_checkpoint_", None) is not None:  # after every callback
            self._checkpoint_.after(self, method_name)
