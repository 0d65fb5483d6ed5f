"""Decoupled training, stage two: re-train the classifier alone on re-balanced features.

Kang et al. 2020 ("Decoupling representation and classifier for long-tailed
recognition", cRT): the representation learnt from the imbalanced data as it
is serves all classes well; the bias toward the head sits in the final
layer. So keep the trunk, re-initialise the classifier and train it alone on
the training set's features, drawn class-balanced or re-sampled (on features,
SMOTE and its kin are meaningful).

Label-aware smoothing (Zhong et al. 2021, "Improving Calibration for
Long-Tailed Recognition", MiSLAS) can regularise that re-training: the
target of class ``y`` is smoothed by ``eps_y``, largest for the head and
smallest for the tail, since a balanced re-training leaves the head
over-confident and the tail under-confident.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from torch import nn
from torch.nn import functional as F

from ..data.dataset import dataset_codes
from ..networks.heads import classifier_layer
from ..networks.layers import NormedLinear
from ..samplers import make_batch_sampler
from ..samplers.resampling import cap_neighbors
from .constraints import project_max_norm


def label_aware_smoothing(class_counts, head: float, tail: float) -> np.ndarray:
    """Smoothing of each class, ``tail`` at the rarest and ``head`` at the most frequent.

    MiSLAS's concave profile: ``eps_c = tail + (head - tail) * sin(pi / 2 *
    (n_c - n_min) / (n_max - n_min))``; all classes get ``head`` when their
    counts are equal.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
    head, tail : float in [0, 1)

    Returns
    -------
    smoothing : ndarray of shape (n_classes,)
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    spread = counts.max() - counts.min()
    if spread == 0:
        return np.full(len(counts), float(head))
    return tail + (head - tail) * np.sin(np.pi / 2 * (counts - counts.min()) / spread)


def smoothed_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, smoothing: torch.Tensor
) -> torch.Tensor:
    """Mean of ``(1 - eps_y) * -log p_y + eps_y * mean_k(-log p_k)``, ``eps`` per class."""
    log_p = F.log_softmax(logits, dim=1)
    eps = smoothing[target]
    nll = -log_p.gather(1, target[:, None]).squeeze(1)
    return ((1 - eps) * nll - eps * log_p.mean(dim=1)).mean()


def _resampled(resampler, features: np.ndarray, codes: np.ndarray, seed: int):
    resampler = clone(resampler)
    if "random_state" in resampler.get_params() and resampler.random_state is None:
        resampler.set_params(random_state=seed)
    return cap_neighbors(resampler, codes).fit_resample(features, codes)


