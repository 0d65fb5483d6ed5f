"""Multi-label losses against torch, torchvision and values computed by hand."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

from imbtorch.losses.class_weights import label_pos_weights
from imbtorch.losses.multilabel import (
    AsymmetricLoss,
    BinaryCrossEntropyLoss,
    DistributionBalancedLoss,
    LabelLogitAdjustedLoss,
    SigmoidFocalLoss,
)

torch.manual_seed(0)
LOGITS = torch.randn(6, 3, dtype=torch.float64)
TARGET = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 1], [0, 1, 0], [1, 0, 0]]).double()


def test_bce_with_pos_weight_is_torchs():
    pos_weight = torch.tensor([0.5, 2.0, 5.0], dtype=torch.float64)
    ours = BinaryCrossEntropyLoss(pos_weight=pos_weight)(LOGITS, TARGET)
    torchs = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)(LOGITS, TARGET)
    torch.testing.assert_close(ours, torchs)


def test_sample_weights_average_the_samples_mean_over_labels():
    weight = torch.tensor([1.0, 0.0, 2.0, 1.0, 0.5, 0.5], dtype=torch.float64)
    per_sample = F.binary_cross_entropy_with_logits(LOGITS, TARGET, reduction="none").mean(1)
    loss = BinaryCrossEntropyLoss()(LOGITS, TARGET, sample_weight=weight)
    torch.testing.assert_close(loss, (weight * per_sample).sum() / weight.sum())


def test_a_mixed_batch_is_the_loss_of_the_mixed_targets():
    """Every loss here is linear in the target, so mixup's two parts are its soft target."""
    partner = torch.tensor([3, 0, 1, 5, 2, 4])
    share = torch.tensor([0.7, 0.2, 0.5, 1.0, 0.9, 0.4], dtype=torch.float64)
    soft = share[:, None] * TARGET + (1 - share[:, None]) * TARGET[partner]
    for loss in (BinaryCrossEntropyLoss(), AsymmetricLoss(), SigmoidFocalLoss()):
        mixed = loss(LOGITS, TARGET, mixed_with=(TARGET[partner], share, None))
        torch.testing.assert_close(mixed, loss(LOGITS, soft))


def test_sigmoid_focal_is_torchvisions():
    for alpha in (0.25, None):
        ours = SigmoidFocalLoss(gamma=2.0, alpha=alpha)(LOGITS, TARGET)
        theirs = sigmoid_focal_loss(LOGITS, TARGET, alpha=-1 if alpha is None else alpha)
        torch.testing.assert_close(ours, theirs.mean())
    torch.testing.assert_close(
        SigmoidFocalLoss(gamma=0.0)(LOGITS, TARGET), BinaryCrossEntropyLoss()(LOGITS, TARGET)
    )


def test_asymmetric_loss_by_hand():
    z = torch.tensor([[0.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    loss = AsymmetricLoss(gamma_neg=4.0, gamma_pos=1.0, clip=0.05)(z, y)
    positive = (1 - 0.5) * -np.log(0.5)
    p = 1 / (1 + np.exp(-2.0))
    negative = (p - 0.05) ** 4 * -np.log(1 - (p - 0.05))
    assert loss.item() == pytest.approx((positive + negative) / 2)
    # an easy negative, under the margin, is discarded
    easy = AsymmetricLoss(clip=0.05)(torch.tensor([[-4.0]]), torch.tensor([[0.0]]))
    assert easy.item() == 0.0
    plain = AsymmetricLoss(gamma_neg=0.0, gamma_pos=0.0, clip=0.0)(LOGITS, TARGET)
    torch.testing.assert_close(plain, BinaryCrossEntropyLoss()(LOGITS, TARGET))


def test_label_logit_adjustment_shifts_by_each_labels_log_odds():
    counts, n = [50, 10, 2], 100
    log_odds = torch.tensor(np.log(np.array([0.5, 0.1, 0.02]) / [0.5, 0.9, 0.98]))
    loss = LabelLogitAdjustedLoss(counts, n, tau=1.0)(LOGITS, TARGET)
    expected = F.binary_cross_entropy_with_logits(LOGITS + log_odds, TARGET)
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-7)
    plain = LabelLogitAdjustedLoss(counts, n, tau=0.0)(LOGITS, TARGET)
    torch.testing.assert_close(plain, BinaryCrossEntropyLoss()(LOGITS, TARGET))


def test_distribution_balanced_loss_by_hand():
    counts, n = np.array([10.0, 100.0]), 200
    z = np.array([[0.3, -1.2], [0.5, 0.1]])
    y = np.array([[1.0, 1.0], [0.0, 0.0]])
    loss = DistributionBalancedLoss(counts, n)(torch.tensor(z), torch.tensor(y))
    # re-balancing: 1/n_l over the sum of 1/n of the sample's labels; 1 without labels
    r = np.array([[0.1 / 0.11, 0.01 / 0.11], [1.0, 1.0]])
    weight = 0.1 + 1 / (1 + np.exp(-10 * (r - 0.2)))
    p = counts / n
    shifted = z + 0.05 * np.log(p / (1 - p)) / 2.0
    positive = np.log1p(np.exp(-shifted))
    negative = np.log1p(np.exp(2.0 * shifted)) / 2.0
    per_sample = (weight * (y * positive + (1 - y) * negative)).mean(axis=1)
    assert loss.item() == pytest.approx(per_sample.mean())


def test_positive_weights_of_labels():
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_allclose(label_pos_weights("balanced", y=y), [1 / 3, 3.0, 1.0])
    effective = label_pos_weights("effective", y=y, beta=0.5)
    np.testing.assert_allclose(effective[:2], [(1 - 0.5) / (1 - 0.5**3), (1 - 0.5**3) / 0.5])
    np.testing.assert_allclose(label_pos_weights({2: 4.0}, y=y), [1.0, 1.0, 4.0])
    np.testing.assert_allclose(label_pos_weights(None, y=y), np.ones(3))


def test_ohem_keeps_the_hardest_samples():
    loss = BinaryCrossEntropyLoss(ohem_ratio=0.5, reduction="none")(LOGITS, TARGET)
    assert (loss > 0).sum() == 3
    full = F.binary_cross_entropy_with_logits(LOGITS, TARGET, reduction="none").mean(1)
    torch.testing.assert_close(loss[loss > 0], full[full.topk(3).indices.sort().values])
