import pytest
import torch
import torch.nn.functional as F

from imbtorch.losses import CrossEntropyLoss, FocalLoss


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 4, generator=g)
    target = torch.randint(0, 4, (32,), generator=g)
    return logits, target


WEIGHTS = torch.tensor([0.2, 1.0, 3.0, 7.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_focal_with_gamma_zero_equals_weighted_cross_entropy(batch, reduction):
    logits, target = batch
    expected = F.cross_entropy(logits, target, weight=WEIGHTS, reduction=reduction)
    focal = FocalLoss(gamma=0.0, weight=WEIGHTS, reduction=reduction)(logits, target)
    torch.testing.assert_close(focal, expected)
    ce = CrossEntropyLoss(weight=WEIGHTS, reduction=reduction)(logits, target)
    torch.testing.assert_close(ce, expected)


def test_unweighted_cross_entropy_is_torchs(batch):
    logits, target = batch
    torch.testing.assert_close(CrossEntropyLoss()(logits, target), F.cross_entropy(logits, target))


def test_focal_down_weights_easy_samples_more_than_hard_ones():
    logits = torch.tensor([[4.0, 0.0], [0.2, 0.0]])  # an easy and a hard sample of class 0
    target = torch.tensor([0, 0])
    ce = CrossEntropyLoss(reduction="none")(logits, target)
    focal = FocalLoss(gamma=2.0, reduction="none")(logits, target)
    ratio = focal / ce
    assert torch.all(ratio < 1)
    assert ratio[0] < ratio[1] / 100
    p = torch.softmax(logits, 1)[:, 0]
    torch.testing.assert_close(focal, (1 - p) ** 2 * ce)


def test_scalar_alpha_weighs_class_one_by_alpha(batch):
    logits = batch[0][:, :2]
    target = batch[1] % 2
    focal = FocalLoss(gamma=0.0, alpha=0.25, reduction="sum")(logits, target)
    weights = torch.where(target == 1, 0.25, 0.75)
    expected = (F.cross_entropy(logits, target, reduction="none") * weights).sum()
    torch.testing.assert_close(focal, expected)


def test_alpha_multiplies_class_weights(batch):
    logits, target = batch
    alpha = torch.tensor([1.0, 0.5, 0.5, 2.0])
    combined = FocalLoss(gamma=0.0, alpha=alpha, weight=WEIGHTS)(logits, target)
    torch.testing.assert_close(combined, F.cross_entropy(logits, target, weight=alpha * WEIGHTS))


def test_scalar_alpha_with_more_than_two_classes_is_refused(batch):
    with pytest.raises(ValueError, match="scalar alpha needs exactly 2 classes"):
        FocalLoss(alpha=0.25)(*batch)


def test_alpha_and_weight_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="one entry per class"):
        FocalLoss(alpha=[1.0, 2.0, 3.0], weight=WEIGHTS)


def test_sample_weight_multiplies_class_weight(batch):
    logits, target = batch
    sw = torch.linspace(0.0, 2.0, 32)
    loss = CrossEntropyLoss(weight=WEIGHTS)(logits, target, sample_weight=sw)
    w = WEIGHTS[target] * sw
    expected = (F.cross_entropy(logits, target, reduction="none") * w).sum() / w.sum()
    torch.testing.assert_close(loss, expected)


def test_integer_sample_weights_equal_repeated_samples(batch):
    logits, target = batch
    counts = torch.arange(32) % 3
    weighted = CrossEntropyLoss(weight=WEIGHTS)(logits, target, sample_weight=counts.float())
    repeated = CrossEntropyLoss(weight=WEIGHTS)(
        logits.repeat_interleave(counts, 0), target.repeat_interleave(counts)
    )
    torch.testing.assert_close(weighted, repeated)


def test_all_zero_weights_give_zero_loss_not_nan(batch):
    logits, target = batch
    logits = logits.clone().requires_grad_(True)
    loss = FocalLoss()(logits, target, sample_weight=torch.zeros(32))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.all(torch.isfinite(logits.grad))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="gamma"):
        FocalLoss(gamma=-1)
    with pytest.raises(ValueError, match="alpha"):
        FocalLoss(alpha=1.5)
    with pytest.raises(ValueError, match="reduction"):
        CrossEntropyLoss(reduction="avg")


def test_weights_follow_the_module_to_another_dtype():
    loss = CrossEntropyLoss(weight=[1.0, 2.0]).double()
    assert loss.weight.dtype == torch.float64
