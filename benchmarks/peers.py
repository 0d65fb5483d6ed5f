"""What a user would write instead of imbtorch: the peers the benchmarks compare against.

Every CNN peer trains imbtorch's own ``SimpleCNN`` on the same standardised
pixels with the same optimiser (AdamW), learning rate, batch size and
epochs as ``BalancedImageClassifier``'s defaults, so that differences come
from the imbalance strategy or the wrapper, not the model.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

from imbtorch import BalancedImageClassifier
from imbtorch.data.arrays import array_channel_stats, as_nchw
from imbtorch.networks.backbones import SimpleCNN
from imbtorch.training.optimizers import default_lr, optimizer_settings

# the classifier's own defaults, so that a change there moves the peers with it
_DEFAULTS = BalancedImageClassifier().get_params(deep=False)
# the optimizer class with its default settings (AdamW, weight decay 0.01) and its default
# learning rate from scratch (4e-3)
_OPTIMIZER, _SETTINGS = optimizer_settings(_DEFAULTS["optimizer"], _DEFAULTS["weight_decay"])
OPTIMIZER = partial(_OPTIMIZER, **_SETTINGS)
LR, BATCH_SIZE = default_lr(_DEFAULTS["optimizer"], pretrained=False), _DEFAULTS["batch_size"]


def prepare(X_train, X_test) -> tuple[np.ndarray, np.ndarray]:
    """Float32 NCHW images standardised per channel with the training statistics."""
    train, test = (as_nchw(np.asarray(X)) for X in (X_train, X_test))
    mean, std = array_channel_stats(train)

    def standardised(images):
        images = images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)
        return (images - mean[None, :, None, None]) / std[None, :, None, None]

    return standardised(train), standardised(test)


def simple_cnn(images: np.ndarray, y: np.ndarray) -> nn.Module:
    outputs = y.shape[1] if y.ndim == 2 else len(np.unique(y))
    return SimpleCNN(in_channels=images.shape[1], num_classes=outputs)


class HandLoop:
    """A hand-written torch training loop, optionally with WeightedRandomSampler.

    ``weighted=True`` is the recipe most tutorials give for imbalance: draw
    each sample with probability proportional to 1 / its class count. A
    multi-label ``y`` (0/1 indicator matrix) trains with the recipe most
    tutorials give for it: ``BCEWithLogitsLoss(pos_weight=n_neg / n_pos)``.
    """

    def __init__(self, *, epochs: int, seed: int, device: str, weighted: bool = False):
        self.epochs, self.seed, self.device, self.weighted = epochs, seed, device, weighted

    def fit(self, images: np.ndarray, y: np.ndarray) -> HandLoop:
        torch.manual_seed(self.seed)
        self.model_ = simple_cnn(images, y).to(self.device)
        optimizer = OPTIMIZER(self.model_.parameters(), lr=LR)
        self.multilabel_ = y.ndim == 2
        if self.multilabel_:
            positives = y.sum(axis=0)
            pos_weight = (len(y) - positives) / np.maximum(positives, 1)
            criterion = nn.BCEWithLogitsLoss(
                pos_weight=torch.as_tensor(pos_weight, dtype=torch.float32, device=self.device)
            )
            targets = torch.from_numpy(y.astype(np.float32))
        else:
            criterion = nn.CrossEntropyLoss()
            targets = torch.from_numpy(y.astype(np.int64))
        data = TensorDataset(torch.from_numpy(images), targets)
        if self.weighted:
            weights = 1.0 / np.bincount(y)[y]
            sampler = WeightedRandomSampler(weights.tolist(), num_samples=len(y))
            loader = DataLoader(data, batch_size=BATCH_SIZE, sampler=sampler)
        else:
            loader = DataLoader(data, batch_size=BATCH_SIZE, shuffle=True)
        self.model_.train()
        for _ in range(self.epochs):
            for inputs, targets in loader:
                inputs, targets = inputs.to(self.device), targets.to(self.device)
                optimizer.zero_grad()
                loss = criterion(self.model_(inputs), targets)
                loss.backward()
                optimizer.step()
        return self

    @torch.no_grad()
    def _logits(self, images: np.ndarray) -> torch.Tensor:
        self.model_.eval()
        logits = [
            self.model_(torch.from_numpy(chunk).to(self.device)).cpu()
            for chunk in np.array_split(images, max(1, len(images) // 512))
        ]
        return torch.cat(logits)

    def predict(self, images: np.ndarray) -> np.ndarray:
        if self.multilabel_:
            return (self.predict_proba(images) >= 0.5).astype(np.int64)
        return self._logits(images).argmax(1).numpy()

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Softmax probabilities, or each label's sigmoid for a multi-label fit."""
        logits = self._logits(images)
        return (torch.sigmoid(logits) if self.multilabel_ else logits.softmax(1)).numpy()


def plain_skorch(images: np.ndarray, y: np.ndarray, *, epochs: int, seed: int, device: str):
    """skorch's NeuralNetClassifier with cross-entropy: the untreated baseline."""
    torch.manual_seed(seed)
    return NeuralNetClassifier(
        simple_cnn(images, y),
        criterion=nn.CrossEntropyLoss,
        optimizer=OPTIMIZER,
        lr=LR,
        batch_size=BATCH_SIZE,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        device=device,
        verbose=0,
    )


def smote_logistic_regression(y: np.ndarray, *, seed: int):
    """imblearn SMOTE on raw pixels, then logistic regression.

    ``k_neighbors`` is lowered to the smallest class minus one, as a user must;
    a class of one image leaves SMOTE nothing to interpolate (returns None).
    """
    smallest = int(np.bincount(y).min())
    if smallest < 2:
        return None
    return make_pipeline(
        StandardScaler(),
        SMOTE(k_neighbors=min(5, smallest - 1), random_state=seed),
        LogisticRegression(max_iter=2000),
    )