def retrain_classifier(
    classifier: nn.Module,
    features: np.ndarray,
    codes: np.ndarray,
    *,
    resampler,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    logit_scale: float = 1.0,
    smoothing: np.ndarray | None = None,
    max_norm: float | None = None,
) -> list[float]:
    """Re-initialise ``classifier`` and train it alone on re-balanced ``features``.

    Parameters
    ----------
    classifier : torch.nn.Module
        The final layer, with ``reset_parameters``; trained in place.
    features : ndarray of shape (N, D)
        The trunk's features of the training images.
    codes : ndarray of shape (N,)
        Class codes.
    resampler : 'class_balanced', 'sqrt' or imblearn sampler
        ``'class_balanced'``: every batch holds the classes equally
        (:class:`~imbtorch.samplers.ClassBalancedBatchSampler`), ``N`` samples
        an epoch. ``'sqrt'``: square-root sampling, ``N`` draws an epoch with
        replacement, class ``c`` drawn in proportion to ``sqrt(n_c)``
        (:func:`~imbtorch.samplers.make_batch_sampler`). A sampler (SMOTE,
        ADASYN, RandomOverSampler, ...) resamples the features once, ``k``
        capped to the smallest class (:func:`~imbtorch.samplers.resampling.cap_neighbors`);
        epochs shuffle the result.
    epochs, batch_size, lr : training of the layer (AdamW, cross-entropy).
    seed : int
        Seed of every draw (the resampler's, the batches'): the same seed
        re-trains the same layer, on every process of a distributed fit.
    logit_scale : float, default=1.0
        Factor on the logits in the loss (a cosine classifier needs ~30).
    smoothing : ndarray of shape (n_classes,), default=None
        Label smoothing of each class's target (label-aware smoothing, see
        :func:`label_aware_smoothing`); ``None``: plain cross-entropy.
    max_norm : float, default=None
        Cap on each class's weight norm after every step (Weight Balancing's
        MaxNorm, :func:`~imbtorch.training.constraints.project_max_norm`).

    Returns
    -------
    losses : list of float
        Mean loss of each epoch.
    """
    device = classifier.weight.device
    if isinstance(resampler, str):
        X, y = features, codes
        batches = make_batch_sampler(resampler, y, batch_size=batch_size, seed=seed)
    else:
        X, y = _resampled(resampler, features, codes, seed)
        batches = None
    X = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
    y = torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
    generator = torch.Generator().manual_seed(seed)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # reset_parameters draws from the global RNG
        torch.manual_seed(seed)
        classifier.reset_parameters()
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=lr)
    loss_of = F.cross_entropy
    if smoothing is not None:
        eps = torch.as_tensor(smoothing, dtype=torch.float32, device=device)
        loss_of = partial(smoothed_cross_entropy, smoothing=eps)
    losses = []
    classifier.train()
    for _ in range(epochs):
        if batches is not None:
            order = batches
        else:
            order = torch.randperm(len(y), generator=generator).split(batch_size)
        epoch_losses = []
        for batch in order:
            batch = torch.as_tensor(batch, device=device)
            loss = loss_of(logit_scale * classifier(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if max_norm is not None:
                project_max_norm(classifier, max_norm)
            epoch_losses.append(loss.item())
        losses.append(float(np.mean(epoch_losses)))
    return losses


def joint_balanced_accuracy(net, features: np.ndarray, codes: np.ndarray) -> float:
    """Balanced accuracy of ``net``'s classifier layer, as trained, on ``features``."""
    classifier = classifier_layer(net.module_, len(net.classes_))
    with torch.no_grad():
        weight = next(classifier.parameters())
        logits = classifier(torch.as_tensor(features, device=weight.device))
    return float(balanced_accuracy_score(codes, logits.argmax(dim=1).cpu().numpy()))


def retrain_head(net, dataset, features: np.ndarray | None = None) -> list[float]:
    """cRT for a trained :class:`~imbtorch.BalancedImageClassifier`, in place.

    Its classifier layer is re-trained on the features of ``dataset`` (its
    training set less any validation split, read with ``net.embed`` unless
    given) with the fit's ``head_resampler_``,
    ``head_epochs``, ``head_smoothing``, ``max_norm``, ``batch_size`` and ``lr``, drawing
    from the seed of ``net.schedule_``; a cosine classifier keeps the scale
    of ``net``'s loss.

    Returns
    -------
    losses : list of float
        Mean loss of each epoch.
    """
    classifier = classifier_layer(net.module_, len(net.classes_))
    cosine = isinstance(classifier, NormedLinear)
    return retrain_classifier(
        classifier,
        net.embed(dataset) if features is None else features,
        dataset_codes(dataset),
        resampler=net.head_resampler_,
        epochs=net.head_epochs,
        batch_size=len(dataset) if net.batch_size == -1 else net.batch_size,
        lr=net.learning_rate(),
        seed=net.schedule_.head_seed(),
        logit_scale=net.criterion_.scale if cosine else 1.0,
        smoothing=(
            None
            if net.head_smoothing is None
            else label_aware_smoothing(net.class_counts_, *net.head_smoothing)
        ),
        max_norm=net.max_norm,
    )
