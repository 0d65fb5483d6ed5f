import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _steps import first_network

from imbtorch.losses import (
    BalancedSoftmaxLoss,
    CrossEntropyLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
)


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


COUNTS = torch.tensor([500.0, 100.0, 20.0, 4.0])


def test_ldam_margins_grow_toward_the_tail_as_n_to_the_minus_quarter():
    loss = LDAMLoss(COUNTS, max_margin=0.5)
    margins = loss.margins
    assert torch.all(margins[1:] > margins[:-1])
    assert margins[-1].item() == pytest.approx(0.5)
    torch.testing.assert_close(margins[0] / margins[-1], (COUNTS[-1] / COUNTS[0]) ** 0.25)


def test_ldam_subtracts_the_margin_from_the_true_logit_only(batch):
    logits, target = batch
    loss = LDAMLoss(COUNTS, max_margin=0.5, scale=2.0, reduction="none")(logits, target)
    shifted = logits.clone()
    shifted[torch.arange(32), target] -= loss_margins(target)
    torch.testing.assert_close(loss, F.cross_entropy(2.0 * shifted, target, reduction="none"))
    plain = LDAMLoss(COUNTS, max_margin=0.0, scale=1.0)(logits, target)
    torch.testing.assert_close(plain, F.cross_entropy(logits, target))


def loss_margins(target):
    return LDAMLoss(COUNTS, max_margin=0.5).margins[target]


def test_ldam_charges_tail_samples_more_for_the_same_logits():
    logits = torch.zeros(4, 4)
    logits[torch.arange(4), torch.arange(4)] = 0.5  # every sample equally confident
    per_sample = LDAMLoss(COUNTS, scale=5.0, reduction="none")(logits, torch.arange(4))
    assert torch.all(per_sample[1:] > per_sample[:-1])


def test_logit_adjusted_loss_is_ce_on_prior_shifted_logits(batch):
    logits, target = batch
    prior = COUNTS / COUNTS.sum()
    got = LogitAdjustedLoss(COUNTS, tau=1.5, weight=WEIGHTS)(logits, target)
    expected = F.cross_entropy(logits + 1.5 * prior.log(), target, weight=WEIGHTS)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        LogitAdjustedLoss(COUNTS, tau=0.0)(logits, target), F.cross_entropy(logits, target)
    )


def test_balanced_softmax_is_ce_of_count_weighted_softmax(batch):
    logits, target = batch
    got = BalancedSoftmaxLoss(COUNTS)(logits, target)
    torch.testing.assert_close(got, F.cross_entropy(logits + COUNTS.log(), target))


def test_logit_adjustment_favours_tail_logits_at_the_optimum():
    # one free logit vector fitted to balanced targets under a long-tailed prior:
    # the minimiser of the adjusted loss puts larger raw logits on tail classes
    z = torch.zeros(4, requires_grad=True)
    target = torch.arange(4)
    opt = torch.optim.SGD([z], lr=0.5)
    for _ in range(300):
        opt.zero_grad()
        LogitAdjustedLoss(COUNTS)(z.expand(4, 4), target).backward()
        opt.step()
    assert torch.all(z.detach()[1:] > z.detach()[:-1])


@pytest.mark.parametrize("ratio, n_keep", [(0.25, 8), (0.1, 4), (1.0, 32)])
def test_ohem_keeps_only_the_hardest_samples(batch, ratio, n_keep):
    logits, target = batch
    logits = logits.clone().requires_grad_(True)
    per_sample = F.cross_entropy(logits, target, reduction="none")
    hardest = per_sample.topk(n_keep).indices
    loss = CrossEntropyLoss(ohem_ratio=ratio)(logits, target)
    torch.testing.assert_close(loss, per_sample[hardest].mean())
    loss.backward()
    has_grad = logits.grad.abs().sum(1) > 0
    assert set(torch.nonzero(has_grad).flatten().tolist()) == set(hardest.tolist())


def test_ohem_ranks_by_weighted_loss_with_any_loss(batch):
    logits, target = batch
    loss = FocalLoss(gamma=0.0, weight=WEIGHTS, ohem_ratio=0.5, reduction="none")
    kept = (loss(logits, target) > 0).sum().item()
    assert kept == 16


def test_prior_losses_refuse_bad_counts():
    with pytest.raises(ValueError, match="positive per-class sample counts"):
        LogitAdjustedLoss([10, 0, 3])
    with pytest.raises(ValueError, match="ohem_ratio"):
        CrossEntropyLoss(ohem_ratio=0.0)
    with pytest.raises(ValueError, match="max_margin"):
        LDAMLoss(COUNTS, max_margin=-1)


# -- criterion__* parameters win over the named ones, for every loss ----------------------
def _criterion(small_images, **params):
    X, y = small_images
    return first_network(X, y, random_state=0, module__width=4, **params)


@pytest.mark.parametrize(
    "loss, named, override, attribute",
    [
        ("focal", {"focal_gamma": 2.0}, {"criterion__gamma": 0.5}, "gamma"),
        ("ldam", {"ldam_scale": 30.0}, {"criterion__scale": 10.0}, "scale"),
        ("logit_adjusted", {"logit_adjust_tau": 1.0}, {"criterion__tau": 0.5}, "tau"),
        ("ce", {"ohem_ratio": 0.5}, {"criterion__ohem_ratio": 0.25}, "ohem_ratio"),
        ("balanced_softmax", {"ohem_ratio": None}, {"criterion__ohem_ratio": 0.5}, "ohem_ratio"),
    ],
)
def test_criterion_parameters_override_the_named_ones(
    small_images, loss, named, override, attribute
):
    clf = _criterion(small_images, loss=loss, **named, **override)
    assert getattr(clf.criterion_, attribute) == next(iter(override.values()))
    # and set_params on a fitted net rebuilds the loss with the override too
    clf.set_params(**{next(iter(override)): 0.75})
    assert getattr(clf.criterion_, attribute) == 0.75


def test_ldam_margin_override_wins(small_images):
    clf = _criterion(small_images, loss="ldam", ldam_max_margin=0.5, criterion__max_margin=0.1)
    assert clf.criterion_.margins.max().item() == pytest.approx(0.1)


def test_criterion_weight_is_the_class_weight_and_deferred_by_drw(small_images):
    weight = [1.0, 2.0, 4.0]
    clf = _criterion(small_images, criterion__weight=weight, loss="focal")
    np.testing.assert_array_equal(clf.class_weight_, weight)
    torch.testing.assert_close(clf.criterion_.weight, torch.tensor(weight))
    deferred = _criterion(small_images, criterion__weight=weight, drw_epoch=1)
    torch.testing.assert_close(deferred.criterion_.weight, torch.ones(3))  # before epoch 1
    with pytest.raises(ValueError, match="criterion__weight and class_weight='balanced' both"):
        _criterion(small_images, criterion__weight=weight, class_weight="balanced")
    with pytest.raises(ValueError, match="criterion__weight needs 3 finite non-negative"):
        _criterion(small_images, criterion__weight=[1.0, 2.0])
