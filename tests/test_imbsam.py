"""ImbSAM (sam_classes='minority'): sharpness-aware minimisation of the tail classes' loss only."""

import copy

import numpy as np
import pytest
import torch
from _steps import first_network, one_step_settings

from imbtorch import BalancedImageClassifier
from imbtorch.losses import CrossEntropyLoss, FocalLoss, LogitAdjustedLoss
from imbtorch.losses.single_label import counting_classes

FAST = {"max_epochs": 4, "batch_size": 16, "module__width": 8, "random_state": 0}


@pytest.mark.parametrize(
    "criterion",
    [
        CrossEntropyLoss(weight=[1.0, 2.0, 4.0]),
        FocalLoss(gamma=2.0, ohem_ratio=0.5),
        LogitAdjustedLoss([30, 10, 3]),
    ],
    ids=["weighted_ce", "focal_ohem", "logit_adjusted"],
)
def test_the_parts_of_the_classes_add_up_to_the_loss(criterion):
    torch.manual_seed(0)
    logits, target = torch.randn(12, 3), torch.tensor([0, 1, 2] * 4)
    weight = torch.rand(12)
    mixed = (target.roll(1), torch.rand(12), weight.roll(1))
    tail = torch.tensor([0.0, 0.0, 1.0])
    for kwargs in ({}, {"sample_weight": weight}, {"sample_weight": weight, "mixed_with": mixed}):
        whole = criterion(logits, target, **kwargs)
        with counting_classes(criterion, tail):
            tail_part = criterion(logits, target, **kwargs)
        with counting_classes(criterion, 1 - tail):
            head_part = criterion(logits, target, **kwargs)
        torch.testing.assert_close(tail_part + head_part, whole)
        assert 0 < tail_part < whole
    assert criterion.class_mask is None


def test_an_imbsam_step_perturbs_the_tail_loss_only(small_images):
    """w - lr * (grad L_head(w) + grad L_tail(w + rho * g_t / ||g_t||)), g_t = grad L_tail(w)."""
    X, y = small_images
    rho, lr = 0.5, 0.1
    params = one_step_settings(
        len(y), optimizer=torch.optim.SGD, lr=lr, strategy=None, minority_classes=[2]
    )
    start = first_network(X, y, **params)
    imbsam = BalancedImageClassifier(max_epochs=1, sam_rho=rho, sam_classes="minority", **params)
    imbsam.fit(X, y)
    assert imbsam.minority_classes_.tolist() == [2]

    network = copy.deepcopy(start.module_).train()
    weights = list(network.parameters())
    images, target = torch.as_tensor(X)[:, None], torch.as_tensor(y)
    tail = torch.tensor([0.0, 0.0, 1.0])

    def gradient(mask):
        with counting_classes(start.criterion_, mask):
            loss = start.criterion_(network(images), target)
        return torch.autograd.grad(loss, weights)

    g_head, g_tail = gradient(1 - tail), gradient(tail)
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in g_tail]))
    with torch.no_grad():
        for w, t in zip(weights, g_tail, strict=True):
            w.add_(rho * t / norm)
    g_tail_sam = gradient(tail)
    with torch.no_grad():
        for w, t in zip(weights, g_tail, strict=True):
            w.sub_(rho * t / norm)
    expected = [w - lr * (h + t) for w, h, t in zip(weights, g_head, g_tail_sam, strict=True)]
    for (name, got), want in zip(imbsam.module_.named_parameters(), expected, strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5, msg=name)
    # the reported loss is the whole loss at w
    whole = start.criterion_(network(images), target).item()
    assert imbsam.history[0, "train_loss"] == pytest.approx(whole, rel=1e-5)


@pytest.mark.parametrize(
    "settings",
    [
        {"precision": "bf16-mixed", "compile": True, "compile__backend": "eager"},
        {"mixup": "mixup", "sampler": "class_balanced"},
    ],
    ids=["bf16_compiled", "mixup_sampled"],
)
def test_imbsam_learns_with_the_other_options(small_images, settings):
    X, y = small_images
    keep = np.concatenate([np.arange(20), np.arange(20, 30), np.arange(40, 46)])
    X, y = X[keep], y[keep]
    clf = BalancedImageClassifier(
        sam_rho=0.05, sam_classes="minority", **{**FAST, "max_epochs": 8, "lr": 3e-3}, **settings
    ).fit(X, y)
    assert clf.minority_classes_.tolist() == [2]
    assert clf.history[-1, "train_loss"] < clf.history[0, "train_loss"]
    assert (clf.predict(X) == y).mean() > 0.9


def test_imbsam_without_sam_or_with_the_difficulty_head_is_refused(small_images):
    X, y = small_images
    with pytest.raises(ValueError, match=r"needs sam_rho.*sam_rho=None"):
        BalancedImageClassifier(sam_classes="minority", **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"not difficulty_head.*difficulty_head=1.0"):
        BalancedImageClassifier(
            sam_rho=0.1, sam_classes="minority", difficulty_head=1.0, **FAST
        ).fit(X, y)
