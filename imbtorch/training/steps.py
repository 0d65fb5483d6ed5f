"""The training step and the forward passes of the estimator, around skorch's loop.

One batch of a training epoch goes through :meth:`TrainingStepMixin.train_step`:
SAM's (or ImbSAM's) passes with ``sam_rho``, else skorch's step (through
:class:`~imbtorch.training.precision.PrecisionMixin`'s gradient scaler).
Every pass runs :meth:`~TrainingStepMixin.train_step_single`: the images are
standardised on the device, the rarer classes augmented
(``minority_augment``), the batch mixed (``mixup``, Remix's labels), the
network run under autocast, and the loss weighed by the batch's sample
weights. Evaluation passes (validation, prediction) run
:meth:`~TrainingStepMixin.infer`, with the tau-normalised classifier when
``tau_normalize`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ..data.dataset import SAMPLE_WEIGHT_KEY, batch_images
from ..networks.heads import classifier_layer, difficulty_loss, tau_normalized
from .augment import augment_minority
from .finetune import keep_frozen_norms_in_eval
from .mixing import PAPER_ALPHA, mix_batch
from .precision import as_float32
from .sam import sam_step


class TrainingStepMixin:
    """skorch's ``train_step``, ``train_step_single``, ``infer`` and ``get_loss`` for the
    estimator's parameters; it reads the fitted ``classes_``, ``class_counts_`` and
    ``minority_classes_`` and asks the other mixins for the network's input
    (``_network_input``), autocast and the backward pass (``_autocast``,
    ``_backward``) and the network of this process (``_training_network``)."""

    def _minority_codes(self) -> torch.Tensor:
        """Column indices of ``minority_classes_`` among ``classes_``."""
        return torch.as_tensor(np.searchsorted(self.classes_, self.minority_classes_))

    def train_step(self, batch, **fit_params):
        """skorch's optimizer step, or SAM's (ImbSAM's) step with ``sam_rho``."""
        if self.sam_rho is None:
            return super().train_step(batch, **fit_params)
        tail = None
        if self.sam_classes == "minority":
            tail = torch.zeros(len(self.classes_), device=self.device)
            tail[self._minority_codes()] = 1.0
        return sam_step(self, batch, self.sam_rho, tail=tail, **fit_params)

    def train_step_single(self, batch, **fit_params):
        """skorch's step, on images standardised on the device (and minority-augmented)."""
        self.module_.train()
        self.criterion_.train()
        if self.freeze is not None:
            keep_frozen_norms_in_eval(self.module_)
        Xi, yi = unpack_data(batch)
        images = self._network_input(batch_images(Xi), self.device)
        codes = to_tensor(yi, device=self.device)
        if self.minority_augment is not None:
            images = augment_minority(images, codes, self._minority_codes(), self.minority_augment)
        mixed = None
        if self.plan_.mixes(len(self.history)):  # the history holds the epoch running
            mixed = mix_batch(
                images,
                codes,
                mode=self.mixup_,
                alpha=PAPER_ALPHA[self.mixup_] if self.mixup_alpha is None else self.mixup_alpha,
                class_counts=torch.as_tensor(self.class_counts_),  # on the CPU, no copy
                remix=self.remix,
            )
            images = mixed.images
        with self._autocast():
            y_pred = as_float32(self._forward_network(images, **fit_params))
        loss = self.get_loss(y_pred, yi, X=Xi, training=True, mixed=mixed)
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def infer(self, x, **fit_params):
        """The network's output for a batch as the loader gives it (raw images, or a dict)."""
        images = self._network_input(batch_images(x), self.device)
        with self._autocast():
            return as_float32(self._forward_network(images, **fit_params))

    def _forward_network(self, images: torch.Tensor, **fit_params):
        network = self._training_network()  # module_, or its DDP wrapper in training
        if self.compile:
            network = self._compiled_(network)
        if self.tau_normalize is None or self.module_.training:
            return network(images, **fit_params)
        # evaluation (validation and prediction) sees the tau-normalised classifier
        with tau_normalized(classifier_layer(self.module_, len(self.classes_)), self.tau_normalize):
            return network(images, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False, mixed=None):
        """skorch's loss with sample weights from the batch; ``mixed`` (a
        :class:`~imbtorch.training.mixing.MixedBatch`) counts each sample as two labels."""
        sample_weight = X.get(SAMPLE_WEIGHT_KEY) if isinstance(X, Mapping) else None
        if sample_weight is not None:
            sample_weight = to_tensor(sample_weight, device=self.device)
        y_true = to_tensor(y_true, device=self.device)
        mixed_with = None
        if mixed is not None:
            partner_weight = None if sample_weight is None else sample_weight[mixed.partner]
            mixed_with = (y_true[mixed.partner], mixed.share, partner_weight)
        logits = y_pred[0] if isinstance(y_pred, tuple) else y_pred
        loss = self.criterion_(logits, y_true, sample_weight=sample_weight, mixed_with=mixed_with)
        if training and isinstance(y_pred, tuple):  # valid_loss stays the classification loss
            loss = loss + self.difficulty_head * difficulty_loss(y_pred[1], logits, y_true)
        return loss
