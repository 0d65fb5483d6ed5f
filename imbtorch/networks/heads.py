"""Classifier heads: find the final layer, tau-normalise it, scale logits, predict difficulty.

A network that classifies images ends in a layer mapping features to
``num_classes`` logits. Long-tail methods act on that layer: tau-normalisation
and learnable weight scaling (Kang et al. 2020, "Decoupling representation
and classifier for long-tailed recognition") rescale it per class, and an
auxiliary head (Yoo & Kweon 2019, "Learning loss for active learning")
reads the same features to predict how hard each sample is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from torch import nn

from ..data.dataset import batch_images
from .layers import check_not_cosine, find_classifier, split_classifier


def embed(
    network: nn.Module,
    batches: Iterable,
    *,
    prepare: Callable,
    autocast: Callable = nullcontext,
    layer: nn.Module | None = None,
) -> np.ndarray:
    """Features of a loader's batches: ``network``'s output, or the input of its ``layer``.

    Runs in eval mode, without gradients.

    Parameters
    ----------
    network : torch.nn.Module
    batches : iterable of (X, y) batches
        E.g. a DataLoader over an :class:`~imbtorch.data.ImageDataset`.
    prepare : callable
        Turns a batch's ``X`` into the network's input (device, standardisation).
    autocast : callable, default=contextlib.nullcontext
        Returns the context to run the network in (mixed precision).
    layer : torch.nn.Module, default=None
        A layer of ``network`` (its classifier): the features are what it
        receives. ``None``: the network's output.

    Returns
    -------
    features : ndarray of shape (N, D), float32
    """
    captured: list[torch.Tensor] = []
    hook = None
    if layer is not None:
        hook = layer.register_forward_hook(lambda _, inputs, __: captured.append(inputs[0]))
    was_training = network.training
    network.eval()
    features = []
    try:
        with torch.no_grad(), autocast():
            for X, _ in batches:
                output = network(prepare(batch_images(X)))
                found = captured.pop() if layer is not None else output
                features.append(found.flatten(1).float().cpu())
    finally:
        network.train(was_training)
        if hook is not None:
            hook.remove()
    return torch.cat(features).numpy().astype(np.float32, copy=False)


def stacked_logits(outputs: Iterable) -> torch.Tensor:
    """The logits of a network's batch outputs, stacked, float64 on the CPU.

    A network with extra heads outputs tuples; the logits come first.
    """
    parts = [(out[0] if isinstance(out, tuple) else out).detach().cpu() for out in outputs]
    return torch.cat(parts).double()


def softmax_probabilities(scores: torch.Tensor) -> np.ndarray:
    """Row-wise softmax of float64 ``scores``, rows summing to 1."""
    proba = torch.softmax(scores, dim=-1).numpy()
    # a float32 softmax sums to 1 only to ~1e-7, which sklearn's log_loss warns about
    return proba / proba.sum(axis=1, keepdims=True)


@contextmanager
def tau_normalized(classifier: nn.Module, tau: float):
    """Temporarily divide each class's weight vector by its norm to the power ``tau``.

    Kang et al. 2020: after training on imbalanced data the weight norms of
    head classes are larger, which favours them; ``w_c / ||w_c|| ** tau``
    evens the norms (``tau=1`` makes them all 1, ``tau=0`` changes nothing).
    The bias is kept. The weights are restored on exit.
    """
    check_not_cosine(classifier, "tau_normalize", "use predict_logit_adjust instead")
    weight = classifier.weight
    original = weight.detach().clone()
    with torch.no_grad():
        norms = weight.norm(dim=1, keepdim=True).clamp_min(torch.finfo(weight.dtype).tiny)
        weight.div_(norms.pow(tau))
    try:
        yield classifier
    finally:
        with torch.no_grad():
            weight.copy_(original)


class LearnableLogitScale(nn.Module):
    """Multiply each class's logit by a learnable factor (initialised to 1).

    Kang et al. 2020's learnable weight scaling (LWS): a per-class scale on
    the classifier output that can re-balance the decision boundaries,
    notably once the training switches to re-balanced data (``drw_epoch`` /
    ``drs_epoch``).
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(num_classes))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits * self.scale


class DifficultyHead(nn.Module):
    """Predict a non-negative difficulty per sample from its features: linear + softplus."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(self.linear(features)).squeeze(1)


class ImbalanceNetwork(nn.Module):
    """A backbone split into trunk and classifier, with optional extra heads.

    ``forward`` returns the logits ``scale(classifier(trunk(x)))``, or the pair
    ``(logits, difficulty)`` when a difficulty head is present.

    Parameters
    ----------
    backbone : torch.nn.Module
        Split in place by :func:`split_classifier`.
    num_classes : int
    logit_scale : bool, default=False
        Add a :class:`LearnableLogitScale`.
    difficulty_head : bool, default=False
        Add a :class:`DifficultyHead` on the features.
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int,
        *,
        logit_scale: bool = False,
        difficulty_head: bool = False,
    ) -> None:
        super().__init__()
        self.trunk, self.classifier = split_classifier(backbone, num_classes)
        self.logit_scale = LearnableLogitScale(num_classes) if logit_scale else nn.Identity()
        in_features = self.classifier.weight.shape[1]
        self.difficulty = DifficultyHead(in_features) if difficulty_head else None

    def forward(self, x: torch.Tensor):
        features = self.trunk(x)
        logits = self.logit_scale(self.classifier(features))
        if self.difficulty is None:
            return logits
        return logits, self.difficulty(features)


def difficulty_loss(
    difficulty: torch.Tensor, logits: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Smooth-L1 loss between predicted difficulty and each sample's (detached) cross-entropy."""
    observed = nn.functional.cross_entropy(logits.detach(), target, reduction="none")
    return nn.functional.smooth_l1_loss(difficulty, observed)


def classifier_layer(module: nn.Module, num_classes: int) -> nn.Module:
    """The layer of a fitted network that maps features to the ``num_classes`` logits.

    The one way the estimator, fine-tuning, cRT and ``ImageEmbedder`` reach
    it: the ``classifier`` of an :class:`ImbalanceNetwork`, else the last
    linear layer with ``num_classes`` outputs (:func:`find_classifier`).
    """
    if isinstance(module, ImbalanceNetwork):
        return module.classifier
    return find_classifier(module, num_classes)[1]
