"""The classifier re-training (cRT) under label-aware smoothing (MiSLAS) and MaxNorm (Weight
Balancing)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imbtorch import BalancedImageClassifier
from imbtorch.training.decoupled import label_aware_smoothing, smoothed_cross_entropy

FAST = {"max_epochs": 3, "module__width": 8, "random_state": 0, "head_epochs": 20}


def test_label_aware_smoothing_runs_from_head_to_tail_on_a_concave_curve():
    eps = label_aware_smoothing([100, 10, 1], head=0.3, tail=0.05)
    expected = [0.3, 0.05 + 0.25 * np.sin(np.pi / 2 * 9 / 99), 0.05]
    np.testing.assert_allclose(eps, expected)
    np.testing.assert_allclose(label_aware_smoothing([5, 5], 0.3, 0.0), [0.3, 0.3])


def test_smoothed_cross_entropy_is_label_smoothing_per_class():
    torch.manual_seed(0)
    logits, target = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    uniform = smoothed_cross_entropy(logits, target, torch.full((3,), 0.2))
    torch.testing.assert_close(uniform, F.cross_entropy(logits, target, label_smoothing=0.2))
    eps = torch.tensor([0.3, 0.1, 0.0])
    by_hand = torch.stack(
        [
            F.cross_entropy(logits[i : i + 1], target[i : i + 1], label_smoothing=float(e))
            for i, e in enumerate(eps[target])
        ]
    ).mean()
    torch.testing.assert_close(smoothed_cross_entropy(logits, target, eps), by_hand)


def test_head_smoothing_tempers_the_head_classes_of_the_retrained_classifier(
    long_tailed_images,
):
    X, y = long_tailed_images
    params = {**FAST, "max_epochs": 10, "head_resampler": "class_balanced", "lr": 0.05}
    plain = BalancedImageClassifier(**params).fit(X, y)
    smoothed = BalancedImageClassifier(head_smoothing=(0.3, 0.0), **params).fit(X, y)
    # the trunks are the same: only the classifier stage differs
    np.testing.assert_allclose(plain.embed(X), smoothed.embed(X))
    head = [clf.predict_proba(X[y == 0])[:, 0].mean() for clf in (plain, smoothed)]
    # eps = 0.3 at the head: its target is 0.7 + 0.3 / 3 = 0.8, and the classifier follows
    assert head[0] > 0.95 and 0.7 < head[1] < 0.85, head
    tail = [clf.predict_proba(X[y == 2])[:, 2].mean() for clf in (plain, smoothed)]
    assert min(tail) > 0.95, tail  # eps = 0 at the tail: it stays as confident


def test_max_norm_caps_the_retrained_classifier(long_tailed_images):
    X, y = long_tailed_images
    params = {**FAST, "head_resampler": "class_balanced", "lr": 0.05}
    free = BalancedImageClassifier(**params).fit(X, y)
    assert free.module_.classifier.weight.norm(dim=1).max() > 0.2
    capped = BalancedImageClassifier(max_norm=0.2, **params).fit(X, y)
    assert capped.module_.classifier.weight.norm(dim=1).max() <= 0.2 + 1e-6


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"head_smoothing": (0.3, 0.0)}, r"that head_resampler sets, but head_resampler=None"),
        (
            {"head_smoothing": (0.3,), "head_resampler": "class_balanced"},
            r"pair \(head, tail\).*got \(0.3,\)",
        ),
        (
            {"head_smoothing": (1.2, 0.0), "head_resampler": "class_balanced"},
            r"in \[0, 1\)",
        ),
    ],
)
def test_bad_head_smoothing_is_refused(long_tailed_images, settings, message):
    X, y = long_tailed_images
    with pytest.raises(ValueError, match=message):
        BalancedImageClassifier(**FAST, **settings).fit(X, y)
