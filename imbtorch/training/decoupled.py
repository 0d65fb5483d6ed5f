"""Decoupled training, stage two: re-train the classifier alone on re-balanced features.

Kang et al. 2020 ("Decoupling representation and classifier for long-tailed
recognition", cRT): the representation learnt from the imbalanced data as it
is serves all classes well; the bias toward the head sits in the final
layer. So keep the trunk, re-initialise the classifier and train it alone on
the training set's features, drawn class-balanced or re-sampled (on features,
SMOTE and its kin are meaningful).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import clone
from torch import nn
from torch.nn import functional as F

from ..backbones import NormedLinear
from ..heads import classifier_layer
from ..resampling import cap_neighbors
from ..samplers import ClassBalancedBatchSampler


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
    resampler : 'class_balanced' or imblearn sampler
        ``'class_balanced'``: every batch holds the classes equally
        (:class:`~imbtorch.samplers.ClassBalancedBatchSampler`), ``N`` samples
        an epoch. A sampler (SMOTE, ADASYN, RandomOverSampler, ...) resamples
        the features once, ``k`` capped to the smallest class
        (:func:`~imbtorch.resampling.cap_neighbors`); epochs shuffle the result.
    epochs, batch_size, lr : training of the layer (AdamW, cross-entropy).
    seed : int
        Seed of every draw (the resampler's, the batches'): the same seed
        re-trains the same layer, on every process of a distributed fit.
    logit_scale : float, default=1.0
        Factor on the logits in the loss (a cosine classifier needs ~30).

    Returns
    -------
    losses : list of float
        Mean loss of each epoch.
    """
    device = classifier.weight.device
    if isinstance(resampler, str):
        X, y = features, codes
        batches = ClassBalancedBatchSampler(y, batch_size, seed=seed)
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
            loss = F.cross_entropy(logit_scale * classifier(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_losses.append(loss.item())
        losses.append(float(np.mean(epoch_losses)))
    return losses


def retrain_head(net, dataset) -> list[float]:
    """cRT for a trained :class:`~imbtorch.BalancedImageClassifier`, in place.

    Its classifier layer is re-trained on the features of ``dataset`` (its
    training set, read with ``net.embed``) with ``net``'s ``head_resampler``,
    ``head_epochs``, ``batch_size`` and ``lr``, drawing from the seed of
    ``net.schedule_``; a cosine classifier keeps the scale of ``net``'s loss.

    Returns
    -------
    losses : list of float
        Mean loss of each epoch.
    """
    classifier = classifier_layer(net.module_, len(net.classes_))
    cosine = isinstance(classifier, NormedLinear)
    return retrain_classifier(
        classifier,
        net.embed(dataset),
        dataset.y,
        resampler=net.head_resampler,
        epochs=net.head_epochs,
        batch_size=len(dataset) if net.batch_size == -1 else net.batch_size,
        lr=net.lr,
        seed=net.schedule_.head_seed(),
        logit_scale=net.criterion_.scale if cosine else 1.0,
    )
