"""The training step and the forward passes of the estimator, around skorch's loop.

The estimator's skorch hooks (``train_step``, ``train_step_single``,
``infer``, ``get_loss``) call these functions with itself. One batch of a
training epoch goes through :func:`train_step`: SAM's (or ImbSAM's) passes
with ``sam_rho``, the gradient scaler's step with ``precision='16-mixed'``
(:class:`~imbtorch.training.precision.Precision`), else skorch's step. Every
pass runs :func:`train_step_single`: the images are standardised on the
device, the rarer classes augmented (``minority_augment``), the batch mixed
where the fit's plan mixes it (``mixup``, Remix's labels), the network run
under autocast, and the loss weighed by the batch's sample weights.
Evaluation passes (validation, prediction) run :func:`infer`, with the
tau-normalised classifier when ``tau_normalize`` is set.

They read the net's parameters, its fitted attributes (``classes_``,
``plan_``, ``channel_mean_``, ...) and its owners (``precision_``,
``processes``, ``compiled_forwards_``), never another owner's internals.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ..data.dataset import SAMPLE_WEIGHT_KEY, batch_images
from ..data.normalize import network_batch
from ..networks.heads import classifier_layer, difficulty_loss, tau_normalized
from .augment import augment_minority
from .finetune import keep_frozen_norms_in_eval
from .mixing import PAPER_ALPHA, mix_batch
from .precision import as_float32
from .sam import sam_step


def minority_columns(net) -> torch.Tensor:
    """Column indices of ``net.minority_classes_`` among ``net.classes_``."""
    return torch.as_tensor(np.searchsorted(net.classes_, net.minority_classes_))


def network_input(net, images: torch.Tensor) -> torch.Tensor:
    """A batch of raw images as ``net``'s network takes it (on its device, standardised)."""
    return network_batch(images, net.channel_mean_, net.channel_std_, net.device, net.channels_last)


def train_step(net, batch, **fit_params) -> dict:
    """The optimizer step on one batch: SAM's (ImbSAM's) with ``sam_rho``, the gradient
    scaler's with one, else skorch's."""
    if net.sam_rho is not None:
        tail = None
        if net.sam_classes == "minority":
            tail = torch.zeros(len(net.classes_), device=net.device)
            tail[minority_columns(net)] = 1.0
        return sam_step(net, batch, net.sam_rho, tail=tail, **fit_params)
    if net.precision_.scaler is not None:
        return net.precision_.scaled_step(net, batch, **fit_params)
    return NeuralNet.train_step(net, batch, **fit_params)


def train_step_single(net, batch, **fit_params) -> dict:
    """Forward and backward pass of one batch: standardised, minority-augmented, mixed."""
    net.module_.train()
    net.criterion_.train()
    if net.freeze is not None:
        keep_frozen_norms_in_eval(net.module_)
    Xi, yi = unpack_data(batch)
    images = network_input(net, batch_images(Xi))
    codes = to_tensor(yi, device=net.device)
    if net.minority_augment is not None:
        images = augment_minority(images, codes, minority_columns(net), net.minority_augment)
    pseudo = pseudo_labeling(net)
    mixed = None
    if net.plan_.mixes(len(net.history)):  # the history holds the epoch running
        mode = net.plan_.trained("mixup")
        mixed = mix_batch(
            images,
            codes,
            mode=mode,
            alpha=PAPER_ALPHA[mode] if net.mixup_alpha is None else net.mixup_alpha,
            class_counts=torch.as_tensor(net.class_counts_),  # on the CPU, no copy
            remix=net.remix,
        )
        images = mixed.images
    with net.precision_.autocast():
        y_pred = as_float32(forward_network(net, images, **fit_params))
    loss = net.get_loss(y_pred, yi, X=Xi, training=True, mixed=mixed)
    if pseudo is not None:
        loss = loss + _unlabeled_loss(net, pseudo, **fit_params)
    net.precision_.backward(loss)
    return {"loss": loss, "y_pred": y_pred}


def pseudo_labeling(net):
    """The owner of the fit's unlabelled images (:mod:`imbtorch.training.semi_supervised`),
    or None where the fit trains on labelled images only."""
    unlabeled = net.plan_.unlabeled
    if unlabeled is None or unlabeled.method is None:
        return None
    return dict(net.callbacks_).get("pseudo_labeling")


def _unlabeled_loss(net, pseudo, **fit_params) -> torch.Tensor:
    """FixMatch's loss on the step's unlabelled images: the weak views without gradients,
    then the strong views, each a batch of its own, so that BatchNorm normalises the
    labelled images by their own statistics, not by those of augmented ones."""
    weak, strong, _ = pseudo.views()
    with net.precision_.autocast():
        with torch.no_grad():
            weak_out = forward_network(net, network_input(net, weak), **fit_params)
        strong_out = forward_network(net, network_input(net, strong), **fit_params)
    weak_out, strong_out = as_float32(weak_out), as_float32(strong_out)
    if isinstance(weak_out, tuple):  # the difficulty head's output beside the logits
        weak_out, strong_out = weak_out[0], strong_out[0]
    return pseudo.loss(weak_out, strong_out)


def infer(net, x, **fit_params):
    """The network's output for a batch as the loader gives it (raw images, or a dict)."""
    images = network_input(net, batch_images(x))
    with net.precision_.autocast():
        return as_float32(forward_network(net, images, **fit_params))


def forward_network(net, images: torch.Tensor, **fit_params):
    """``net``'s network on standardised ``images``: the process's (DDP) network in training,
    compiled with ``compile=True``, tau-normalised in evaluation with ``tau_normalize``."""
    network = net.processes.training_network(net.module_)
    if net.compile:
        network = net.compiled_forwards_(network)
    if net.tau_normalize is None or net.module_.training:
        return network(images, **fit_params)
    # evaluation (validation and prediction) sees the tau-normalised classifier
    with tau_normalized(classifier_layer(net.module_, len(net.classes_)), net.tau_normalize):
        return network(images, **fit_params)


def get_loss(net, y_pred, y_true, X=None, training=False, mixed=None):
    """skorch's loss with sample weights from the batch; ``mixed`` (a
    :class:`~imbtorch.training.mixing.MixedBatch`) counts each sample as two labels."""
    sample_weight = X.get(SAMPLE_WEIGHT_KEY) if isinstance(X, Mapping) else None
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, device=net.device)
    y_true = to_tensor(y_true, device=net.device)
    mixed_with = None
    if mixed is not None:
        partner_weight = None if sample_weight is None else sample_weight[mixed.partner]
        mixed_with = (y_true[mixed.partner], mixed.share, partner_weight)
    logits = y_pred[0] if isinstance(y_pred, tuple) else y_pred
    loss = net.criterion_(logits, y_true, sample_weight=sample_weight, mixed_with=mixed_with)
    if training and isinstance(y_pred, tuple):  # valid_loss stays the classification loss
        loss = loss + net.difficulty_head * difficulty_loss(y_pred[1], logits, y_true)
    return loss
